import type { Readable } from 'node:stream';
import { BerthError, MANIFEST_MEDIA_TYPES, parseManifestRef, type Digest } from '../core/index.js';
import type { ManifestRow } from '../storage/metadata/index.js';
import { cacheAccess, openRepository, type OciCall } from './context.js';
import { unsupported } from './blobs.js';
import type { RepoTarget } from './route.js';

/** GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (distribution-spec v1.1). */
export async function handleManifest(call: OciCall, target: RepoTarget, reference: string): Promise<void> {
  const { req, reply, deps } = call;
  const ref = parseManifestRef(reference);
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      // Under a pull-through cache rule, a miss (or a stale tag) is fetched from the upstream first.
      await deps.pullThrough?.ensureManifest(cacheAccess(call, target), target.accountId, target.name, ref);
      const repo = await openRepository(call, target, 'ecr:BatchGetImage');
      const row = await deps.registry.getManifest(repo, ref);
      // An archived image (or one being restored) is listed by ECR but not pullable: 404 (src/lifecycle/).
      if (row.imageStatus !== undefined && row.imageStatus !== 'ACTIVE') {
        throw new BerthError('MANIFEST_NOT_FOUND', `manifest ${row.digest} is ${row.imageStatus}; restore it with UpdateImageStorageClass before pulling it`, {
          digest: row.digest,
          imageStatus: row.imageStatus,
        });
      }
      negotiate(row, req.headers.accept);
      reply
        .code(200)
        .header('Content-Type', row.mediaType)
        .header('Content-Length', String(row.size))
        .header('Docker-Content-Digest', row.digest)
        .header('ETag', `"${row.digest}"`);
      if (req.method === 'HEAD') return reply.send() as unknown as void;
      // A GET is a pull (ECR lastRecordedPullTime); a HEAD only checks, as docker does before pulling.
      deps.registry.recordPull(repo, row.digest as Digest, call.principal.arn);
      return reply.send(row.body) as unknown as void;
    }
    case 'PUT': {
      const repo = await openRepository(call, target, 'ecr:PutImage', { forPush: true });
      const limit = maxBytes(call);
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > limit) {
        throw new BerthError('MANIFEST_TOO_LARGE', `manifest is ${declared} bytes; the limit is ${limit}`, { limit });
      }
      const body = await readBody(req.raw, limit);
      const result = await deps.registry.putManifest(repo, ref, body, req.headers['content-type']);
      reply
        .code(201)
        .header('Location', `/v2/${target.pathName}/manifests/${result.digest}`)
        .header('Docker-Content-Digest', result.digest)
        .header('Content-Length', '0');
      if (result.subject) reply.header('OCI-Subject', result.subject);
      return reply.send() as unknown as void;
    }
    case 'DELETE': {
      const repo = await openRepository(call, target, 'ecr:BatchDeleteImage');
      await deps.registry.deleteManifest(repo, ref);
      return reply.code(202).header('Content-Length', '0').send() as unknown as void;
    }
    default:
      throw unsupported(req.method);
  }
}

function maxBytes(call: OciCall): number {
  return call.deps.maxManifestBytes;
}

/**
 * Content negotiation: a client that lists manifest media types in `Accept` and not the stored
 * one gets MANIFEST_UNKNOWN rather than a body it cannot parse. berth never converts manifests:
 * conversion would change the digest that the client asked for.
 */
function negotiate(row: ManifestRow, accept: string | undefined): void {
  if (!accept) return;
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  if (types.some((t) => t === '*/*' || t === 'application/*' || t === row.mediaType || t === 'application/json')) return;
  if (!types.some((t) => MANIFEST_MEDIA_TYPES.includes(t))) return;
  throw new BerthError('MANIFEST_NOT_ACCEPTABLE', `manifest ${row.digest as Digest} is ${row.mediaType}, which the Accept header does not list`, {
    mediaType: row.mediaType,
  });
}

async function readBody(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BerthError('MANIFEST_TOO_LARGE', `manifest is over the ${limit}-byte limit`, { limit });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
