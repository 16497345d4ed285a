import { digestAlgorithm, digestOf, type Digest } from '../core/index.js';
import type { BlobInventory, BlobStore } from '../storage/blobs/index.js';
import type { MetadataStore, ReferenceKey } from '../storage/metadata/index.js';
import { GarbageCollector } from './collector.js';

const PAGE = 200;
/** Blobs hashed at once: enough to keep a disk busy, few enough to leave the server its share. */
const HASH_CONCURRENCY = 4;
/** Findings kept in the report; every one is still passed to `onFinding`. */
const KEPT_FINDINGS = 1000;
const LEFTOVER_MIN_AGE_MS = 10 * 60_000;
const PROGRESS_INTERVAL_MS = 2000;
/** Files without a row held for a second look after the walk; past it they are reported at once. */
const MAX_STRAYS_CONFIRMED = 10_000;
/** Long enough for a collection to get from deleting a row to deleting its file. */
const STRAY_SETTLE_MS = 500;

export type FindingKind =
  /** A `blobs` row whose file is missing. */
  | 'missing-file'
  /** A blob file whose size is not its row's. */
  | 'size-mismatch'
  /** A blob file whose bytes do not hash to its digest. */
  | 'corrupt-blob'
  /** A blob file with no row, older than the grace period. */
  | 'stray-file'
  /** A file in the blob area whose name is no digest's, older than the grace period. */
  | 'unknown-file'
  /** A manifest references a blob that has no row. */
  | 'missing-blob'
  /** A manifest references a blob that is stored but not linked to its repository. */
  | 'unlinked-blob'
  /** An index lists a manifest that its repository does not hold. */
  | 'missing-child'
  /** A manifest's stored body does not hash to its digest, or has another size. */
  | 'manifest-mismatch'
  /** A tag points at a manifest that its repository does not hold. */
  | 'dangling-tag'
  /** A repository link to a blob that has no row. */
  | 'link-without-row';

export interface Finding {
  kind: FindingKind;
  /** What it is about: a digest, a file name, `account/repo@digest`, `account/repo:tag`. */
  subject: string;
  /** What is wrong, in one sentence. */
  problem: string;
  /** What `--repair` did about it; absent when nothing was done. */
  repaired?: string;
  /** What an operator can do when it was not repaired. */
  advice?: string;
}

export interface FsckOptions {
  /** Fix what can be fixed without losing anything that is referenced. */
  repair?: boolean;
  /** Files without a row younger than this are uploads being recorded, not problems. */
  graceMs: number;
  /** Re-hash every blob (default true); false checks sizes only. */
  hash?: boolean;
  signal?: AbortSignal;
  onFinding?: (finding: Finding) => void;
  /** Called every two seconds or so during long runs. */
  onProgress?: (progress: FsckProgress) => void;
  /** The clock that file ages are measured with. */
  now?: () => number;
}

export interface FsckProgress {
  phase: 'blobs' | 'files' | 'manifests' | 'references';
  done: number;
  /** Known for the blob phase. */
  total?: number;
  hashedBytes: number;
}

export interface FsckReport {
  blobs: number;
  hashedBytes: number;
  files: number;
  manifests: number;
  /** Files without a row within the grace period: uploads being recorded, or leftovers to be. */
  recentFiles: number;
  /** Findings by kind. */
  counts: Partial<Record<FindingKind, number>>;
  /** Findings that remain (were not repaired), by kind. */
  remaining: Partial<Record<FindingKind, number>>;
  /** The first findings (all are passed to `onFinding`). */
  findings: Finding[];
  /** Findings that remain. */
  problems: number;
  repaired: number;
  durationMs: number;
}

/**
 * Check a data folder's consistency while the server may be serving it: re-hash every blob,
 * check that every row has its file and every file its row, that every manifest's references can
 * be followed and its body hashes to its digest, and that every tag points at a manifest. With
 * `repair`, fix what can be fixed safely: remove files without rows past the grace period, drop
 * the rows of lost or damaged blobs that nothing references, link referenced blobs to their
 * repositories, drop dangling tags and links, and move damaged files aside. Everything else is
 * reported with what to do. Each finding is confirmed under the blob lock before it is reported,
 * so a blob that garbage collection removed, or an upload published, during the walk is no finding.
 */
