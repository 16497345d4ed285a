import { sql } from 'kysely';
import type { Db } from './db.js';
import type { Dialect } from './migrations.js';

/** The advisory lock key of the blob lock on PostgreSQL (any constant: "brtb" in ASCII). */
const BLOB_LOCK_KEY = 0x62727462;

/** A recorded blob with what garbage collection decides on: is it referenced, or protected by a recent link? */
export interface BlobGcState {
  digest: string;
  size: number;
  createdAt: number;
  /** Some manifest, in any repository of any account, lists it as its config or a layer. */
  referenced: boolean;
  /** Some repository linked it (upload, mount) after the cutoff. */
  recentlyLinked: boolean;
}

/** A manifest's reference to a blob that a pull could not follow. */
export interface BrokenBlobReference {
  repositoryId: number;
  manifest: string;
  blob: string;
  /** The `blobs` row is missing: nothing can serve it. */
  hasRow: boolean;
  /** The repository's link is missing: its pulls answer BLOB_UNKNOWN although the blob is stored. */
  hasLink: boolean;
}

/** Keyset position in `manifest_references`. */
export interface ReferenceKey {
  repositoryId: number;
  manifest: string;
  child: string;
}

/**
 * The queries of garbage collection and fsck: whole-table walks in keyset pages (never all rows at
 * once, and never a streaming cursor, which the SQLite statement cache cannot share), and the
 * re-checked deletes that make collection safe beside pushes (docs/architecture.md, "Garbage
 * collection").
 */
