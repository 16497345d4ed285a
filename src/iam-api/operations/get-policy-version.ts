import { AWS_MANAGED_POLICIES } from '../aws-managed-policies.js';
import { noSuchEntity } from '../errors.js';
import { POLICY_ARN, VERSION_ID, parsePolicyArn } from '../identities.js';
import { isoDate, operation } from '../operation.js';
import { encodePolicyDocument } from '../policy-documents.js';
import { invalidArn, managedPolicyTarget } from './policy-holders.js';

/**
 * GetPolicyVersion: one version of a managed policy with its document, URL-encoded as IAM returns
 * it. berth's policies have one version each (CreatePolicyVersion is not served), `v1`.
 */
export const getPolicyVersion = operation({
  action: 'iam:GetPolicyVersion',
  mutates: false,
  prepare(params, ctx) {
    const arn = params.requiredString('PolicyArn', POLICY_ARN) ?? '';
    const versionId = params.requiredString('VersionId', VERSION_ID) ?? '';
    return { versionId, target: managedPolicyTarget(arn, ctx.principal.accountId, false) };
  },
  async run({ versionId, target }, ctx) {
    const arn = target.policyArn;
    if (!parsePolicyArn(arn)) throw invalidArn(arn);
    const missing = () => noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
    const aws = AWS_MANAGED_POLICIES.get(arn);
    if (aws) {
      if (versionId !== aws.defaultVersionId) throw missing();
      return { PolicyVersion: { Document: encodePolicyDocument(aws.document), VersionId: versionId, IsDefaultVersion: true } };
    }
    const policy = await ctx.meta.policies.getManagedPolicy(arn);
    const version = policy && (await ctx.meta.policies.getManagedPolicyVersion(arn, versionId));
    if (!policy || !version) throw missing();
    return {
      PolicyVersion: {
        Document: encodePolicyDocument(version.document),
        VersionId: version.versionId,
        IsDefaultVersion: version.versionId === policy.defaultVersionId,
        CreateDate: isoDate(version.createdAt),
      },
    };
  },
});
