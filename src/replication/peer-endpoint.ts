import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BerthError, parseAccountId, parseDigest, parseManifestRef, parseRepositoryName, type RepositoryName } from '../core/index.js';
import type { Authenticator, Authorizer, Principal } from '../iam/index.js';
import type { Repository } from '../registry/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { admitReplication, type AdmissionDeps } from './admission.js';
import { ReplicationFailure } from './copier.js';
import { ReplicationStore } from './store.js';

/** Where a peer sends replicated images: `<prefix>/<source account>/prepare` and an OCI subset under `<prefix>/<source account>/v2/`. */
export const PEER_PREFIX = '/_berth/replication/v1/from';

/** What the source tells a peer before copying an image (the body of `.../prepare`). */
export interface PrepareRequest {
  sourceRegion: string;
  registryId: string;
  repositoryName: string;
  digests: string[];
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface PeerEndpointDeps extends AdmissionDeps {
  readonly auth: Authenticator;
  readonly authorizer: Authorizer;
  readonly meta: MetadataStore;
  /** This deployment's default (operator) account: its principals allowed ecr:ReplicateImage act as the replication service. */
  readonly operatorAccount: string;
}

/**
 * The destination side of cross-region replication (docs/replication.md, "Between deployments").
 * A peer pushes with the credentials it was configured with (HTTP Basic: access key id and secret,
 * or a GetAuthorizationToken password) to `/_berth/replication/v1/from/<source account>/`:
 *
 * - `POST .../prepare` with `{sourceRegion, registryId, repositoryName, digests}`: decide, create
 *   the repository when missing (creation templates, REPLICATION), note the digests as replicated
 *   (so this deployment's own rules do not send them on: no chaining);
 * - `.../v2/<account>/<repository>/...`: the part of the OCI distribution API a push uses (blob
 *   HEAD, upload POST (with `?mount=`) and PUT, manifest HEAD, GET and PUT), so the ordinary
 *   registry client pushes.
 *
 * Who may: a source account's images go into account D when
 * - D is the source account and the caller may `ecr:ReplicateImage` on the repository as any
 *   request of D is decided (D's own keys), or the caller is this deployment's replication
 *   service (a principal of the operator account allowed `ecr:ReplicateImage`); or
 * - D is another account, the caller is the replication service, and D's registry policy allows
 *   the source account `ecr:ReplicateImage` (and `ecr:CreateRepository` for a new repository),
 *   as ECR decides cross-account replication.
 * Refusals answer 403 with `{failureCode, message}` (REGISTRY_POLICY_DENIED,
 * DESTINATION_ACCESS_DENIED); bad credentials 401 with a Basic challenge.
 */
export function registerPeerEndpoint(server: FastifyInstance, deps: PeerEndpointDeps): void {
  void server.register(async (app) => {
    // Bodies are streamed (blobs) or read here with a limit (manifests, prepare).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    app.route({
      method: ['HEAD', 'GET', 'POST', 'PUT', 'DELETE'],
      url: `${PEER_PREFIX}/*`,
      handler: async (req, reply) => {
        try {
          await handle(deps, req.method, req.url, req.headers, req.raw, reply);
        } catch (err) {
          if (reply.sent) return;
          if (err instanceof ReplicationFailure) return answer(reply, err.permanent ? 403 : 503, { failureCode: err.code, message: err.message });
          if (err instanceof BerthError) {
            const status = ERROR_STATUS[err.code] ?? 400;
            if (status === 401) reply.header('www-authenticate', 'Basic realm="berth replication"');
            return answer(reply, status, { errors: [{ code: err.code, message: err.message }] });
          }
          req.log.error({ err }, 'replication endpoint failed');
          return answer(reply, 500, { errors: [{ code: 'UNKNOWN', message: 'internal error' }] });
        }
      },
    });
  });
}

const ERROR_STATUS: Partial<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  ACCESS_DENIED: 403,
  REPOSITORY_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  MANIFEST_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  TAG_IMMUTABLE: 400,
  LIMIT_EXCEEDED: 403,
};
/** OCI-style codes for what the registry client reads in a refusal. */
const OCI_CODE: Partial<Record<string, string>> = { TAG_IMMUTABLE: 'TAG_INVALID', MANIFEST_BLOB_UNKNOWN: 'MANIFEST_BLOB_UNKNOWN' };

