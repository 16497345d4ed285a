import { POLICY_NAME, USER_NAME, policyDocumentRule } from '../identities.js';
import { operation } from '../operation.js';
import { validatePolicyDocument } from '../policy-documents.js';
import { loadHolder, putInlinePolicy } from './policy-holders.js';

/**
 * PutUserPolicy: create or replace an inline policy of a user. The document must be a valid
 * identity policy (MalformedPolicyDocument with the engine's message otherwise), and the user's
 * inline policies together at most 2,048 characters without white space (LimitExceeded).
 */
export const putUserPolicy = operation({
  action: 'iam:PutUserPolicy',
  mutates: true,
  prepare(params, ctx) {
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const policyName = params.requiredString('PolicyName', POLICY_NAME) ?? '';
    const document = params.requiredString('PolicyDocument', policyDocumentRule('policyDocument')) ?? '';
    return { policyName, document, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ policyName, document, target }, ctx) {
    validatePolicyDocument(document, 'identity');
    await ctx.meta.transaction(async (tx) => {
      const holder = await loadHolder(tx, 'user', target.accountId, target.userName);
      await putInlinePolicy(tx, holder, policyName, document);
    });
    return undefined;
  },
});
