import type { Readable } from 'node:stream';
import { isBerthError, parseTag, type Digest } from '../core/index.js';
import { parseManifest, type Registry, type Repository } from '../registry/index.js';
import type { BlobStore } from '../storage/blobs/index.js';

/**
 * Why a replication failed, as DescribeImageReplicationStatus reports it (`failureCode`). ECR does
 * not publish its codes; these are berth's, documented in docs/replication.md. `permanent`: no
 * retry can fix it (the job fails at once); otherwise the job is retried with backoff and the
 * code is reported only when the attempts run out.
 */
export class ReplicationFailure extends Error {
  override readonly name = 'ReplicationFailure';
  /** For an index: the codes of its platform images that failed (ECR's `subImageFailureCodes`). */
  readonly subImageFailureCodes: readonly ReplicationFailureCode[] | undefined;
  constructor(
    readonly code: ReplicationFailureCode,
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions & { subImageFailureCodes?: readonly ReplicationFailureCode[] },
  ) {
    super(message, options);
    this.subImageFailureCodes = options?.subImageFailureCodes;
  }
}

export type ReplicationFailureCode =
  | 'REGISTRY_POLICY_DENIED'
  | 'DESTINATION_ACCESS_DENIED'
  | 'DESTINATION_AUTH_FAILED'
  | 'DESTINATION_UNREACHABLE'
  | 'DESTINATION_REJECTED'
  | 'DESTINATION_LIMIT_EXCEEDED'
  | 'PEER_NOT_CONFIGURED'
  | 'SOURCE_IMAGE_NOT_FOUND'
  | 'SOURCE_IMAGE_ARCHIVED'
  | 'INTERNAL_ERROR';

/**
 * The destination side of one copy: a repository in another account of this deployment
 * (`LocalTarget`) or in a peer deployment (`PeerTarget`). Every method is idempotent.
 */
export interface CopyTarget {
  /** Check that the destination accepts images from the source, create the repository when missing, and mark `digests` as replicated (no chaining). */
  prepare(digests: readonly string[], signal: AbortSignal): Promise<void>;
  hasManifest(digest: string, signal: AbortSignal): Promise<boolean>;
  /** The digest a tag points at in the destination, if any. */
  tagged(tag: string, signal: AbortSignal): Promise<string | undefined>;
  hasBlob(digest: string, signal: AbortSignal): Promise<boolean>;
  /** Make the destination hold the blob: link or mount it when possible, send the bytes otherwise. Returns the bytes sent. */
  copyBlob(digest: string, size: number, open: () => Promise<Readable>, signal: AbortSignal): Promise<number>;
  /** Store a manifest under its digest or a tag. Throws ReplicationFailure; `tagImmutable: true` when the tag may not move there. */
  putManifest(ref: string, body: Buffer, mediaType: string, signal: AbortSignal): Promise<{ tagImmutable?: boolean }>;
}

/** What one copy did. */
export interface CopyReport {
  manifestsSent: number;
  blobsSent: number;
  /** Blobs the destination repository had already. */
  blobsSkipped: number;
  /** Blobs linked from another repository of the destination account, without sending them. */
  blobsMounted: number;
  bytesSent: number;
  /** The tag was not moved because the destination repository keeps it immutably on another image. */
  tagDropped: boolean;
}

/** Blobs of one manifest copied at once (skopeo copies several layers in parallel too). */
const BLOB_CONCURRENCY = 4;

/**
 * Copy one image of `source` to `target`: children of an index first, then for each manifest its
 * blobs (asking the destination first and skipping or mounting what it has), then the manifest by
 * digest, and last the tag, so the destination never shows a tag whose content is incomplete.
 * Idempotent: a copy cut anywhere and run again only sends what is still missing.
 */
