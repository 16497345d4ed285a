/**
 * The scanner corpus' key test: the packages of shared/vulndata/expected-inventory.json, matched
 * against every record of shared/vulndata/osv/ and osv-derived/, must give exactly the 175
 * findings of expected-findings.json: none missing, none extra (negative fixtures give none).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOsvRecord, type OsvRecord } from '../osv.js';
import { OsvIndex, type Package } from './index.js';

const corpus = new URL('../../../../shared/vulndata/', import.meta.url);

interface InventoryEntry {
  ecosystem: string;
  package: string;
  version: string;
  binaryPackages?: string[];
  lockPath?: string;
}

interface ExpectedFinding {
  fixture: string;
  ecosystem: string;
  package: string;
  installedVersion: string;
  advisoryId: string;
  fixedVersion: string | null;
  lockPath?: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, corpus), 'utf8')) as T;
}

function loadRecords(): OsvRecord[] {
  const records: OsvRecord[] = [];
  for (const dir of ['osv', 'osv-derived']) {
    for (const eco of readdirSync(new URL(`${dir}/`, corpus))) {
      for (const file of readdirSync(new URL(`${dir}/${eco}/`, corpus))) {
        if (file.endsWith('.json')) records.push(parseOsvRecord(readJson(`${dir}/${eco}/${file}`)));
      }
    }
  }
  return records;
}

const OS_SOURCE_NAMED = /^(Debian|Alpine):/;

/** An inventory entry as the inventory helper's parser reports it. */
function toPackage(e: InventoryEntry): Package {
  const pkg: Package = { ecosystem: e.ecosystem, name: e.package, version: e.version };
  if (OS_SOURCE_NAMED.test(e.ecosystem)) {
    // Entries are grouped by source package; a binary of the group stands for it.
    pkg.name = e.binaryPackages?.[0] ?? e.package;
    pkg.sourceName = e.package;
    pkg.sourceVersion = e.version;
  }
  if (e.lockPath !== undefined) pkg.path = e.lockPath;
  return pkg;
}

function key(fixture: string, pkg: string, version: string, id: string, fixed: string | null | undefined, path?: string): string {
  return [fixture, pkg, version, id, fixed ?? '-', path ?? ''].join(' | ');
}

describe('expected findings (shared/vulndata)', () => {
  let records: OsvRecord[];
  let index: OsvIndex;
  const inventory = readJson<{ fixtures: Record<string, InventoryEntry[]> }>('expected-inventory.json').fixtures;
  const expected = readJson<ExpectedFinding[]>('expected-findings.json');

  beforeAll(() => {
    records = loadRecords();
    index = new OsvIndex(records);
  });

  it('parses every record of the corpus', () => {
    expect(records.length).toBe(951);
  });

  it('matches exactly the expected findings, none missing and none extra', () => {
    const got: string[] = [];
    const byEcosystem = new Map<string, number>();
    for (const [fixture, entries] of Object.entries(inventory)) {
      const packages = entries.map(toPackage);
      for (const f of index.match(packages, undefined)) {
        const entry = entries[packages.indexOf(f.package)] as InventoryEntry;
        got.push(key(fixture, entry.package, entry.version, f.id, f.fixedVersion, f.package.path));
        const eco = f.ecosystem.split(':')[0] as string;
        byEcosystem.set(eco, (byEcosystem.get(eco) ?? 0) + 1);
      }
    }
    // lockPath is given for the nested npm duplicate only; top-level ones carry node_modules/<name>.
    const want = expected.map((e) => {
      const lockPath =
        e.lockPath ??
        inventory[e.fixture]?.find((i) => i.package === e.package && i.version === e.installedVersion)?.lockPath;
      return key(e.fixture, e.package, e.installedVersion, e.advisoryId, e.fixedVersion, lockPath);
    });
    const missing = want.filter((k) => !got.includes(k));
    const extra = got.filter((k) => !want.includes(k));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    expect(got.length).toBe(175);
    expect(Object.fromEntries(byEcosystem)).toEqual({
      Go: 95,
      Debian: 37,
      PyPI: 23,
      Maven: 12,
      npm: 5,
      'crates.io': 2,
      Alpine: 1,
    });
    console.log(`expected-findings.json: ${got.length - extra.length}/${want.length} findings matched, ${extra.length} extra`);
  });

  it('gives nothing for the negative fixtures', () => {
    const negatives = [
      'fixtures/dpkg/debian12-host/var/lib/dpkg/status',
      'fixtures/dpkg/scalibr-bookworm-subset/var/lib/dpkg/status',
      'fixtures/dpkg/claircore-buster-postgresql/var/lib/dpkg/status',
      'fixtures/inventory/claircore-debian-10.13-index-report.json',
      'fixtures/rust/url-idna/Cargo.lock',
    ];
    for (const fixture of negatives) {
      const entries = inventory[fixture] ?? [];
      expect(entries.length, fixture).toBeGreaterThan(0);
      expect(index.match(entries.map(toPackage), undefined).map((f) => f.id), fixture).toEqual([]);
    }
  });
});