export async function checkIntegrity(meta: MetadataStore, blobs: BlobStore & BlobInventory, opts: FsckOptions): Promise<FsckReport> {
  const started = Date.now();
  const report: FsckReport = { blobs: 0, hashedBytes: 0, files: 0, manifests: 0, recentFiles: 0, counts: {}, remaining: {}, findings: [], problems: 0, repaired: 0, durationMs: 0 };
  const hashing = opts.hash ?? true;
  const repair = opts.repair ?? false;
  const collector = new GarbageCollector(meta, blobs);
  const names = new Map<number, string>();
  const repoName = async (id: number) => {
    if (!names.has(id)) names.set(id, (await meta.gc.repositoryNames([id])).get(id) ?? `repository #${id}`);
    return names.get(id)!;
  };
  const found = (finding: Finding) => {
    report.counts[finding.kind] = (report.counts[finding.kind] ?? 0) + 1;
    if (finding.repaired) report.repaired++;
    else {
      report.problems++;
      report.remaining[finding.kind] = (report.remaining[finding.kind] ?? 0) + 1;
    }
    if (report.findings.length < KEPT_FINDINGS) report.findings.push(finding);
    opts.onFinding?.(finding);
  };
  let lastProgress = Date.now();
  const progress = (p: FsckProgress) => {
    if (!opts.onProgress || Date.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = Date.now();
    opts.onProgress(p);
  };

  // 1. Every row has its file, of its size, hashing to its digest.
  const { count: totalBlobs } = await meta.gc.countBlobs();
  let after: string | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = await meta.gc.blobPage(after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1]!.digest;
    await eachConcurrently(page, HASH_CONCURRENCY, async (row) => {
      const digest = row.digest as Digest;
      const seen = hashing ? await blobs.hash(digest, opts.signal ? { signal: opts.signal } : {}) : await statBlob(blobs, digest);
      report.blobs++;
      if (hashing && seen) report.hashedBytes += seen.size;
      if (seen && seen.size === row.size && (!hashing || seen.digest === digest)) return;
      const finding = await confirmBlob(meta, blobs, digest, row.size, seen, repair);
      if (finding) found(finding);
    });
    progress({ phase: 'blobs', done: report.blobs, total: totalBlobs, hashedBytes: report.hashedBytes });
  }

  // 2. Every file has its row.
  const now = (opts.now ?? Date.now)();
  const strays: { name: string; digest: Digest; size: number }[] = [];
  for await (const batch of blobs.files(opts.signal ? { signal: opts.signal } : {})) {
    report.files += batch.length;
    const recorded = await meta.gc.recorded(batch.flatMap((f) => (f.digest ? [f.digest] : [])));
    for (const file of batch) {
      if (file.digest && recorded.has(file.digest)) continue;
      const info = await blobs.fileInfo(file.name);
      if (!info) continue;
      const minAge = file.digest ? opts.graceMs : Math.max(opts.graceMs, LEFTOVER_MIN_AGE_MS);
      if (info.changedAt > now - minAge) {
        report.recentFiles++;
        continue;
      }
      if (file.digest && repair) {
        // Removed under the blob lock, only if still unrecorded (an upload may have finished since).
        if (!(await collector.removeFiles([file.digest])).has(file.digest)) continue;
        found(strayFinding(file.name, file.digest, info.size, 'removed'));
      } else if (file.digest) {
        // Confirmed at the end of the walk: a collection may be between deleting a row and its file.
        if (strays.length < MAX_STRAYS_CONFIRMED) strays.push({ name: file.name, digest: file.digest, size: info.size });
        else found(strayFinding(file.name, file.digest, info.size));
      } else {
        if (repair) await blobs.removeFile(file.name);
        found({
          kind: 'unknown-file',
          subject: file.name,
          problem: `file (${info.size} bytes) in the blob area is not named after a digest (left by an interrupted write?)`,
          ...(repair ? { repaired: 'removed' } : { advice: '`berth gc` or `berth fsck --repair` removes it' }),
        });
      }
    }
    progress({ phase: 'files', done: report.files, hashedBytes: report.hashedBytes });
  }
  if (strays.length > 0) {
    await new Promise((r) => setTimeout(r, STRAY_SETTLE_MS));
    const recorded = await meta.gc.recorded(strays.map((s) => s.digest));
    for (const stray of strays) {
      if (recorded.has(stray.digest) || !(await blobs.fileInfo(stray.name))) continue;
      found(strayFinding(stray.name, stray.digest, stray.size));
    }
  }

  // 3. Every manifest's body hashes to its digest.
  let manifestKey: { repositoryId: number; digest: string } | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = await meta.gc.manifestPage(manifestKey, PAGE);
    if (page.length === 0) break;
    manifestKey = page[page.length - 1]!;
    for (const info of page) {
      report.manifests++;
      // One body at a time: a manifest may be megabytes.
      const row = await meta.manifests.get(info.repositoryId, info.digest);
      if (!row) continue;
      const actual = digestOf(row.body, digestAlgorithm(row.digest as Digest));
      if (actual === row.digest && row.body.length === row.size) continue;
      found({
        kind: 'manifest-mismatch',
        subject: `${await repoName(info.repositoryId)}@${info.digest}`,
        problem: `stored manifest body hashes to ${actual} (${row.body.length} bytes, ${row.size} recorded)`,
        advice: 'push the manifest again (the same bytes), or delete it by digest',
      });
    }
    progress({ phase: 'manifests', done: report.manifests, hashedBytes: report.hashedBytes });
  }

  // 4. Every reference can be followed; every tag and link points at something.
  let refKey: ReferenceKey | undefined;
  do {
    opts.signal?.throwIfAborted();
    const { broken, next } = await meta.gc.brokenBlobReferences(refKey, PAGE);
    refKey = next;
    for (const ref of broken) {
      const finding = await confirmReference(meta, ref.repositoryId, ref.manifest, ref.blob as Digest, repair, await repoName(ref.repositoryId));
      if (finding) found(finding);
    }
  } while (refKey);
  let childKey: ReferenceKey | undefined;
  do {
    opts.signal?.throwIfAborted();
    const { missing, next } = await meta.gc.missingChildren(childKey, PAGE);
    childKey = next;
    for (const ref of missing) {
      const present = await meta.manifests.existing(ref.repositoryId, [ref.manifest, ref.child]);
      if (!present.has(ref.manifest) || present.has(ref.child)) continue;
      found({
        kind: 'missing-child',
        subject: `${await repoName(ref.repositoryId)}@${ref.manifest}`,
        problem: `index lists manifest ${ref.child}, which the repository does not hold`,
        advice: `push ${ref.child} to the repository again, or delete the index`,
      });
    }
  } while (childKey);
  for (const tag of await meta.gc.danglingTags(KEPT_FINDINGS)) {
    if (repair) await meta.tags.delete(tag.repositoryId, tag.tag);
    found({
      kind: 'dangling-tag',
      subject: `${await repoName(tag.repositoryId)}:${tag.tag}`,
      problem: `tag points at ${tag.digest}, which the repository does not hold`,
      ...(repair ? { repaired: 'tag deleted' } : { advice: '`berth fsck --repair` deletes the tag' }),
    });
  }
  for (const link of await meta.gc.linksWithoutRow(KEPT_FINDINGS)) {
    if (repair) await meta.blobs.unlink(link.repositoryId, link.digest);
    found({
      kind: 'link-without-row',
      subject: `${await repoName(link.repositoryId)}@${link.digest}`,
      problem: 'repository link to a blob that has no row',
      ...(repair ? { repaired: 'link removed' } : { advice: '`berth fsck --repair` removes the link' }),
    });
  }
  report.durationMs = Date.now() - started;
  return report;
}

