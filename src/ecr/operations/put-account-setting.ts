import type { AccountId } from '../../core/index.js';
import { checkAccountSettingValue } from '../../registry/index.js';
import { operation } from '../operation.js';
import { readAccountSettingName } from './get-account-setting.js';

/**
 * PutAccountSetting: set one setting of the caller's registry and echo it. The value must be one
 * the setting accepts (InvalidParameterException otherwise). BLOB_MOUNTING takes effect on the
 * next mount request at the OCI door; the others are recorded for the capabilities that read them.
 */
export const putAccountSetting = operation({
  action: 'ecr:PutAccountSetting',
  prepare(input, ctx) {
    const name = readAccountSettingName(input);
    const value = input.string('value');
    checkAccountSettingValue(name, value);
    return { name, value, resource: { accountId: ctx.principal.accountId } };
  },
  async run({ name, value }, ctx) {
    await ctx.settings.putAccountSetting(ctx.principal.accountId as AccountId, name, value);
    return { name, value };
  },
});
