import type { AccountId } from '../../core/index.js';
import { AwsJsonError } from '../errors.js';
import { operation } from '../operation.js';
import { readPrincipalArn } from './register-pull-time-update-exclusion.js';

/** DeregisterPullTimeUpdateExclusion: a principal that is not registered is ExclusionNotFoundException. */
export const deregisterPullTimeUpdateExclusion = operation({
  action: 'ecr:DeregisterPullTimeUpdateExclusion',
  prepare(input, ctx) {
    return { principalArn: readPrincipalArn(input), resource: { accountId: ctx.principal.accountId } };
  },
  async run({ principalArn }, ctx) {
    if (!(await ctx.settings.removePullTimeExclusion(ctx.principal.accountId as AccountId, principalArn))) {
      throw new AwsJsonError('ExclusionNotFoundException', `The principal '${principalArn}' is not excluded from pull time updates in the registry ${ctx.principal.accountId}`);
    }
    return { principalArn };
  },
});
