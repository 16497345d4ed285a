import { BerthError } from '../../../core/index.js';
import { parseLifecyclePolicy } from '../../../lifecycle/index.js';
import { parseRepositoryPolicy } from '../../../registry/index.js';
import { APPLIED_FOR, type AppliedFor, type CreationTemplate } from '../../../templates/index.js';
import { AwsJsonError } from '../../errors.js';
import { epochSeconds } from '../../operation.js';
import { constraint, invalid, type Input } from '../../validate.js';
import { MAX_RESOURCE_TAGS, readResourceTags, readTagMutability } from '../repository-settings.js';
import { parsePolicyText } from '../policy-text.js';

export const TEMPLATE_PREFIX_PATTERN = /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/;
const KMS_KEY_PATTERN = /^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+/;

/** `prefix` (1-256, path-like or ROOT), without its implied trailing `/`. */
export function readTemplatePrefix(input: Input): string {
  return input.string('prefix', { min: 1, max: 256, pattern: TEMPLATE_PREFIX_PATTERN }).replace(/\/$/, '');
}

/** The template fields of Create/UpdateRepositoryCreationTemplate that the input sets. */
export function readTemplateFields(input: Input, required: boolean): Partial<Omit<CreationTemplate, 'prefix' | 'createdAt' | 'updatedAt'>> {
  const out: Partial<Omit<CreationTemplate, 'prefix' | 'createdAt' | 'updatedAt'>> = {};
  const description = input.optionalString('description', { max: 256 });
  if (description !== undefined) out.description = description;
  const encryption = input.optionalObject('encryptionConfiguration');
  if (encryption) {
    const encryptionType = encryption.enumValue('encryptionType', ['AES256', 'KMS', 'KMS_DSSE'] as const);
    const kmsKey = encryption.optionalString('kmsKey', { max: 2048 });
    if (kmsKey && !KMS_KEY_PATTERN.test(kmsKey)) throw constraint('encryptionConfiguration.kmsKey', kmsKey, `Member must satisfy regular expression pattern: ${KMS_KEY_PATTERN.source}`);
    if (kmsKey && encryptionType === 'AES256') throw invalid('kmsKey can only be given with encryptionType KMS or KMS_DSSE');
    out.encryptionConfiguration = { encryptionType, ...(kmsKey ? { kmsKey } : {}) };
  }
  if (input.has('resourceTags')) {
    const tags = readResourceTags(input, 'resourceTags');
    if (tags.length > MAX_RESOURCE_TAGS) throw new BerthError('TOO_MANY_TAGS', `A template can have at most ${MAX_RESOURCE_TAGS} resource tags`);
    out.resourceTags = tags.map((t) => ({ Key: t.key, Value: t.value }));
  }
  const mutability = readTagMutability(input, false);
  if (mutability) {
    out.imageTagMutability = mutability.tagMutability;
    if (mutability.tagMutabilityExclusions) out.imageTagMutabilityExclusionFilters = mutability.tagMutabilityExclusions;
  }
  const repositoryPolicy = input.optionalString('repositoryPolicy', { max: 10_240 });
  if (repositoryPolicy !== undefined) {
    if (repositoryPolicy !== '') parsePolicyText('repository', () => parseRepositoryPolicy(repositoryPolicy));
    out.repositoryPolicy = repositoryPolicy;
  }
  const lifecyclePolicy = input.optionalString('lifecyclePolicy', { max: 30_720 });
  if (lifecyclePolicy !== undefined) {
    if (lifecyclePolicy !== '') checkLifecycleText(lifecyclePolicy);
    out.lifecyclePolicy = lifecyclePolicy;
  }
  const appliedRaw = required ? input.list('appliedFor') : input.optionalList('appliedFor');
  if (appliedRaw) {
    const applied = appliedRaw.map((v, i) => {
      if (typeof v !== 'string' || !APPLIED_FOR.includes(v as AppliedFor)) {
        throw constraint(`appliedFor.${i + 1}.member`, v, `Member must satisfy enum value set: [${APPLIED_FOR.join(', ')}]`);
      }
      return v as AppliedFor;
    });
    if (applied.length === 0) throw invalid("Invalid parameter at 'appliedFor': at least one of REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH is required");
    out.appliedFor = [...new Set(applied)];
  }
  const customRoleArn = input.optionalString('customRoleArn', { max: 2048 });
  if (customRoleArn !== undefined) {
    if (customRoleArn !== '' && !/^arn:aws[a-z0-9-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/.test(customRoleArn)) {
      throw invalid(`Invalid parameter at 'customRoleArn': '${customRoleArn.slice(0, 200)}' is not an IAM role ARN`);
    }
    out.customRoleArn = customRoleArn;
  }
  return out;
}

/** A template's lifecycle policy is validated as PutLifecyclePolicy validates one (ecr-semantics a.2). */
function checkLifecycleText(text: string): void {
  parseLifecyclePolicy(text);
}

export function templateNotFound(prefix: string): AwsJsonError {
  return new AwsJsonError('TemplateNotFoundException', `The specified repository creation template with prefix '${prefix}' does not exist`);
}

/** ECR's RepositoryCreationTemplate shape. */
export function toEcrTemplate(t: CreationTemplate) {
  return {
    prefix: t.prefix,
    ...(t.description !== undefined ? { description: t.description } : {}),
    encryptionConfiguration: t.encryptionConfiguration ?? { encryptionType: 'AES256' },
    resourceTags: t.resourceTags,
    imageTagMutability: t.imageTagMutability,
    ...(t.imageTagMutabilityExclusionFilters ? { imageTagMutabilityExclusionFilters: t.imageTagMutabilityExclusionFilters } : {}),
    ...(t.repositoryPolicy ? { repositoryPolicy: t.repositoryPolicy } : {}),
    ...(t.lifecyclePolicy ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
    appliedFor: t.appliedFor,
    ...(t.customRoleArn ? { customRoleArn: t.customRoleArn } : {}),
    createdAt: epochSeconds(t.createdAt),
    updatedAt: epochSeconds(t.updatedAt),
  };
}