export class GcStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect = 'sqlite',
  ) {}

  /**
   * Take the lock that orders blob publication against blob deletion, for the rest of the
   * transaction: a blob's row is recorded, and its file unlinked, only while holding it. On SQLite
   * every transaction already begins with the database's write lock (BEGIN IMMEDIATE); this no-op
   * write takes it in any case. On PostgreSQL it is a transaction-scoped advisory lock, taken
   * exclusively by deletions (garbage collection, fsck's repairs) and shared by the writers that
   * only add (`lockBlobsShared`).
   */
  async lockBlobs(): Promise<void> {
    if (this.dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(${BLOB_LOCK_KEY})`.execute(this.db);
      return;
    }
    await this.db
      .updateTable('blobs')
      .set({ size: sql`size` })
      .where(sql<boolean>`1 = 0`)
      .execute();
  }

  /**
   * The blob lock for writers that add rows, links or references but delete none: an upload's
   * recording, a mount, a manifest push. They exclude deletions (`lockBlobs`) but not each other.
   * On SQLite, where every transaction holds the database's write lock, it is `lockBlobs`.
   */
  async lockBlobsShared(): Promise<void> {
    if (this.dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock_shared(${BLOB_LOCK_KEY})`.execute(this.db);
      return;
    }
    await this.lockBlobs();
  }

  /** Recorded blobs after `after` in digest order, with their GC state against `cutoff` (ms). */
  async scanPage(after: string | undefined, limit: number, cutoff: number): Promise<BlobGcState[]> {
    let q = this.stateQuery(cutoff);
    if (after !== undefined) q = q.where('b.digest', '>', after);
    const rows = await q.orderBy('b.digest').limit(limit).execute();
    return rows.map(toState);
  }

  /**
   * Delete the rows and links of those of `digests` that are still collectable against `cutoff`:
   * recorded no later than the cutoff, referenced by no manifest, linked by no repository after the
   * cutoff. Run inside a transaction after `lockBlobs`; the re-check is what makes it safe against
   * a manifest push or an upload that came after the scan. Returns what was deleted.
   */
  async collect(digests: readonly string[], cutoff: number): Promise<{ blobs: { digest: string; size: number }[]; links: number }> {
    if (digests.length === 0) return { blobs: [], links: 0 };
    const states = (await this.stateQuery(cutoff).where('b.digest', 'in', [...new Set(digests)]).execute()).map(toState);
    const doomed = states.filter((s) => isCollectable(s, cutoff));
    if (doomed.length === 0) return { blobs: [], links: 0 };
    const names = doomed.map((s) => s.digest);
    const links = await this.db.deleteFrom('repository_blobs').where('digest', 'in', names).executeTakeFirst();
    await this.db.deleteFrom('blobs').where('digest', 'in', names).execute();
    return { blobs: doomed.map((s) => ({ digest: s.digest, size: s.size })), links: Number(links.numDeletedRows) };
  }

  /** Of `digests`, those with a `blobs` row. */
  async recorded(digests: readonly string[]): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db.selectFrom('blobs').select('digest').where('digest', 'in', [...new Set(digests)]).execute();
    return new Set(rows.map((r) => r.digest));
  }

  async countBlobs(): Promise<{ count: number; bytes: number }> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('size'), sql<number>`0`).as('bytes')])
      .executeTakeFirstOrThrow();
    return { count: Number(row.n), bytes: Number(row.bytes) };
  }

  /** Recorded blobs after `after`, in digest order. */
  async blobPage(after: string | undefined, limit: number): Promise<{ digest: string; size: number }[]> {
    let q = this.db.selectFrom('blobs').select(['digest', 'size']);
    if (after !== undefined) q = q.where('digest', '>', after);
    const rows = await q.orderBy('digest').limit(limit).execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /** Whether some manifest anywhere lists the blob. */
  async isReferenced(digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('manifest_references')
      .select('child_digest')
      .where('child_digest', '=', digest)
      .where('child_kind', '=', 'blob')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Drop the row and links of a blob whose file is lost or damaged, if no manifest references it
   * (fsck --repair). Run inside a transaction after `lockBlobs`. Returns whether it was dropped.
   */
  async dropUnreferenced(digest: string): Promise<boolean> {
    if (await this.isReferenced(digest)) return false;
    await this.db.deleteFrom('repository_blobs').where('digest', '=', digest).execute();
    const result = await this.db.deleteFrom('blobs').where('digest', '=', digest).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Manifests after `after` in (repository, digest) order, without bodies. */
  async manifestPage(after: { repositoryId: number; digest: string } | undefined, limit: number): Promise<{ repositoryId: number; digest: string; size: number }[]> {
    let q = this.db.selectFrom('manifests').select(['repository_id', 'digest', 'size']);
    if (after !== undefined) {
      const { repositoryId, digest } = after;
      q = q.where((eb) => eb.or([eb('repository_id', '>', repositoryId), eb.and([eb('repository_id', '=', repositoryId), eb('digest', '>', digest)])]));
    }
    const rows = await q.orderBy('repository_id').orderBy('digest').limit(limit).execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest, size: Number(r.size) }));
  }

  /**
   * References to blobs whose row or repository link is missing, after `after` in key order. The
   * walk visits every reference but returns only broken ones, so a page may cover many references.
   */
  async brokenBlobReferences(after: ReferenceKey | undefined, limit: number): Promise<{ broken: BrokenBlobReference[]; next: ReferenceKey | undefined }> {
    const page = await this.referencePage('blob', after, limit);
    if (page.length === 0) return { broken: [], next: undefined };
    const broken: BrokenBlobReference[] = [];
    const byRepo = groupByRepository(page);
    const rows = await this.recorded(page.map((r) => r.child));
    for (const [repositoryId, refs] of byRepo) {
      const linked = await this.db
        .selectFrom('repository_blobs')
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', [...new Set(refs.map((r) => r.child))])
        .execute();
      const links = new Set(linked.map((l) => l.digest));
      for (const ref of refs) {
        const hasRow = rows.has(ref.child);
        const hasLink = links.has(ref.child);
        if (!hasRow || !hasLink) broken.push({ repositoryId, manifest: ref.manifest, blob: ref.child, hasRow, hasLink });
      }
    }
    return { broken, next: page.length < limit ? undefined : page[page.length - 1] };
  }

  /** References from an index to child manifests missing from its repository, in pages like `brokenBlobReferences`. */
  async missingChildren(after: ReferenceKey | undefined, limit: number): Promise<{ missing: ReferenceKey[]; next: ReferenceKey | undefined }> {
    const page = await this.referencePage('manifest', after, limit);
    if (page.length === 0) return { missing: [], next: undefined };
    const missing: ReferenceKey[] = [];
    for (const [repositoryId, refs] of groupByRepository(page)) {
      const present = await this.db
        .selectFrom('manifests')
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', [...new Set(refs.map((r) => r.child))])
        .execute();
      const found = new Set(present.map((p) => p.digest));
      for (const ref of refs) if (!found.has(ref.child)) missing.push(ref);
    }
    return { missing, next: page.length < limit ? undefined : page[page.length - 1] };
  }

  /** Tags pointing at a manifest their repository does not hold (the schema's foreign key should make this impossible). */
  async danglingTags(limit: number): Promise<{ repositoryId: number; tag: string; digest: string }[]> {
    const rows = await this.db
      .selectFrom('tags as t')
      .leftJoin('manifests as m', (join) => join.onRef('m.repository_id', '=', 't.repository_id').onRef('m.digest', '=', 't.digest'))
      .select(['t.repository_id', 't.tag', 't.digest'])
      .where('m.digest', 'is', null)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), tag: r.tag, digest: r.digest }));
  }

  /** Links to blobs without a row (the schema's foreign key should make this impossible). */
  async linksWithoutRow(limit: number): Promise<{ repositoryId: number; digest: string }[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as l')
      .leftJoin('blobs as b', 'b.digest', 'l.digest')
      .select(['l.repository_id', 'l.digest'])
      .where('b.digest', 'is', null)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  /** `account/name` of each repository id, for reports. */
  async repositoryNames(ids: readonly number[]): Promise<Map<number, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('repositories').select(['id', 'account_id', 'name']).where('id', 'in', [...new Set(ids)]).execute();
    return new Map(rows.map((r) => [Number(r.id), `${r.account_id}/${r.name}`]));
  }

  private async referencePage(kind: 'blob' | 'manifest', after: ReferenceKey | undefined, limit: number): Promise<ReferenceKey[]> {
    let q = this.db
      .selectFrom('manifest_references')
      .select(['repository_id', 'parent_digest', 'child_digest'])
      .where('child_kind', '=', kind);
    if (after !== undefined) {
      const { repositoryId, manifest, child } = after;
      q = q.where((eb) =>
        eb.or([
          eb('repository_id', '>', repositoryId),
          eb.and([eb('repository_id', '=', repositoryId), eb('parent_digest', '>', manifest)]),
          eb.and([eb('repository_id', '=', repositoryId), eb('parent_digest', '=', manifest), eb('child_digest', '>', child)]),
        ]),
      );
    }
    const rows = await q.orderBy('repository_id').orderBy('parent_digest').orderBy('child_digest').limit(limit).execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), manifest: r.parent_digest, child: r.child_digest }));
  }

  private stateQuery(cutoff: number) {
    return this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size', 'b.created_at'])
      .select((eb) => [
        eb
          .exists(
            eb
              .selectFrom('manifest_references as r')
              .select('r.child_digest')
              .whereRef('r.child_digest', '=', 'b.digest')
              .where('r.child_kind', '=', 'blob'),
          )
          .as('referenced'),
        eb
          .exists(eb.selectFrom('repository_blobs as l').select('l.digest').whereRef('l.digest', '=', 'b.digest').where('l.created_at', '>', cutoff))
          .as('recently_linked'),
      ]);
  }
}

/** A blob garbage collection may delete: unreferenced, and neither recorded nor linked after the cutoff. */
export function isCollectable(state: BlobGcState, cutoff: number): boolean {
  return !state.referenced && !state.recentlyLinked && state.createdAt <= cutoff;
}

function toState(row: { digest: string; size: number; created_at: number; referenced: unknown; recently_linked: unknown }): BlobGcState {
  return {
    digest: row.digest,
    size: Number(row.size),
    createdAt: Number(row.created_at),
    referenced: Boolean(Number(row.referenced)),
    recentlyLinked: Boolean(Number(row.recently_linked)),
  };
}

function groupByRepository(refs: readonly ReferenceKey[]): Map<number, ReferenceKey[]> {
  const out = new Map<number, ReferenceKey[]>();
  for (const ref of refs) {
    const list = out.get(ref.repositoryId);
    if (list) list.push(ref);
    else out.set(ref.repositoryId, [ref]);
  }
  return out;
}
