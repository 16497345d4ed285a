import type { FastifyReply } from 'fastify';
import { parseDigest, BerthError, isBerthError } from '../core/index.js';
import type { BlobReader } from '../registry/index.js';
import { cacheAccess, openRepository, type OciCall } from './context.js';
import type { RepoTarget } from './route.js';

/** GET/HEAD/DELETE /v2/<name>/blobs/<digest> (distribution-spec v1.1, "Pulling blobs", "Deleting blobs"). */
export async function handleBlob(call: OciCall, target: RepoTarget, reference: string): Promise<void> {
  const { req, reply, deps } = call;
  const digest = parseDigest(reference);
  if (req.method === 'DELETE') {
    const repo = await openRepository(call, target, 'ecr:BatchDeleteImage');
    await deps.registry.deleteBlob(repo, digest);
    reply.code(202).header('Content-Length', '0').send();
    return;
  }
  if (req.method === 'HEAD') {
    const repo = await openRepository(call, target, 'ecr:BatchCheckLayerAvailability');
    const { size } = await deps.registry.statBlob(repo, digest).catch(async (err: unknown) => {
      // A layer of a pull-through cache image that is not fetched yet.
      const cached = isBerthError(err, 'BLOB_NOT_FOUND') ? await deps.pullThrough?.statBlob(cacheAccess(call, target), repo, digest) : undefined;
      if (!cached) throw err;
      return cached;
    });
    reply
      .code(200)
      .header('Content-Length', String(size))
      .header('Content-Type', 'application/octet-stream')
      .header('Docker-Content-Digest', digest)
      .header('Accept-Ranges', 'bytes')
      .header('ETag', `"${digest}"`)
      .send();
    return;
  }
  if (req.method !== 'GET') throw unsupported(req.method);
  const repo = await openRepository(call, target, 'ecr:GetDownloadUrlForLayer');
  const range = parseRangeHeader(req.headers.range);
  const read = await deps.registry.blobReader(repo, digest, { ...(range ? { range } : {}) }).catch(async (err: unknown) => {
    // A layer of a pull-through cache image that is not fetched yet: streamed as it is fetched.
    const filled = isBerthError(err, 'BLOB_NOT_FOUND') ? await deps.pullThrough?.openBlob(cacheAccess(call, target), repo, digest, { ...(range ? { range } : {}) }) : undefined;
    if (!filled) throw err;
    return filled;
  });
  // Content-addressed: the bytes behind a digest never change.
  await sendBlob(reply, digest, read, 'max-age=31536000, immutable');
}

/** A blob response: 200 or 206 with the range, the digest headers, then the bytes (see sendBody). */
export async function sendBlob(reply: FastifyReply, digest: string, read: BlobReader, cacheControl: string): Promise<void> {
  if (read.location) {
    // BERTH_S3_REDIRECT: the client fetches the bytes from the bucket (as ECR redirects to S3).
    reply.code(307).header('Location', read.location).header('Docker-Content-Digest', digest).header('Cache-Control', 'no-store').send();
    return;
  }
  reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', digest)
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${digest}"`)
    .header('Cache-Control', cacheControl);
  if (read.range) {
    reply
      .code(206)
      .header('Content-Range', `bytes ${read.range.start}-${read.range.end}/${read.size}`)
      .header('Content-Length', String(read.range.end - read.range.start + 1));
  } else {
    reply.code(200).header('Content-Length', String(read.size));
  }
  await sendBody(reply, read.writeTo);
}

const BLOB_HEADERS = ['content-type', 'content-length', 'content-range', 'docker-content-digest', 'accept-ranges', 'etag', 'cache-control'];

/**
 * Write a blob straight to the socket with the store's reusable buffers (BlobStore.writeTo): each
 * chunk's write callback releases its buffer. The reply is hijacked with the first chunk, so
 * nothing else writes to it; a failure before it (the file is gone: garbage collection removed
 * the blob since its row was read, or fsck moved a damaged file aside) is still answered by the
 * door's error handler, and a failure after the headers can only end the connection, which the
 * client sees as a short body.
 */
async function sendBody(reply: FastifyReply, writeTo: BlobReader['writeTo']): Promise<void> {
  const aborted = new AbortController();
  const onClose = () => aborted.abort();
  let res: FastifyReply['raw'] | undefined;
  const start = () => {
    reply.hijack();
    res = reply.raw;
    res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
    res.on('close', onClose);
    return res;
  };
  try {
    await writeTo((chunk) => {
      const out = res ?? start();
      return new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
    }, aborted.signal);
  } catch (err) {
    if (!res) {
      // Nothing was sent: the error response must not carry the blob's headers.
      for (const name of BLOB_HEADERS) reply.removeHeader(name);
      throw err;
    }
    if (!aborted.signal.aborted) reply.log.error({ err }, 'blob download failed');
    res.destroy();
    return;
  } finally {
    res?.off('close', onClose);
  }
  (res ?? start()).end();
}

/** `Range: bytes=a-b`, `bytes=a-` or `bytes=-n`; one range only. Anything else is ignored (RFC 9110 14.2). */
export function parseRangeHeader(value: string | undefined): { start?: number; end?: number } | undefined {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  return {
    ...(m[1] !== '' ? { start: Number(m[1]) } : {}),
    ...(m[2] !== '' ? { end: Number(m[2]) } : {}),
  };
}

export function unsupported(method: string): BerthError {
  return new BerthError('UNSUPPORTED', `method ${method} is not supported on this endpoint`);
}
