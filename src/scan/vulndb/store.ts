import { canonicalEcosystem, normalizePackageName } from '../match/index.js';
import { baseEcosystem } from '../versions/index.js';
import type { MetadataStore } from '../../storage/metadata/index.js';

/** The parts of an OSV record the database indexes; the rest is kept verbatim in `body`. */
export interface OsvHeader {
  id: string;
  /** Epoch ms of the record's `modified`. */
  modified: number;
  /** Epoch ms of `withdrawn`, when the record was withdrawn. */
  withdrawn: number | null;
  /** `aliases` and `upstream` ids (CVE, GHSA, DSA, ...), without the record's own id. */
  aliases: string[];
  /** (ecosystem without release, normalised name) of each affected package. */
  packages: { ecosystem: string; name: string }[];
}

/** What an import did. */
export interface ImportCounts {
  /** Records read from the source. */
  read: number;
  /** New records. */
  added: number;
  /** Records replaced by a newer `modified`. */
  updated: number;
  /** Records that are withdrawn now (new or updated). */
  withdrawn: number;
  /** Records skipped: not newer than the stored copy. */
  unchanged: number;
  /** Files that were not OSV records (bad JSON, no id or modified). */
  invalid: number;
}

export interface VulnDbStatus {
  records: number;
  withdrawn: number;
  packages: number;
  generation: number;
  /** Epoch ms of the last import that changed something, or null. */
  updatedAt: number | null;
  ecosystems: { ecosystem: string; records: number }[];
  sources: { url: string; fetchedAt: number; records: number }[];
}

/**
 * The ecosystem part used by the lookup index: OSV ecosystems may carry a release after a colon
 * (`Debian:12`, `Alpine:v3.20`, `Ubuntu:22.04:LTS`); releases are matched later, by the matcher.
 */
export function ecosystemKey(ecosystem: string): string {
  return baseEcosystem(canonicalEcosystem(ecosystem));
}

/** Package names as the index compares them: the matcher's normalisation (PEP 503 for PyPI, ...). */
export function packageKey(ecosystem: string, name: string): string {
  return normalizePackageName(ecosystemKey(ecosystem), name);
}

/**
 * Reads the header of one OSV record, or undefined when `raw` is not one (no id, no parsable
 * `modified`). A malformed field elsewhere (a bad reference URL) does not reject the record.
 */
export function osvHeader(raw: unknown): OsvHeader | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r['id'] !== 'string' || r['id'].length === 0 || r['id'].length > 200) return undefined;
  const modified = typeof r['modified'] === 'string' ? Date.parse(r['modified']) : NaN;
  if (!Number.isFinite(modified)) return undefined;
  const withdrawnAt = typeof r['withdrawn'] === 'string' ? Date.parse(r['withdrawn']) : NaN;
  const aliases = new Set<string>();
  for (const field of ['aliases', 'upstream']) {
    const list = r[field];
    if (Array.isArray(list)) for (const a of list) if (typeof a === 'string' && a !== r['id']) aliases.add(a);
  }
  const packages = new Map<string, { ecosystem: string; name: string }>();
  if (Array.isArray(r['affected'])) {
    for (const a of r['affected'] as unknown[]) {
      const pkg = (a as { package?: { ecosystem?: unknown; name?: unknown } } | null)?.package;
      if (typeof pkg?.ecosystem !== 'string' || typeof pkg.name !== 'string' || pkg.name === '') continue;
      const ecosystem = ecosystemKey(pkg.ecosystem);
      const name = packageKey(ecosystem, pkg.name);
      packages.set(`${ecosystem}\0${name}`, { ecosystem, name });
    }
  }
  return { id: r['id'], modified, withdrawn: Number.isFinite(withdrawnAt) ? withdrawnAt : null, aliases: [...aliases], packages: [...packages.values()] };
}

/** One stored record, as the matcher reads it. */
export interface StoredRecord {
  id: string;
  modified: number;
  aliases: string[];
  body: unknown;
}

const STATE = 'vulndb';

/**
 * The vulnerability database in the metadata store: OSV records by id, and an index from
 * (ecosystem, package) to record ids. Every read goes to the database, so a server sees records
 * that `berth vulndb import` (another process) wrote without a restart; `generation` tells
 * whether anything changed since a scan. Withdrawn records are kept (so an older copy from
 * another source cannot bring them back) but leave the index, so no lookup finds them.
 */
