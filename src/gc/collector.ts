import type { Digest } from '../core/index.js';
import type { BlobInventory, BlobStore } from '../storage/blobs/index.js';
import { isCollectable, type MetadataStore } from '../storage/metadata/index.js';

/** Rows looked at per query, and deleted per transaction: short holds of the lock pushes also take. */
const PAGE = 500;
/** A file in the blob area whose name is no digest's (a publish cut by a crash) goes only when this old, whatever the grace. */
const LEFTOVER_MIN_AGE_MS = 10 * 60_000;
const PROGRESS_INTERVAL_MS = 2000;
const UNLINK_CONCURRENCY = 16;

export interface CollectOptions {
  /** Unreferenced blobs recorded or linked within this many ms are kept. */
  graceMs: number;
  /** Report what would go, change nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Each blob or file that goes (or would go, in a dry run), as it is decided. */
  onRemove?: (item: RemovedItem) => void;
  /** What was done so far, every two seconds or so. */
  onProgress?: (report: GcReport) => void;
}

export type RemovedItem =
  | { kind: 'blob'; digest: string; size: number }
  /** A file with no `blobs` row: a publish whose recording never happened (crash), or a GC cut short. */
  | { kind: 'file'; name: string; digest: string | undefined; size: number };

export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  /** Recorded blobs looked at. */
  scannedBlobs: number;
  /** Kept because a manifest references them. */
  referencedBlobs: number;
  /** Unreferenced, but recorded or linked within the grace period. */
  recentBlobs: number;
  /** Blobs whose row, links and file went (would go, in a dry run). */
  removedBlobs: number;
  removedBytes: number;
  /** Repository links removed with those blobs (not counted in a dry run). */
  removedLinks: number;
  /** Files in the blob area looked at. */
  scannedFiles: number;
  /** Files without a row, past the grace period, removed (would be, in a dry run). */
  removedFiles: number;
  removedFileBytes: number;
  durationMs: number;
}

/**
 * Online garbage collection of blobs (issue #10). A blob goes when no manifest in any repository
 * of any account references it, no repository linked it (upload, mount) within the grace period,
 * and its row is older than the grace period; its links, its row and then its file are removed.
 * Untagged manifests are not collected here (that is lifecycle's job): they keep their blobs.
 *
 * Safe beside pushes, in this process or another one (`berth gc` beside the server). The
 * protocol (docs/architecture.md, "Garbage collection") in short:
 * 1. a page of rows is read without locks, and the candidates chosen;
 * 2. one transaction, under the blob lock, re-checks each candidate and deletes its links and row;
 *    a manifest push that references the blob commits either before (the re-check sees the
 *    reference and keeps it) or after (its own check finds no link: MANIFEST_BLOB_UNKNOWN);
 * 3. another transaction, under the same lock, unlinks the file of each blob whose row is still
 *    absent. An upload records a row under that lock only after putting the file (back) in place,
 *    so no row is ever left without its file.
 * The walk is in keyset pages, so memory stays bounded by the page size, not by the number of
 * blobs. Stopping at any point (signal, crash) leaves a consistent state: at worst files without
 * rows, which the next run removes.
 */