function answer(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  if (Array.isArray(body['errors'])) {
    for (const e of body['errors'] as { code: string }[]) e.code = OCI_CODE[e.code] ?? e.code;
  }
  return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
}

async function handle(
  deps: PeerEndpointDeps,
  method: string,
  url: string,
  headers: IncomingMessage['headers'],
  raw: IncomingMessage,
  reply: FastifyReply,
): Promise<unknown> {
  const [path, query = ''] = url.slice(PEER_PREFIX.length + 1).split('?', 2) as [string, string?];
  const slash = path.indexOf('/');
  const source = slash > 0 ? path.slice(0, slash) : '';
  const rest = slash > 0 ? path.slice(slash + 1) : '';
  if (!/^[0-9]{12}$/.test(source)) throw new BerthError('NAME_INVALID', 'expected /_berth/replication/v1/from/<source account>/...');
  const principal = await deps.auth.authenticate(headers.authorization);

  if (rest === 'prepare' && method === 'POST') {
    const body = parsePrepare(await readBody(raw, 1024 * 1024));
    if (!body) throw new BerthError('INVALID_PARAMETER', 'expected {sourceRegion, registryId, repositoryName, digests}');
    const repository = parseName(body.repositoryName);
    await mayReplicate(deps, principal, source, body.registryId, repository);
    const now = Date.now();
    const { created } = await admitReplication(deps, { sourceAccount: source, destinationAccount: body.registryId, repository, now });
    await new ReplicationStore(deps.meta).markInbound(body.registryId, repository, body.digests, now);
    return answer(reply, 200, { repositoryCreated: created });
  }

  const m = /^v2\/([0-9]{12})\/(.+)\/(blobs\/uploads\/[0-9a-f-]*|blobs|manifests)(?:\/([^/]+))?$/.exec(rest);
  if (!m) throw new BerthError('NAME_INVALID', `no such replication endpoint: ${method} ${rest.slice(0, 200)}`);
  const [, account, rawName, kind, ref] = m as unknown as [string, string, string, string, string | undefined];
  const name = parseName(rawName);
  await mayReplicate(deps, principal, source, account, name);
  if (source !== account) {
    // The destination's registry policy is asked again on every write: removing the permission stops replication.
    await admitReplication(deps, { sourceAccount: source, destinationAccount: account, repository: name, now: Date.now(), create: false });
  }
  const repo: Repository = await deps.registry.repository(parseAccountId(account), name);
  const base = `${PEER_PREFIX}/${source}/v2/${account}/${name}`;

  if (kind === 'blobs' && ref && method === 'HEAD') {
    const { size } = await deps.registry.statBlob(repo, parseDigest(ref));
    return reply.code(200).header('content-length', String(size)).header('docker-content-digest', ref).send();
  }
  if (kind === 'blobs/uploads/' && !ref && method === 'POST') {
    const mount = new URLSearchParams(query).get('mount');
    if (mount !== null) {
      // Link a blob another repository of the same account holds, whatever `from` says: the
      // source cannot know the destination's repositories, and within one registry ECR mounts too.
      const digest = parseDigest(mount);
      const holder = await new ReplicationStore(deps.meta).repositoryHolding(account, digest);
      const row = holder !== undefined ? await deps.meta.repositories.getById(holder) : undefined;
      const from = row ? { accountId: parseAccountId(row.accountId), name: parseRepositoryName(row.name), row } : undefined;
      if (from && (await deps.registry.mountBlob(repo, from, digest))) {
        return reply.code(201).header('location', `${base}/blobs/${digest}`).header('docker-content-digest', digest).header('content-length', '0').send();
      }
      // Not here: the client uploads it (no session is opened for a mount that did not happen).
      return reply.code(202).header('content-length', '0').send();
    }
    const id = await deps.registry.startUpload(repo);
    return reply.code(202).header('location', `${base}/blobs/uploads/${id}`).header('content-length', '0').send();
  }
  if (kind.startsWith('blobs/uploads/') && method === 'PUT') {
    const id = kind.slice('blobs/uploads/'.length);
    const digest = parseDigest(new URLSearchParams(query).get('digest') ?? '');
    const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
    try {
      await deps.registry.appendUpload(repo, id, raw, { offset: 0, ...(length !== undefined ? { length } : {}) });
      await deps.registry.completeUpload(repo, id, digest);
    } catch (err) {
      await deps.registry.cancelUpload(repo, id).catch(() => undefined);
      throw err;
    }
    return reply.code(201).header('location', `${base}/blobs/${digest}`).header('docker-content-digest', digest).header('content-length', '0').send();
  }
  if (kind.startsWith('blobs/uploads/') && method === 'DELETE') {
    await deps.registry.cancelUpload(repo, kind.slice('blobs/uploads/'.length));
    return reply.code(204).send();
  }
  if (kind === 'manifests' && ref && (method === 'HEAD' || method === 'GET')) {
    const row = await deps.registry.getManifest(repo, parseManifestRef(ref));
    reply.code(200).header('content-type', row.mediaType).header('docker-content-digest', row.digest).header('content-length', String(row.size));
    return method === 'HEAD' ? reply.send() : reply.send(row.body);
  }
  if (kind === 'manifests' && ref && method === 'PUT') {
    const body = await readBody(raw, MAX_MANIFEST_BYTES);
    const result = await deps.registry.putManifest(repo, parseManifestRef(ref), body, headers['content-type']);
    return reply.code(201).header('location', `${base}/manifests/${result.digest}`).header('docker-content-digest', result.digest).header('content-length', '0').send();
  }
  throw new BerthError('UNSUPPORTED', `no such replication endpoint: ${method} ${rest.slice(0, 200)}`);
}

