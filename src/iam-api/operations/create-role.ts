import { entityAlreadyExists } from '../errors.js';
import { DESCRIPTION, ROLE_NAME, ROLE_PATH, generateUniqueId, policyDocumentRule } from '../identities.js';
import { operation } from '../operation.js';
import { checkTrustPolicySize, validatePolicyDocument } from '../policy-documents.js';
import { roleXml } from '../shapes.js';

/**
 * CreateRole: a role with a new unique id (`AROA…`) and its trust policy
 * (AssumeRolePolicyDocument, required): a policy whose Principal names who may assume the role
 * with STS AssumeRole, at most 2,048 characters without white space. Names are unique in the
 * account without regard to case. MaxSessionDuration: 3600 (default) to 43200 seconds.
 */
export const createRole = operation({
  action: 'iam:CreateRole',
  mutates: true,
  prepare(params, ctx) {
    params.unsupported(['Tags', 'PermissionsBoundary'], 'berth has no role tags or permissions boundaries yet');
    const roleName = params.requiredString('RoleName', ROLE_NAME) ?? '';
    const path = params.optionalString('Path', ROLE_PATH) ?? '/';
    const trustPolicy = params.requiredString('AssumeRolePolicyDocument', policyDocumentRule('assumeRolePolicyDocument')) ?? '';
    const description = params.optionalString('Description', DESCRIPTION) ?? null;
    const maxSessionDuration = params.optionalInteger('MaxSessionDuration', { member: 'maxSessionDuration', min: 3600, max: 43200 }) ?? 3600;
    return { roleName, path, trustPolicy, description, maxSessionDuration, target: { kind: 'role' as const, accountId: ctx.principal.accountId, roleName } };
  },
  async run({ roleName, path, trustPolicy, description, maxSessionDuration, target }, ctx) {
    checkTrustPolicySize(trustPolicy);
    validatePolicyDocument(trustPolicy, 'trust');
    const role = {
      accountId: target.accountId,
      roleName,
      roleId: generateUniqueId('AROA'),
      path,
      description,
      trustPolicy,
      maxSessionDuration,
      createdAt: ctx.now(),
    };
    const created = await ctx.meta.transaction((tx) => tx.policies.createRole(role));
    if (!created) throw entityAlreadyExists(`Role with name ${roleName} already exists.`);
    return { Role: roleXml(role) };
  },
});
