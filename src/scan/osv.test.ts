import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OsvRecordError, parseOsvRecord } from './osv.js';

const corpus = new URL('../../../shared/vulndata/', import.meta.url);
const read = (path: string): unknown => JSON.parse(readFileSync(new URL(path, corpus), 'utf8'));

const minimal = { id: 'TEST-1', modified: '2024-01-02T03:04:05Z' };

describe('parseOsvRecord', () => {
  it('reads a real record and normalises absent lists to []', () => {
    const r = parseOsvRecord(read('osv/npm/GHSA-c2qf-rxjj-qqgw.json'));
    expect(r.id).toBe('GHSA-c2qf-rxjj-qqgw');
    expect(r.aliases).toContain('CVE-2022-25883');
    expect(r.related).toEqual(expect.any(Array));
    expect(r.affected[0]?.package).toMatchObject({ ecosystem: 'npm', name: 'semver' });
    expect(r.affected[0]?.ranges[0]?.type).toBe('ECOSYSTEM');
    expect(r.severity[0]?.type).toBe('CVSS_V3');

    const m = parseOsvRecord(minimal);
    expect(m).toMatchObject({ aliases: [], related: [], upstream: [], severity: [], affected: [], references: [] });
    expect(parseOsvRecord({ ...minimal, aliases: null, affected: null }).aliases).toEqual([]);
  });

  it('keeps a record whose reference is malformed (GHSA-6fxm-66hq-fc96), dropping only bad references', () => {
    const r = parseOsvRecord(read('osv/Maven/GHSA-6fxm-66hq-fc96.json'));
    expect(r.id).toBe('GHSA-6fxm-66hq-fc96');
    expect(r.references.length).toBeGreaterThan(0);
    const s = parseOsvRecord({ ...minimal, references: [{ type: 'WEB', url: 'https://x' }, 'junk', { url: 3 }] });
    expect(s.references).toEqual([{ type: 'WEB', url: 'https://x' }]);
  });

  it('keeps withdrawn, GIT ranges and ecosystem_specific as they are', () => {
    const r = parseOsvRecord({
      ...minimal,
      withdrawn: '2024-02-01T00:00:00Z',
      affected: [
        {
          package: { ecosystem: 'PyPI', name: 'x' },
          ranges: [{ type: 'GIT', repo: 'https://g/x', events: [{ introduced: '0' }, { fixed: 'a'.repeat(40) }] }],
          ecosystem_specific: { imports: [] },
        },
      ],
    });
    expect(r.withdrawn).toBe('2024-02-01T00:00:00Z');
    expect(r.affected[0]?.ranges[0]).toEqual({ type: 'GIT', repo: 'https://g/x', events: [{ introduced: '0' }, { fixed: 'a'.repeat(40) }] });
    expect(r.affected[0]?.versions).toEqual([]);
    expect(r.affected[0]?.ecosystem_specific).toEqual({ imports: [] });
  });

  it.each([
    [null, 'an OSV record must be a JSON object'],
    [[], 'an OSV record must be a JSON object'],
    [{ modified: minimal.modified }, 'an OSV record must have a non-empty string id'],
    [{ id: 'X-1' }, 'X-1: modified is required'],
    [{ id: 'X-1', modified: 'yesterday' }, 'X-1: modified must be an RFC 3339 timestamp'],
    [{ ...minimal, aliases: 'CVE-1' }, 'TEST-1: aliases must be an array of strings'],
    [{ ...minimal, affected: {} }, 'TEST-1: affected must be an array'],
    [{ ...minimal, affected: [{ package: { name: 'x' } }] }, 'TEST-1: affected[0].package must have non-empty ecosystem and name strings'],
    [{ ...minimal, affected: [{ ranges: [{ type: 'RANGE', events: [{ introduced: '0' }] }] }] }, 'TEST-1: affected[0].ranges[0].type must be ECOSYSTEM, SEMVER or GIT'],
    [{ ...minimal, affected: [{ ranges: [{ type: 'SEMVER', events: [] }] }] }, 'TEST-1: affected[0].ranges[0].events must be a non-empty array'],
    [{ ...minimal, affected: [{ ranges: [{ type: 'SEMVER', events: [{ fixed: '1.0.0' }] }] }] }, 'TEST-1: affected[0].ranges[0].events must contain an introduced event'],
    [
      { ...minimal, affected: [{ ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1' }] }] }] },
      'TEST-1: affected[0].ranges[0].events[0] must have exactly one of introduced, fixed, last_affected, limit as a non-empty string',
    ],
    [{ ...minimal, severity: [{ type: 'CVSS_V3' }] }, 'TEST-1: severity[0] must have string type and score'],
  ])('rejects %j with a clear error', (json, message) => {
    expect(() => parseOsvRecord(json)).toThrow(OsvRecordError);
    expect(() => parseOsvRecord(json)).toThrow(message);
  });
});