export async function copyImage(
  deps: { registry: Registry; blobs: BlobStore },
  source: Repository,
  digest: Digest,
  tag: string | undefined,
  target: CopyTarget,
  signal: AbortSignal,
): Promise<CopyReport> {
  const report: CopyReport = { manifestsSent: 0, blobsSent: 0, blobsSkipped: 0, blobsMounted: 0, bytesSent: 0, tagDropped: false };
  const root = await sourceManifest(deps.registry, source, digest);
  // An archived image is not pullable, so not copied (ECR replicates neither archives nor archived images).
  if (root.imageStatus !== 'ACTIVE') {
    throw new ReplicationFailure('SOURCE_IMAGE_ARCHIVED', `image ${digest} of ${source.accountId}/${source.name} is ${root.imageStatus}; restore it to replicate it`, true);
  }
  // Every manifest of the image, so the destination knows all of them came by replication.
  const all = new Map<string, { body: Buffer; mediaType: string }>([[digest, root]]);
  const pending = [root];
  while (pending.length > 0) {
    const m = pending.pop()!;
    for (const child of parseManifest(m.body, m.mediaType).children) {
      if (all.has(child.digest)) continue;
      const row = await sourceManifest(deps.registry, source, child.digest);
      all.set(child.digest, row);
      pending.push(row);
    }
  }
  await target.prepare([...all.keys()], signal);

  const copied = new Set<string>();
  const copyManifest = async (d: string): Promise<void> => {
    if (copied.has(d)) return;
    copied.add(d);
    if (await target.hasManifest(d, signal)) return;
    const m = all.get(d)!;
    const parsed = parseManifest(m.body, m.mediaType);
    // The platform images of the index that is copied: each is tried, and those that fail are
    // reported together (`subImageFailureCodes`); the index itself is then not put.
    const failed: ReplicationFailure[] = [];
    for (const child of parsed.children) {
      try {
        await copyManifest(child.digest);
      } catch (err) {
        if (d !== digest || !(err instanceof ReplicationFailure) || signal.aborted) throw err;
        failed.push(err);
      }
    }
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new ReplicationFailure(first.code, `${failed.length} of ${parsed.children.length} images of index ${d} failed; the first: ${first.message}`, failed.every((f) => f.permanent), {
        cause: first,
        subImageFailureCodes: failed.map((f) => f.code),
      });
    }
    const queue = [...new Map(parsed.blobs.map((b) => [b.digest, b])).values()];
    const worker = async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        signal.throwIfAborted();
        if (await target.hasBlob(b.digest, signal)) {
          report.blobsSkipped++;
          continue;
        }
        const blobDigest = b.digest;
        const sent = await target.copyBlob(blobDigest, b.size, async () => {
          // Only a blob the source repository holds is read, as a pull through it would be.
          await deps.registry.statBlob(source, blobDigest).catch((err: unknown) => {
            if (!isBerthError(err, 'BLOB_NOT_FOUND')) throw err;
            throw new ReplicationFailure('SOURCE_IMAGE_NOT_FOUND', `blob ${blobDigest} of manifest ${d} is no longer in ${source.accountId}/${source.name}`, true, { cause: err });
          });
          return deps.blobs.open(blobDigest, { signal });
        }, signal);
        if (sent > 0) report.blobsSent++;
        else report.blobsMounted++;
        report.bytesSent += sent;
      }
    };
    await Promise.all(Array.from({ length: Math.min(BLOB_CONCURRENCY, queue.length) }, worker));
    await target.putManifest(d, m.body, m.mediaType, signal);
    report.manifestsSent++;
  };
  await copyManifest(digest);

  if (tag !== undefined && (await target.tagged(tag, signal)) !== digest) {
    // A tag that moved on at the source since this copy was queued is left to the newer copy, so
    // copies that finish out of order cannot move the destination's tag backwards.
    const now = await deps.registry.getManifest(source, { kind: 'tag', tag: parseTag(tag) }).catch(() => undefined);
    if (now?.digest === digest) {
      const put = await target.putManifest(tag, root.body, root.mediaType, signal);
      report.tagDropped = put.tagImmutable === true;
    }
  }
  return report;
}

async function sourceManifest(registry: Registry, repo: Repository, digest: string): Promise<{ body: Buffer; mediaType: string; imageStatus: string }> {
  try {
    const row = await registry.getManifest(repo, { kind: 'digest', digest: digest as Digest });
    return { body: row.body, mediaType: row.mediaType, imageStatus: row.imageStatus ?? 'ACTIVE' };
  } catch (err) {
    if (isBerthError(err, 'MANIFEST_NOT_FOUND')) {
      throw new ReplicationFailure('SOURCE_IMAGE_NOT_FOUND', `manifest ${digest} is no longer in ${repo.accountId}/${repo.name}`, true);
    }
    throw err;
  }
}
