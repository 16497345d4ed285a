import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, requestContextOf, type CallFacts } from '../core/index.js';
import type { Principal } from '../iam/index.js';
import { BLOB_DOWNLOAD_PREFIX } from '../registry/index.js';
import { handleBlob } from './blobs.js';
import type { OciCall, OciDeps } from './context.js';
import { sendOciError } from './errors.js';
import { handleDownload } from './download.js';
import { handleCatalog, handleReferrers, handleTags } from './listing.js';
import { handleManifest } from './manifests.js';
import { parseOciPath, type OciRoute } from './route.js';
import { handleUpload, handleUploadStart } from './uploads.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The ECR operation whose rate quota an OCI request counts against: a `docker push` or `pull`
 * uses ECR's quotas as the JSON calls do (ECR service quotas name the Docker actions beside them).
 */
function rateLimitedOperation(kind: string, method: string): string | undefined {
  switch (`${kind} ${method}`) {
    case 'uploads POST':
      return 'InitiateLayerUpload';
    case 'upload PATCH':
      return 'UploadLayerPart';
    case 'upload PUT':
      return 'CompleteLayerUpload';
    case 'blob HEAD':
      return 'BatchCheckLayerAvailability';
    case 'blob GET':
      return 'GetDownloadUrlForLayer';
    case 'manifest GET':
    case 'manifest HEAD':
      return 'BatchGetImage';
    case 'manifest PUT':
      return 'PutImage';
    default:
      return undefined;
  }
}

/** The ECR operation an OCI request is (for metrics and the audit trail), as CloudTrail names a `docker` push or pull. */
function operationOf(kind: string, method: string): string {
  switch (`${kind} ${method}`) {
    case 'base GET':
    case 'base HEAD':
      return 'Ping';
    case 'catalog GET':
      return 'DescribeRepositories';
    case 'tags GET':
      return 'ListImages';
    case 'referrers GET':
      return 'ListImageReferrers';
    case 'upload GET':
      return 'GetUploadStatus';
    case 'upload DELETE':
      return 'CancelLayerUpload';
    case 'blob DELETE':
      return 'DeleteBlob';
    case 'manifest DELETE':
      return 'BatchDeleteImage';
    default:
      return rateLimitedOperation(kind, method) ?? `${kind} ${method}`;
  }
}

/** Tell the request's context who called and what about, once known. */
function noteCall(call: CallFacts, principal: Principal, route: OciRoute | undefined, method: string): void {
  call.principal = principal;
  if (!route) return;
  call.operation = operationOf(route.kind, method);
  if ('target' in route) {
    call.repository = { accountId: route.target.accountId, name: route.target.name };
    const params: Record<string, unknown> = { registryId: route.target.accountId, repositoryName: route.target.name };
    if (route.kind === 'manifest' || route.kind === 'referrers') {
      if (route.reference.includes(':')) params['imageDigest'] = route.reference;
      else params['imageTag'] = route.reference;
    } else if (route.kind === 'blob') params['layerDigest'] = route.reference;
    else if (route.kind === 'upload') params['uploadId'] = route.id;
    call.params = params;
  }
}

/**
 * The OCI Distribution API (distribution-spec v1.1) under `/v2/`. One wildcard route: repository
 * names contain slashes, so the path is split by `parseOciPath` rather than by the router.
 * Bodies are never parsed by Fastify here: blobs stream straight to storage and manifests are read
 * as bytes, because their digest is over the exact bytes received.
 */
export async function ociPlugin(app: FastifyInstance, deps: OciDeps): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.setErrorHandler((err, _req, reply) => sendOciError(reply, err));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const request = requestContextOf(req.raw);
    const call = request?.call;
    if (call) call.door = 'oci';
    // Authenticate before parsing the path: an anonymous caller learns nothing, not even name rules.
    const principal = await deps.auth.authenticate(req.headers.authorization);
    const route = parseOciPath(path, req.headers.host, deps.defaultAccount);
    if (request) request.actor = principal.arn;
    if (call) noteCall(call, principal, route, req.method);
    if (!route) throw new BerthError('UNSUPPORTED', `no OCI endpoint at ${path.slice(0, 200)}`);
    if (deps.rateLimits) {
      const operation = rateLimitedOperation(route.kind, req.method);
      if (operation) deps.rateLimits.admit(principal.accountId, operation);
    }
    const ociCall: OciCall = { req, reply, principal, deps, query, origin: request };
    switch (route.kind) {
      case 'base':
        return reply.code(200).type('application/json').send('{}');
      case 'catalog':
        return handleCatalog(ociCall);
      case 'uploads':
        return handleUploadStart(ociCall, route.target);
      case 'upload':
        return handleUpload(ociCall, route.target, route.id);
      case 'blob':
        return handleBlob(ociCall, route.target, route.reference);
      case 'manifest':
        return handleManifest(ociCall, route.target, route.reference);
      case 'tags':
        return handleTags(ociCall, route.target);
      case 'referrers':
        return handleReferrers(ociCall, route.target, route.reference);
    }
  };
  app.route({ method: [...METHODS], url: '/v2', handler });
  app.route({ method: [...METHODS], url: '/v2/*', handler });
  // Blobs by the signed URL of ECR GetDownloadUrlForLayer: outside /v2, and without credentials.
  app.get(`${BLOB_DOWNLOAD_PREFIX}:digest`, (req, reply) => handleDownload(req, reply, deps, (req.params as { digest: string }).digest));
}
