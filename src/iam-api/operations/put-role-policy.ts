import { POLICY_NAME, ROLE_NAME, policyDocumentRule } from '../identities.js';
import { operation } from '../operation.js';
import { validatePolicyDocument } from '../policy-documents.js';
import { loadHolder, putInlinePolicy } from './policy-holders.js';

/**
 * PutRolePolicy: create or replace an inline policy of a role. The document must be a valid
 * identity policy (MalformedPolicyDocument with the engine's message otherwise), and the role's
 * inline policies together at most 10,240 characters without white space (LimitExceeded).
 */
export const putRolePolicy = operation({
  action: 'iam:PutRolePolicy',
  mutates: true,
  prepare(params, ctx) {
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    const document = params.requiredString('PolicyDocument', policyDocumentRule('policyDocument')) ?? '';
    return { policyName, document, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ policyName, document, target }, ctx) {
    validatePolicyDocument(document, 'identity');
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'role', target.accountId, target.roleName);
      await putInlinePolicy(tx, holder, policyName, document);
    });
    return undefined;
  },
});