export class VulnDbStore {
  constructor(private readonly meta: MetadataStore) {}

  /**
   * Store a batch of records in one transaction: a record replaces the stored one only when its
   * `modified` is newer. Returns the counts; bumps the generation when anything changed.
   */
  async putBatch(records: readonly { header: OsvHeader; body: string }[], now: number): Promise<Omit<ImportCounts, 'read' | 'invalid'>> {
    const counts = { added: 0, updated: 0, withdrawn: 0, unchanged: 0 };
    if (records.length === 0) return counts;
    // The newest copy of each id within the batch.
    const byId = new Map<string, { header: OsvHeader; body: string }>();
    for (const r of records) {
      const seen = byId.get(r.header.id);
      if (!seen || seen.header.modified < r.header.modified) byId.set(r.header.id, r);
      else counts.unchanged++;
    }
    await this.meta.transaction(async (tx) => {
      const db = tx.kysely;
      const ids = [...byId.keys()];
      const stored = new Map<string, number>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db.selectFrom('vulndb_records').select(['id', 'modified']).where('id', 'in', ids.slice(i, i + 500)).execute();
        for (const row of rows) stored.set(row.id, Number(row.modified));
      }
      const changed: { header: OsvHeader; body: string }[] = [];
      for (const r of byId.values()) {
        const have = stored.get(r.header.id);
        if (have !== undefined && have >= r.header.modified) {
          counts.unchanged++;
          continue;
        }
        if (have === undefined) counts.added++;
        else counts.updated++;
        if (r.header.withdrawn !== null) counts.withdrawn++;
        changed.push(r);
      }
      if (changed.length === 0) return;
      const replaced = changed.filter((r) => stored.has(r.header.id)).map((r) => r.header.id);
      for (let i = 0; i < replaced.length; i += 500) {
        const part = replaced.slice(i, i + 500);
        await db.deleteFrom('vulndb_packages').where('record_id', 'in', part).execute();
        await db.deleteFrom('vulndb_records').where('id', 'in', part).execute();
      }
      // SQLite allows 32766 bound values per statement; 6 columns x 200 rows stays well below.
      for (let i = 0; i < changed.length; i += 200) {
        await db
          .insertInto('vulndb_records')
          .values(
            changed.slice(i, i + 200).map((r) => ({
              id: r.header.id,
              modified: r.header.modified,
              withdrawn: r.header.withdrawn,
              aliases: JSON.stringify(r.header.aliases),
              body: r.body,
              imported_at: now,
            })),
          )
          .execute();
      }
      const index = changed
        .filter((r) => r.header.withdrawn === null)
        .flatMap((r) => r.header.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, record_id: r.header.id })));
      for (let i = 0; i < index.length; i += 500) {
        await db.insertInto('vulndb_packages').values(index.slice(i, i + 500)).execute();
      }
      await this.bump(tx, now);
    });
    return counts;
  }

  private async bump(tx: MetadataStore, now: number): Promise<void> {
    const db = tx.kysely;
    const row = await db.selectFrom('vulndb_state').select('generation').where('name', '=', STATE).executeTakeFirst();
    if (row) await db.updateTable('vulndb_state').set({ generation: Number(row.generation) + 1, updated_at: now }).where('name', '=', STATE).execute();
    else await db.insertInto('vulndb_state').values({ name: STATE, generation: 1, updated_at: now }).execute();
  }

  /** The database's generation (0: never imported) and the time of its last change. */
  async generation(): Promise<{ generation: number; updatedAt: number | null }> {
    const row = await this.meta.kysely.selectFrom('vulndb_state').select(['generation', 'updated_at']).where('name', '=', STATE).executeTakeFirst();
    return row ? { generation: Number(row.generation), updatedAt: Number(row.updated_at) } : { generation: 0, updatedAt: null };
  }

  /**
   * The records (not withdrawn) that name any of `names` in `ecosystem` (without release), by id.
   * `names` are compared after {@link packageKey}.
   */
  async lookup(queries: readonly { ecosystem: string; name: string }[]): Promise<Map<string, StoredRecord[]>> {
    const out = new Map<string, StoredRecord[]>();
    const keys = new Map<string, { ecosystem: string; name: string }>();
    for (const q of queries) {
      const ecosystem = ecosystemKey(q.ecosystem);
      const name = packageKey(ecosystem, q.name);
      keys.set(`${ecosystem}\0${name}`, { ecosystem, name });
    }
    const byEcosystem = new Map<string, string[]>();
    for (const k of keys.values()) byEcosystem.set(k.ecosystem, [...(byEcosystem.get(k.ecosystem) ?? []), k.name]);
    const cache = new Map<string, StoredRecord>();
    for (const [ecosystem, names] of byEcosystem) {
      for (let i = 0; i < names.length; i += 500) {
        const rows = await this.meta.kysely
          .selectFrom('vulndb_packages as p')
          .innerJoin('vulndb_records as r', 'r.id', 'p.record_id')
          .select(['p.name', 'r.id', 'r.modified', 'r.aliases', 'r.body'])
          .where('p.ecosystem', '=', ecosystem)
          .where('p.name', 'in', names.slice(i, i + 500))
          .where('r.withdrawn', 'is', null)
          .execute();
        for (const row of rows) {
          let record = cache.get(row.id);
          if (!record) {
            record = { id: row.id, modified: Number(row.modified), aliases: JSON.parse(row.aliases) as string[], body: JSON.parse(row.body) as unknown };
            cache.set(row.id, record);
          }
          const key = `${ecosystem}\0${row.name}`;
          out.set(key, [...(out.get(key) ?? []), record]);
        }
      }
    }
    return out;
  }

  /** One record by id, withdrawn or not. */
  async record(id: string): Promise<(StoredRecord & { withdrawn: number | null }) | undefined> {
    const row = await this.meta.kysely.selectFrom('vulndb_records').selectAll().where('id', '=', id).executeTakeFirst();
    return row
      ? { id: row.id, modified: Number(row.modified), withdrawn: row.withdrawn === null ? null : Number(row.withdrawn), aliases: JSON.parse(row.aliases) as string[], body: JSON.parse(row.body) as unknown }
      : undefined;
  }

  /** The HTTP validators stored for a source URL at its last fetch. */
  async source(url: string): Promise<{ etag: string | null; lastModified: string | null } | undefined> {
    const row = await this.meta.kysely.selectFrom('vulndb_sources').selectAll().where('url', '=', url).executeTakeFirst();
    return row ? { etag: row.etag, lastModified: row.last_modified } : undefined;
  }

  async putSource(url: string, v: { etag: string | null; lastModified: string | null; records: number }, now: number): Promise<void> {
    await this.meta.kysely
      .insertInto('vulndb_sources')
      .values({ url, etag: v.etag, last_modified: v.lastModified, fetched_at: now, records: v.records })
      .onConflict((oc) => oc.column('url').doUpdateSet({ etag: v.etag, last_modified: v.lastModified, fetched_at: now, records: v.records }))
      .execute();
  }

  async status(): Promise<VulnDbStatus> {
    const db = this.meta.kysely;
    const totals = await db
      .selectFrom('vulndb_records')
      .select((eb) => [eb.fn.countAll<number>().as('records'), eb.fn.count<number>('withdrawn').as('withdrawn')])
      .executeTakeFirstOrThrow();
    const packages = await db.selectFrom('vulndb_packages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const ecosystems = await db
      .selectFrom('vulndb_packages')
      .select((eb) => ['ecosystem', eb.fn.count<number>('record_id').distinct().as('records')])
      .groupBy('ecosystem')
      .orderBy('ecosystem')
      .execute();
    const sources = await db.selectFrom('vulndb_sources').selectAll().orderBy('url').execute();
    const { generation, updatedAt } = await this.generation();
    return {
      records: Number(totals.records),
      withdrawn: Number(totals.withdrawn),
      packages: Number(packages.n),
      generation,
      updatedAt,
      ecosystems: ecosystems.map((e) => ({ ecosystem: e.ecosystem, records: Number(e.records) })),
      sources: sources.map((s) => ({ url: s.url, fetchedAt: Number(s.fetched_at), records: Number(s.records) })),
    };
  }
}
