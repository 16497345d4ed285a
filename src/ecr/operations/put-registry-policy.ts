import { parseRegistryPolicy } from '../../registry/index.js';
import { operation } from '../operation.js';
import { parsePolicyText, readPolicyText } from './policy-text.js';

/**
 * PutRegistryPolicy: attach or replace the caller's registry policy, which grants other accounts
 * replication (ecr:ReplicateImage, ecr:CreateRepository), pull-through imports
 * (ecr:BatchImportUpstreamImage) and, with scope V2, any ECR action on this registry's
 * repositories. Registry-scoped: no `registryId` input. Answers with the text as sent.
 */
export const putRegistryPolicy = operation({
  action: 'ecr:PutRegistryPolicy',
  prepare(input, ctx) {
    return { policyText: readPolicyText(input), resource: { accountId: ctx.principal.accountId } };
  },
  async run({ policyText }, ctx) {
    const accountId = ctx.principal.accountId;
    const doc = parsePolicyText('registry', () => parseRegistryPolicy(policyText, { accountId, region: ctx.region }));
    await ctx.policies.putRegistryPolicy(accountId, doc);
    return { registryId: accountId, policyText: doc.text };
  },
});