export class GarbageCollector {
  private readonly now: () => number;

  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore & BlobInventory,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async run(opts: CollectOptions): Promise<GcReport> {
    const started = this.now();
    const cutoff = started - opts.graceMs;
    const report: GcReport = {
      dryRun: opts.dryRun ?? false,
      graceMs: opts.graceMs,
      scannedBlobs: 0,
      referencedBlobs: 0,
      recentBlobs: 0,
      removedBlobs: 0,
      removedBytes: 0,
      removedLinks: 0,
      scannedFiles: 0,
      removedFiles: 0,
      removedFileBytes: 0,
      durationMs: 0,
    };
    let lastProgress = started;
    const progress = () => {
      if (!opts.onProgress || this.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = this.now();
      opts.onProgress({ ...report, durationMs: lastProgress - started });
    };

    // Recorded blobs: rows, links, files.
    let after: string | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const page = await this.meta.gc.scanPage(after, PAGE, cutoff);
      if (page.length === 0) break;
      after = page[page.length - 1]!.digest;
      report.scannedBlobs += page.length;
      const candidates = page.filter((state) => {
        if (state.referenced) report.referencedBlobs++;
        else if (!isCollectable(state, cutoff)) report.recentBlobs++;
        return isCollectable(state, cutoff);
      });
      if (opts.dryRun) {
        for (const state of candidates) {
          report.removedBlobs++;
          report.removedBytes += state.size;
          opts.onRemove?.({ kind: 'blob', digest: state.digest, size: state.size });
        }
      } else if (candidates.length > 0) {
        const removed = await this.removeRows(
          candidates.map((c) => c.digest),
          cutoff,
        );
        report.removedLinks += removed.links;
        // What the re-check kept was referenced or linked since the scan.
        report.referencedBlobs += candidates.length - removed.blobs.length;
        for (const blob of removed.blobs) {
          report.removedBlobs++;
          report.removedBytes += blob.size;
          opts.onRemove?.({ kind: 'blob', digest: blob.digest, size: blob.size });
        }
        await this.removeFiles(removed.blobs.map((b) => b.digest as Digest));
      }
      progress();
    }

    // Files without a row: publishes never recorded (a crash between the two), runs cut short.
    for await (const batch of this.blobs.files(opts.signal ? { signal: opts.signal } : {})) {
      report.scannedFiles += batch.length;
      const recorded = await this.meta.gc.recorded(batch.flatMap((f) => (f.digest ? [f.digest] : [])));
      const strays: { digest: Digest; size: number; name: string }[] = [];
      for (const file of batch) {
        if (file.digest && recorded.has(file.digest)) continue;
        const info = await this.blobs.fileInfo(file.name);
        if (!info) continue;
        const minAge = file.digest ? opts.graceMs : Math.max(opts.graceMs, LEFTOVER_MIN_AGE_MS);
        if (info.changedAt > started - minAge) continue;
        if (file.digest) {
          strays.push({ digest: file.digest, size: info.size, name: file.name });
        } else {
          if (!opts.dryRun) await this.blobs.removeFile(file.name);
          report.removedFiles++;
          report.removedFileBytes += info.size;
          opts.onRemove?.({ kind: 'file', name: file.name, digest: undefined, size: info.size });
        }
      }
      const gone = opts.dryRun ? new Set(strays.map((s) => s.digest)) : await this.removeFiles(strays.map((s) => s.digest));
      for (const stray of strays) {
        if (!gone.has(stray.digest)) continue;
        report.removedFiles++;
        report.removedFileBytes += stray.size;
        opts.onRemove?.({ kind: 'file', name: stray.name, digest: stray.digest, size: stray.size });
      }
      progress();
    }
    report.durationMs = this.now() - started;
    return report;
  }

  /**
   * Step 2: under the blob lock, re-check the candidates and delete the links and rows of those
   * still collectable. Exposed for the tests that replay the race step by step.
   */
  async removeRows(digests: readonly string[], cutoff: number): Promise<{ blobs: { digest: string; size: number }[]; links: number }> {
    return this.meta.transaction(async (tx) => {
      await tx.gc.lockBlobs();
      return tx.gc.collect(digests, cutoff);
    });
  }

  /**
   * Step 3: under the blob lock, unlink the files of those of `digests` that have no row. A row
   * recorded since step 2 means an upload put the blob (back) in place: its file stays. Returns
   * the digests whose files were unlinked. Exposed for the tests that replay the race.
   */
  async removeFiles(digests: readonly Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    return this.meta.transaction(async (tx) => {
      await tx.gc.lockBlobs();
      const recorded = await tx.gc.recorded(digests);
      const gone = digests.filter((d) => !recorded.has(d));
      // Several unlinks at once: the lock is held for the batch, so it should be short.
      for (let i = 0; i < gone.length; i += UNLINK_CONCURRENCY) {
        await Promise.all(gone.slice(i, i + UNLINK_CONCURRENCY).map((d) => this.blobs.delete(d)));
      }
      return new Set(gone);
    });
  }
}
