import { BerthError } from '../../core/index.js';
import { DEFAULT_REPOSITORY_SETTINGS, type RepositorySettings } from '../../storage/metadata/index.js';
import { operation, repositoryArn } from '../operation.js';
import { toEcrRepository } from '../shapes.js';
import { MAX_RESOURCE_TAGS, readResourceTags, readTagMutability } from './repository-settings.js';

/** CreateRepository with ECR's defaults: MUTABLE, AES256, no scan on push. */
export const createRepository = operation({
  action: 'ecr:CreateRepository',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const tags = readResourceTags(input);
    if (tags.length > MAX_RESOURCE_TAGS) throw new BerthError('TOO_MANY_TAGS', `A repository can have at most ${MAX_RESOURCE_TAGS} tags`);
    const scanning = input.optionalObject('imageScanningConfiguration');
    const encryption = input.optionalObject('encryptionConfiguration');
    const encryptionType = encryption?.enumValue('encryptionType', ['AES256', 'KMS', 'KMS_DSSE'] as const) ?? 'AES256';
    const kmsKey = encryption?.optionalString('kmsKey', { min: 1, max: 2048 });
    if (kmsKey !== undefined && encryptionType === 'AES256') {
      throw new BerthError('INVALID_PARAMETER', 'kmsKey can only be given with encryptionType KMS or KMS_DSSE');
    }
    const settings: RepositorySettings = {
      ...DEFAULT_REPOSITORY_SETTINGS,
      ...readTagMutability(input, false),
      scanOnPush: scanning?.optionalBoolean('scanOnPush') ?? false,
      encryptionType,
      // berth holds no KMS keys; it records the key the way ECR reports it (an ARN).
      kmsKey: encryptionType === 'AES256' ? null : resolveKmsKey(kmsKey, ctx.region, accountId),
    };
    return { accountId, name, settings, tags, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, settings, tags }, ctx) {
    const arn = repositoryArn(ctx.region, accountId, name);
    if (tags.length > 0) await ctx.authorize('ecr:TagResource', { accountId, repositoryName: name }, tags);
    const repo = await ctx.registry.createRepository(accountId, name, settings, { arn, tags }, { origin: ctx.origin });
    return { repository: toEcrRepository(ctx, repo.row) };
  },
});

function resolveKmsKey(key: string | undefined, region: string, accountId: string): string {
  if (key === undefined) return `arn:aws:kms:${region}:${accountId}:alias/aws/ecr`;
  if (key.startsWith('arn:')) return key;
  if (key.startsWith('alias/')) return `arn:aws:kms:${region}:${accountId}:${key}`;
  return `arn:aws:kms:${region}:${accountId}:key/${key}`;
}
