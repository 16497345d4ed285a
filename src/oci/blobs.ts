import { parseDigest, BerthError } from '../core/index.js';
import { openRepository, type OciCall } from './context.js';
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
    const { size } = await deps.registry.statBlob(repo, digest);
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
  const read = await deps.registry.openBlob(repo, digest, { ...(range ? { range } : {}) });
  reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', digest)
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${digest}"`)
    // Content-addressed: the bytes behind a digest never change.
    .header('Cache-Control', 'max-age=31536000, immutable');
  if (read.range) {
    reply
      .code(206)
      .header('Content-Range', `bytes ${read.range.start}-${read.range.end}/${read.size}`)
      .header('Content-Length', String(read.range.end - read.range.start + 1));
  } else {
    reply.code(200).header('Content-Length', String(read.size));
  }
  return reply.send(read.stream) as unknown as void;
}

/** `Range: bytes=a-b`, `bytes=a-` or `bytes=-n`; one range only. Anything else is ignored (RFC 9110 14.2). */
function parseRangeHeader(value: string | undefined): { start?: number; end?: number } | undefined {
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