/** Whether the caller may replicate `source`'s images into `account` (see registerPeerEndpoint). Throws ReplicationFailure. */
async function mayReplicate(deps: PeerEndpointDeps, principal: Principal, source: string, account: string, repository: RepositoryName): Promise<void> {
  const service =
    principal.accountId === deps.operatorAccount &&
    (await deps.authorizer.decide(principal, 'ecr:ReplicateImage', { accountId: principal.accountId })).decision.effect === 'Allow';
  if (service) return;
  if (source === account && principal.accountId === account) {
    const { decision } = await deps.authorizer.decide(principal, 'ecr:ReplicateImage', { accountId: account, repositoryName: repository });
    if (decision.effect === 'Allow') return;
    throw new ReplicationFailure('DESTINATION_ACCESS_DENIED', `${principal.arn} may not replicate into ${account}/${repository}: ${decision.reason}`, true);
  }
  throw new ReplicationFailure(
    'DESTINATION_ACCESS_DENIED',
    `${principal.arn} is not this deployment's replication service (a principal of account ${deps.operatorAccount} allowed ecr:ReplicateImage), so it may not replicate account ${source}'s images into ${account}`,
    true,
  );
}

function parseName(raw: string): RepositoryName {
  try {
    return parseRepositoryName(raw);
  } catch {
    throw new BerthError('NAME_INVALID', `invalid repository name ${raw.slice(0, 256)}`);
  }
}

async function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BerthError('MANIFEST_TOO_LARGE', `body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parsePrepare(buf: Buffer): PrepareRequest | undefined {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof b !== 'object' || b === null) return undefined;
  if (typeof b['registryId'] !== 'string' || !/^[0-9]{12}$/.test(b['registryId'])) return undefined;
  if (typeof b['sourceRegion'] !== 'string' || typeof b['repositoryName'] !== 'string') return undefined;
  const digests = b['digests'];
  if (!Array.isArray(digests) || digests.length > 1000 || !digests.every((d) => typeof d === 'string' && /^[a-z0-9]+:[a-f0-9]{32,128}$/.test(d))) return undefined;
  return { sourceRegion: b['sourceRegion'], registryId: b['registryId'], repositoryName: b['repositoryName'], digests: digests as string[] };
}
