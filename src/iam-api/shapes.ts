import type { AccessKeyRow, ManagedPolicyRow, RoleRow, UserRow } from '../storage/metadata/index.js';
import type { AwsManagedPolicy } from './aws-managed-policies.js';
import { roleArn, userArn } from './identities.js';
import { isoDate } from './operation.js';
import { encodePolicyDocument } from './policy-documents.js';
import type { XmlObject } from './xml.js';

/** IAM's `User` structure. */
export function userXml(user: UserRow): XmlObject {
  return {
    Path: user.path,
    UserName: user.userName,
    UserId: user.userId,
    Arn: userArn(user),
    CreateDate: isoDate(user.createdAt),
  };
}

/** IAM's `AccessKeyMetadata` structure; a root key has no UserName. */
export function accessKeyMetadataXml(key: AccessKeyRow): XmlObject {
  return {
    UserName: key.userName ?? undefined,
    AccessKeyId: key.accessKeyId,
    Status: key.status,
    CreateDate: isoDate(key.createdAt),
  };
}

/** IAM's `Role` structure; the trust policy URL-encoded, as IAM answers it. */
export function roleXml(role: RoleRow): XmlObject {
  return {
    Path: role.path,
    RoleName: role.roleName,
    RoleId: role.roleId,
    Arn: roleArn(role),
    CreateDate: isoDate(role.createdAt),
    AssumeRolePolicyDocument: encodePolicyDocument(role.trustPolicy),
    Description: role.description ?? undefined,
    MaxSessionDuration: role.maxSessionDuration,
  };
}

/** IAM's `Policy` structure, for a customer managed policy or an AWS managed one (which has no dates in berth). */
export function policyXml(policy: ManagedPolicyRow | AwsManagedPolicy, attachmentCount: number): XmlObject {
  const dated = 'createdAt' in policy ? policy : undefined;
  return {
    PolicyName: policy.policyName,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: policy.description ?? undefined,
    CreateDate: dated && isoDate(dated.createdAt),
    UpdateDate: dated && isoDate(dated.updatedAt),
  };
}
