import { entityAlreadyExists } from '../errors.js';
import { DESCRIPTION, POLICY_NAME, POLICY_PATH, generateUniqueId, policyArn, policyDocumentRule } from '../identities.js';
import { operation } from '../operation.js';
import { checkManagedPolicySize, validatePolicyDocument } from '../policy-documents.js';
import { policyXml } from '../shapes.js';

/**
 * CreatePolicy: a customer managed policy, its document stored as version `v1` (the default).
 * The document must be a valid identity policy of at most 6,144 characters without white space;
 * names are unique in the account without regard to case, as in IAM.
 */
export const createPolicy = operation({
  action: 'iam:CreatePolicy',
  mutates: true,
  prepare(params, ctx) {
    params.unsupported(['Tags'], 'berth has no policy tags yet');
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    const path = params.optionalString('Path', POLICY_PATH) ?? '/';
    const document = params.requiredString('PolicyDocument', policyDocumentRule('policyDocument')) ?? '';
    const description = params.optionalString('Description', DESCRIPTION) ?? null;
    const arn = policyArn(ctx.principal.accountId, path, policyName);
    return { policyName, path, document, description, target: { kind: 'policy' as const, accountId: ctx.principal.accountId, policyArn: arn } };
  },
  async run({ policyName, path, document, description, target }, ctx) {
    checkManagedPolicySize(document);
    validatePolicyDocument(document, 'identity');
    const now = ctx.now();
    const row = {
      arn: target.policyArn,
      accountId: target.accountId,
      policyName,
      policyId: generateUniqueId('ANPA'),
      path,
      description,
      defaultVersionId: 'v1',
      createdAt: now,
      updatedAt: now,
    };
    const created = await ctx.meta.transaction((tx) => tx.policies.createManagedPolicy(row, document));
    if (!created) throw entityAlreadyExists(`A policy called ${policyName} already exists. Duplicate names are not allowed.`);
    return { Policy: policyXml(row, 0) };
  },
});
