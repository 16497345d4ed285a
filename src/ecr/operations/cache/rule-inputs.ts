import { ECR_UPSTREAM_KINDS, type CacheRule } from '../../../cache/index.js';
import { AwsJsonError } from '../../errors.js';
import type { EcrContext } from '../../operation.js';
import { epochSeconds } from '../../operation.js';
import type { Input } from '../../validate.js';

export const PREFIX_PATTERN = /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/;
export const CREDENTIAL_ARN_PATTERN = /^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache\/[a-zA-Z0-9/_+=.@-]+$/;

/** `ecrRepositoryPrefix` (2-30, path-like or ROOT), without its implied trailing `/`. */
export function readPrefix(input: Input, name = 'ecrRepositoryPrefix'): string {
  return input.string(name, { min: 2, max: 30, pattern: PREFIX_PATTERN }).replace(/\/$/, '');
}

export function readCredentialArn(input: Input): string | undefined {
  return input.optionalString('credentialArn', { min: 50, max: 612, pattern: CREDENTIAL_ARN_PATTERN });
}

export function ruleNotFound(prefix: string, accountId: string): AwsJsonError {
  return new AwsJsonError(
    'PullThroughCacheRuleNotFoundException',
    `The pull-through cache rule with prefix '${prefix}' does not exist in the registry with id '${accountId}'`,
  );
}

export async function findRule(ctx: EcrContext, accountId: string, prefix: string): Promise<CacheRule> {
  const rule = await ctx.services.cacheRules.get(accountId, prefix);
  if (!rule) throw ruleNotFound(prefix, accountId);
  return rule;
}

/**
 * The secret a rule names must exist in the same account and region and hold ECR's
 * `{"username","accessToken"}`: SecretNotFoundException, UnableToDecryptSecretValueException or
 * UnableToAccessSecretException otherwise.
 */
export async function checkSecret(ctx: EcrContext, accountId: string, arn: string): Promise<void> {
  const m = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:/.exec(arn);
  if (!m || m[1] !== ctx.region || m[2] !== accountId) {
    throw new AwsJsonError('UnableToAccessSecretException', `The secret ${arn} must be in the same account and region as the registry`);
  }
  try {
    await ctx.services.pullThroughCache.credentials(accountId, arn);
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'ResourceNotFoundException') throw new AwsJsonError('SecretNotFoundException', `The specified secret ${arn} could not be found`);
    if (type === 'DecryptionFailure') throw new AwsJsonError('UnableToDecryptSecretValueException', `The secret ${arn} could not be decrypted`);
    throw new AwsJsonError('UnableToAccessSecretException', `The secret ${arn} could not be used: ${(err as Error).message}`);
  }
}

/** The rule as ECR's PullThroughCacheRule shape. */
export function toEcrRule(rule: CacheRule) {
  return {
    ecrRepositoryPrefix: rule.prefix,
    upstreamRegistryUrl: rule.upstreamUrl,
    createdAt: epochSeconds(rule.createdAt),
    registryId: rule.accountId,
    ...(rule.credentialArn ? { credentialArn: rule.credentialArn } : {}),
    ...(rule.customRoleArn ? { customRoleArn: rule.customRoleArn } : {}),
    ...(rule.upstreamRegistry === 'ecr' ? { upstreamRepositoryPrefix: rule.upstreamPrefix } : {}),
    ...((ECR_UPSTREAM_KINDS as readonly string[]).includes(rule.upstreamRegistry) ? { upstreamRegistry: rule.upstreamRegistry } : {}),
    updatedAt: epochSeconds(rule.updatedAt),
  };
}
