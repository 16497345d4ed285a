import { ECR_UPSTREAM_KINDS, KINDS_NEEDING_CREDENTIALS, MAX_RULES, kindOfHost, type UpstreamKind } from '../../../cache/index.js';
import { AwsJsonError } from '../../errors.js';
import { operation } from '../../operation.js';
import { PREFIX_PATTERN, checkSecret, readCredentialArn, readPrefix, toEcrRule } from './rule-inputs.js';

/**
 * CreatePullThroughCacheRule: map `ecrRepositoryPrefix` to an upstream registry. The upstream
 * kind is inferred from the URL's host when not given (and must agree with it when it is a
 * known host); other hosts are generic OCI registries (a berth extension). `http://` URLs need
 * BERTH_ALLOW_HTTP_UPSTREAMS=true.
 */
export const createPullThroughCacheRule = operation({
  action: 'ecr:CreatePullThroughCacheRule',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const prefix = readPrefix(input);
    const upstreamUrl = input.string('upstreamRegistryUrl', { min: 1, max: 2048 });
    const given = input.optionalEnum('upstreamRegistry', ECR_UPSTREAM_KINDS);
    const credentialArn = readCredentialArn(input);
    const customRoleArn = input.optionalString('customRoleArn', { max: 2048 });
    const upstreamPrefixRaw = input.optionalString('upstreamRepositoryPrefix', { min: 2, max: 30, pattern: PREFIX_PATTERN });
    return {
      accountId,
      prefix,
      upstreamUrl,
      given,
      credentialArn,
      customRoleArn: customRoleArn || undefined,
      upstreamPrefix: upstreamPrefixRaw?.replace(/\/$/, ''),
      resource: { accountId },
    };
  },
  async run(p, ctx) {
    const url = parseUpstreamUrl(p.upstreamUrl);
    if (url.protocol === 'http:' && !ctx.services.pullThroughCache.allowsHttp) {
      throw new AwsJsonError('InvalidParameterException', `Invalid parameter at 'upstreamRegistryUrl': the upstream must use https (berth accepts http:// only with BERTH_ALLOW_HTTP_UPSTREAMS=true)`);
    }
    const inferred = kindOfHost(url.host);
    if (p.given && inferred !== 'oci' && inferred !== p.given) {
      throw new AwsJsonError('UnsupportedUpstreamRegistryException', `The upstream registry URL ${p.upstreamUrl} does not belong to upstream registry ${p.given}`);
    }
    const kind: UpstreamKind = p.given ?? inferred;
    if (KINDS_NEEDING_CREDENTIALS.includes(kind) && !p.credentialArn) {
      throw new AwsJsonError('InvalidParameterException', `A credentialArn is required for upstream registry ${kind}`);
    }
    if (p.upstreamPrefix !== undefined) {
      if (kind !== 'ecr') throw new AwsJsonError('InvalidParameterException', 'upstreamRepositoryPrefix can only be set for ECR upstream registries');
      if (p.prefix === 'ROOT' && p.upstreamPrefix !== 'ROOT') {
        throw new AwsJsonError('InvalidParameterException', 'upstreamRepositoryPrefix can only be set when ecrRepositoryPrefix is not ROOT');
      }
    }
    if (p.credentialArn) await checkSecret(ctx, p.accountId, p.credentialArn);
    const now = ctx.now();
    const rule = {
      accountId: p.accountId,
      prefix: p.prefix,
      upstreamUrl: p.upstreamUrl,
      upstreamRegistry: kind,
      upstreamPrefix: p.upstreamPrefix ?? 'ROOT',
      credentialArn: p.credentialArn ?? null,
      customRoleArn: p.customRoleArn ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const result = await ctx.services.cacheRules.create(rule);
    if (result === 'exists') {
      throw new AwsJsonError(
        'PullThroughCacheRuleAlreadyExistsException',
        `A pull-through cache rule with prefix '${p.prefix}' already exists in the registry with id '${p.accountId}'`,
      );
    }
    if (result === 'limit') {
      throw new AwsJsonError('LimitExceededException', `The registry with id '${p.accountId}' already has the maximum of ${MAX_RULES} pull-through cache rules`);
    }
    ctx.services.pullThroughCache.invalidate(p.accountId);
    const { updatedAt: _u, ...shape } = toEcrRule(rule);
    return shape;
  },
});

function parseUpstreamUrl(raw: string): URL {
  try {
    const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) throw new Error('bad');
    return url;
  } catch {
    throw new AwsJsonError('InvalidParameterException', `Invalid parameter at 'upstreamRegistryUrl': '${raw.slice(0, 200)}' is not a registry URL`);
  }
}
