import type { AccessKeyRow, MetadataStore } from '../../storage/metadata/index.js';
import { noSuchEntity } from '../errors.js';
import type { IdentityTarget } from '../identities.js';
import { loadIdentity } from '../operation.js';

/**
 * The key `accessKeyId` of the target identity. A key of anyone else (another user, the root,
 * another account) is NoSuchEntity, exactly like a key that does not exist, as in IAM.
 */
export async function ownKey(meta: MetadataStore, target: IdentityTarget, accessKeyId: string): Promise<AccessKeyRow> {
  const { userName } = await loadIdentity(meta, target);
  const key = await meta.accessKeys.get(accessKeyId);
  if (!key || key.accountId !== target.accountId || key.userName !== userName) {
    throw noSuchEntity(`The Access Key with id ${accessKeyId} cannot be found.`);
  }
  return key;
}
