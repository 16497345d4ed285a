import type { AccountId } from '../../core/index.js';
import { AwsJsonError } from '../errors.js';
import { epochSeconds, operation } from '../operation.js';
import type { Input } from '../validate.js';

/** An IAM role or user ARN, as the ECR model constrains `principalArn` (at most 200 characters). */
const PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)\/[\w+=,.@-]+(\/[\w+=,.@-]+)*$/;

/** `principalArn`: required, an IAM role or user ARN of any account. */
export function readPrincipalArn(input: Input): string {
  return input.string('principalArn', { max: 200, pattern: PRINCIPAL_ARN });
}

/**
 * RegisterPullTimeUpdateExclusion: pulls by this principal no longer refresh an image's last
 * recorded pull time (the `sinceImagePulled` lifecycle signal). At most 100 per registry
 * (LimitExceededException); a principal already registered is ExclusionAlreadyExistsException.
 * Registry-scoped: always the caller's registry.
 */
export const registerPullTimeUpdateExclusion = operation({
  action: 'ecr:RegisterPullTimeUpdateExclusion',
  prepare(input, ctx) {
    return { principalArn: readPrincipalArn(input), resource: { accountId: ctx.principal.accountId } };
  },
  async run({ principalArn }, ctx) {
    const added = await ctx.settings.addPullTimeExclusion(ctx.principal.accountId as AccountId, principalArn, ctx.now());
    // The domain reports "already there" as a result; only this door has a name for it.
    if (!added) throw new AwsJsonError('ExclusionAlreadyExistsException', `The principal '${principalArn}' is already excluded from pull time updates in the registry ${ctx.principal.accountId}`);
    return { principalArn: added.principalArn, createdAt: epochSeconds(added.createdAt) };
  },
});
