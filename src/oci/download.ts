import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OciDeps } from './context.js';
import { parseRangeHeader } from './blobs.js';

/**
 * GET /_berth/blobs/<digest>?account=&repository=&expires=&signature= : a blob by the URL that ECR
 * GetDownloadUrlForLayer handed out. No credentials: the signature is the permission, checked by
 * the registry before anything is looked up (an invalid, altered or expired URL is 403 DENIED).
 * Range requests work as on /v2/<name>/blobs/<digest>. The query is a secret while the URL lives;
 * berth's access log writes the path only.
 */
export async function handleDownload(req: FastifyRequest, reply: FastifyReply, deps: OciDeps, rawDigest: string): Promise<void> {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const range = parseRangeHeader(req.headers.range);
  const read = await deps.registry.openDownload(rawDigest, query, { ...(range ? { range } : {}) });
  reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', read.digest)
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${read.digest}"`)
    // The URL carries a credential: keep it out of shared caches and of Referer headers.
    .header('Cache-Control', 'private, no-store')
    .header('Referrer-Policy', 'no-referrer');
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
