import { parseDigest } from '../core/index.js';
import { authorize, openRepository, pageSize, type OciCall } from './context.js';
import { unsupported } from './blobs.js';
import type { RepoTarget } from './route.js';

const MAX_PAGE = 1000;

/** GET /v2/<name>/tags/list?n=&last= (distribution-spec v1.1, "Listing tags"), with a `Link` to the next page. */
export async function handleTags(call: OciCall, target: RepoTarget): Promise<void> {
  const { req, reply, deps, query } = call;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw unsupported(req.method);
  const repo = await openRepository(call, target, 'ecr:ListImages');
  const n = pageSize(query, MAX_PAGE);
  const last = query.get('last') ?? undefined;
  const tags = n === 0 ? [] : await deps.registry.listTags(repo, { ...(last !== undefined ? { after: last } : {}), limit: n });
  if (n > 0 && tags.length === n) {
    reply.header('Link', `</v2/${target.pathName}/tags/list?n=${n}&last=${encodeURIComponent(tags[tags.length - 1]!)}>; rel="next"`);
  }
  reply.code(200).type('application/json').send({ name: target.pathName, tags });
}

/**
 * GET /v2/_catalog?n=&last=: the repositories of the caller's account, named as a client on this
 * host addresses them (bare for the default account, `<account>/<name>` for others).
 */
export async function handleCatalog(call: OciCall): Promise<void> {
  const { req, reply, deps, query, principal } = call;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw unsupported(req.method);
  const accountId = principal.accountId;
  await authorize(call, 'ecr:DescribeRepositories', { accountId });
  const prefix = accountId === deps.defaultAccount ? '' : `${accountId}/`;
  const n = pageSize(query, MAX_PAGE);
  const last = query.get('last') ?? undefined;
  const after = last !== undefined && last.startsWith(prefix) ? last.slice(prefix.length) : last;
  const names = n === 0 ? [] : await deps.registry.listRepositories(accountId as never, { ...(after !== undefined ? { after } : {}), limit: n });
  const repositories = names.map((name) => prefix + name);
  if (n > 0 && repositories.length === n) {
    reply.header('Link', `</v2/_catalog?n=${n}&last=${encodeURIComponent(repositories[repositories.length - 1]!)}>; rel="next"`);
  }
  reply.code(200).type('application/json').send({ repositories });
}

/** GET /v2/<name>/referrers/<digest>?artifactType= (distribution-spec v1.1, "Listing referrers"). */
export async function handleReferrers(call: OciCall, target: RepoTarget, reference: string): Promise<void> {
  const { req, reply, deps, query } = call;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw unsupported(req.method);
  const digest = parseDigest(reference);
  const repo = await openRepository(call, target, 'ecr:BatchGetImage');
  const artifactType = query.get('artifactType') ?? undefined;
  const index = await deps.registry.referrers(repo, digest, artifactType);
  if (artifactType !== undefined) reply.header('OCI-Filters-Applied', 'artifactType');
  reply.code(200).header('Content-Type', index.mediaType).send(Buffer.from(JSON.stringify(index)));
}
