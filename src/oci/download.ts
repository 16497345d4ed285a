import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OciDeps } from './context.js';
import { parseRangeHeader, sendBlob } from './blobs.js';

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
  // The URL carries a credential: keep it out of shared caches and of Referer headers.
  reply.header('Referrer-Policy', 'no-referrer');
  await sendBlob(reply, read.digest, read, 'private, no-store');
}
