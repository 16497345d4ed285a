import type { AccountId } from '../../core/index.js';
import { isAccountSettingName, type AccountSettingName } from '../../registry/index.js';
import { operation } from '../operation.js';
import { constraint, type Input } from '../validate.js';

/** GetAccountSetting: one setting of the caller's registry, its initial value when never set. */
export const getAccountSetting = operation({
  action: 'ecr:GetAccountSetting',
  prepare(input, ctx) {
    return { name: readAccountSettingName(input), resource: { accountId: ctx.principal.accountId } };
  },
  async run({ name }, ctx) {
    return { name, value: await ctx.settings.accountSetting(ctx.principal.accountId as AccountId, name) };
  },
});

/** `name`: 1-64 characters, and one of the settings ECR knows (ecr-api.md, GetAccountSetting). */
export function readAccountSettingName(input: Input): AccountSettingName {
  const name = input.string('name', { min: 1, max: 64 });
  if (!isAccountSettingName(name)) {
    throw constraint('name', name, 'Member must satisfy enum value set: [BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE, BLOB_MOUNTING]');
  }
  return name;
}