function strayFinding(name: string, digest: string, size: number, repaired?: string): Finding {
  return {
    kind: 'stray-file',
    subject: name,
    problem: `file of ${digest} (${size} bytes) has no blob row: no repository can serve it`,
    ...(repaired ? { repaired } : { advice: 'harmless but wasted space; `berth gc` or `berth fsck --repair` removes it' }),
  };
}

type Seen = { digest?: Digest; size: number; changedAt?: number } | undefined;

async function statBlob(blobs: BlobStore, digest: Digest): Promise<Seen> {
  const stat = await blobs.stat(digest);
  return stat && { size: stat.size };
}

/**
 * Confirm, under the blob lock, that a row's file is missing or damaged, and repair it: a blob
 * that nothing references loses its row and links (and a damaged file is moved aside); a
 * referenced one has its damaged file moved aside, so pulls fail cleanly instead of serving wrong
 * bytes, and is left for the operator: pushing the blob again puts the file back.
 */
async function confirmBlob(meta: MetadataStore, blobs: BlobStore & BlobInventory, digest: Digest, size: number, seen: Seen, repair: boolean): Promise<Finding | undefined> {
  return meta.transaction(async (tx) => {
    await tx.gc.lockBlobs();
    // Removed by garbage collection since the page was read: nothing to report.
    if (!(await tx.gc.recorded([digest])).has(digest)) return undefined;
    const now = await blobs.fileInfo(blobs.nameOf(digest));
    let kind: FindingKind;
    if (!now) kind = 'missing-file';
    // Published since it was looked at (an upload replaces the file with verified bytes).
    else if (!seen || (seen.changedAt !== undefined && now.changedAt !== seen.changedAt)) return undefined;
    else if (now.size !== size) kind = 'size-mismatch';
    else if (seen.digest !== undefined && seen.digest !== digest) kind = 'corrupt-blob';
    else return undefined;
    const problem =
      kind === 'missing-file'
        ? `blob row (${size} bytes) has no file`
        : kind === 'size-mismatch'
          ? `blob file has ${now!.size} bytes; its row says ${size}`
          : `blob file hashes to ${seen!.digest}`;
    const referenced = await tx.gc.isReferenced(digest);
    if (!repair) {
      return {
        kind,
        subject: digest,
        problem,
        advice: referenced
          ? 'manifests reference it: push the blob again (any upload of these bytes puts the file back); `--repair` moves a damaged file aside'
          : 'nothing references it: `berth fsck --repair` drops it',
      };
    }
    const actions: string[] = [];
    if (kind !== 'missing-file') actions.push(`file moved to ${await blobs.quarantine(digest)}`);
    if (!referenced && (await tx.gc.dropUnreferenced(digest))) actions.push('row and links dropped (nothing referenced it)');
    const finding: Finding = { kind, subject: digest, problem };
    if (referenced) {
      finding.advice = 'manifests reference it: push the blob again (any upload of these bytes puts the file back)';
      if (actions.length > 0) finding.advice = `${actions.join('; ')}; ${finding.advice}`;
    } else {
      finding.repaired = actions.join('; ');
    }
    return finding;
  });
}

/** Confirm a broken reference under the blob lock; link a stored blob back to its repository. */
async function confirmReference(meta: MetadataStore, repositoryId: number, manifest: string, blob: Digest, repair: boolean, repo: string): Promise<Finding | undefined> {
  return meta.transaction(async (tx) => {
    await tx.gc.lockBlobs();
    if (!(await tx.manifests.existing(repositoryId, [manifest])).has(manifest)) return undefined;
    const hasRow = (await tx.gc.recorded([blob])).has(blob);
    if (hasRow && (await tx.blobs.linkedSize(repositoryId, blob)) !== undefined) return undefined;
    const subject = `${repo}@${manifest}`;
    if (!hasRow) {
      return {
        kind: 'missing-blob',
        subject,
        problem: `manifest references blob ${blob}, which is not stored`,
        advice: `push blob ${blob} to ${repo} again; pulls of this manifest fail until then`,
      };
    }
    if (repair) await tx.blobs.link(repositoryId, blob, Date.now());
    return {
      kind: 'unlinked-blob',
      subject,
      problem: `manifest references blob ${blob}, which is stored but not linked to the repository`,
      ...(repair ? { repaired: 'blob linked to the repository' } : { advice: '`berth fsck --repair` links it' }),
    };
  });
}

async function eachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
