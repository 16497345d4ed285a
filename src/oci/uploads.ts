import { BerthError, parseDigest, parseRepositoryName, isAccountId, type AccountId } from '../core/index.js';
import { authorize, openRepository, type OciCall } from './context.js';
import { unsupported } from './blobs.js';
import { uploadRange } from './errors.js';
import type { RepoTarget } from './route.js';

/**
 * POST /v2/<name>/blobs/uploads/ (distribution-spec v1.1, "Pushing blobs"): a monolithic upload
 * with `?digest=`, a cross-repository mount with `?mount=&from=`, or a new upload session.
 */
export async function handleUploadStart(call: OciCall, target: RepoTarget): Promise<void> {
  const { req, reply, deps, query } = call;
  if (req.method !== 'POST') throw unsupported(req.method);
  const repo = await openRepository(call, target, 'ecr:InitiateLayerUpload', { forPush: true });
  const mount = query.get('mount');
  const digestParam = query.get('digest');

  if (mount !== null) {
    const digest = parseDigest(mount);
    const from = query.get('from');
    // The registry's BLOB_MOUNTING account setting decides whether a mount is attempted at all
    // (ECR user guide, "Blob mounting in Amazon ECR"); when it is DISABLED the client gets a session.
    const canMount = from !== null && (await deps.settings.isBlobMountingEnabled(repo.accountId));
    const mounted = canMount ? await tryMount(call, target, repo, from, digest) : undefined;
    if (mounted) {
      reply.code(201).header('Location', `/v2/${target.pathName}/blobs/${digest}`).header('Docker-Content-Digest', digest).header('Content-Length', '0').send();
      return;
    }
    // Not mountable (mounting disabled, unknown source, no access, another registry, different
    // encryption, or no such blob there): the spec's fallback is a new session.
  } else if (digestParam !== null) {
    const digest = parseDigest(digestParam);
    await deps.registry.putBlob(repo, digest, req.raw, { ...contentLength(req.headers['content-length']) });
    reply.code(201).header('Location', `/v2/${target.pathName}/blobs/${digest}`).header('Docker-Content-Digest', digest).header('Content-Length', '0').send();
    return;
  }
  const id = await deps.registry.startUpload(repo);
  reply
    .code(202)
    .header('Location', `/v2/${target.pathName}/blobs/uploads/${id}`)
    .header('Docker-Upload-UUID', id)
    .header('Range', uploadRange(0))
    .header('Content-Length', '0')
    .send();
}

async function tryMount(call: OciCall, target: RepoTarget, repo: Awaited<ReturnType<typeof openRepository>>, from: string, digest: ReturnType<typeof parseDigest>) {
  try {
    const source = parseSource(from, target.accountId);
    // ECR mounts only within one registry, and only between repositories with identical encryption.
    if (source.accountId !== repo.accountId) return undefined;
    const sourceRepo = await openRepository(call, { ...source, pathName: from }, 'ecr:BatchGetImage');
    await authorize(call, 'ecr:GetDownloadUrlForLayer', { accountId: source.accountId, repositoryName: source.name });
    if (sourceRepo.row.encryptionType !== repo.row.encryptionType || sourceRepo.row.kmsKey !== repo.row.kmsKey) return undefined;
    return await call.deps.registry.mountBlob(repo, sourceRepo, digest);
  } catch (err) {
    if (err instanceof BerthError && err.code !== 'INTERNAL') return undefined;
    throw err;
  }
}

/** `from` names a repository the way a path does: `<12 digits>/<name>` for another account, else the target's account. */
function parseSource(from: string, defaultAccount: AccountId) {
  const slash = from.indexOf('/');
  const first = slash > 0 ? from.slice(0, slash) : '';
  if (isAccountId(first)) return { accountId: first, name: parseRepositoryName(from.slice(slash + 1)) };
  return { accountId: defaultAccount, name: parseRepositoryName(from) };
}

/** GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>: status, chunk, close, cancel. */
export async function handleUpload(call: OciCall, target: RepoTarget, id: string): Promise<void> {
  const { req, reply, deps, query } = call;
  const location = `/v2/${target.pathName}/blobs/uploads/${id}`;
  switch (req.method) {
    case 'GET': {
      const repo = await openRepository(call, target, 'ecr:UploadLayerPart');
      const { size } = await deps.registry.uploadStatus(repo, id);
      reply.code(204).header('Location', location).header('Range', uploadRange(size)).header('Docker-Upload-UUID', id).send();
      return;
    }
    case 'PATCH': {
      const repo = await openRepository(call, target, 'ecr:UploadLayerPart');
      const length = contentLength(req.headers['content-length']);
      const range = parseContentRange(req.headers['content-range']);
      if (range && length.length !== undefined && range.end - range.start + 1 !== length.length) {
        throw new BerthError('SIZE_INVALID', `Content-Range covers ${range.end - range.start + 1} bytes but Content-Length is ${length.length}`);
      }
      const { size } = await deps.registry.appendUpload(repo, id, req.raw, {
        ...(range ? { offset: range.start, length: range.end - range.start + 1 } : {}),
        ...length,
      });
      reply.code(202).header('Location', location).header('Range', uploadRange(size)).header('Docker-Upload-UUID', id).header('Content-Length', '0').send();
      return;
    }
    case 'PUT': {
      const repo = await openRepository(call, target, 'ecr:CompleteLayerUpload');
      const raw = query.get('digest');
      if (raw === null) throw new BerthError('DIGEST_INVALID', 'closing an upload needs ?digest=<digest of the whole blob>');
      const digest = parseDigest(raw);
      const length = contentLength(req.headers['content-length']);
      const hasBody = length.length === undefined ? req.headers['transfer-encoding'] !== undefined : length.length > 0;
      if (hasBody) await deps.registry.appendUpload(repo, id, req.raw, length);
      await deps.registry.completeUpload(repo, id, digest);
      reply.code(201).header('Location', `/v2/${target.pathName}/blobs/${digest}`).header('Docker-Content-Digest', digest).header('Content-Length', '0').send();
      return;
    }
    case 'DELETE': {
      const repo = await openRepository(call, target, 'ecr:UploadLayerPart');
      await deps.registry.cancelUpload(repo, id);
      reply.code(204).send();
      return;
    }
    default:
      throw unsupported(req.method);
  }
}

function contentLength(value: string | undefined): { length?: number } {
  if (value === undefined) return {};
  if (!/^\d{1,15}$/.test(value)) throw new BerthError('SIZE_INVALID', 'Content-Length must be a whole number');
  return { length: Number(value) };
}

/** Chunk ranges are written `<start>-<end>`, inclusive (distribution-spec v1.1, chunked upload). */
function parseContentRange(value: string | undefined): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (!m) throw new BerthError('UPLOAD_INVALID', `Content-Range "${value.slice(0, 60)}" is not of the form <start>-<end>`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new BerthError('UPLOAD_INVALID', 'Content-Range end is before its start');
  return { start, end };
}
