import type { QueryOperation } from '../operation.js';
import { assumeRole } from './assume-role.js';
import { attachRolePolicy } from './attach-role-policy.js';
import { attachUserPolicy } from './attach-user-policy.js';
import { createAccessKey } from './create-access-key.js';
import { createPolicy } from './create-policy.js';
import { createRole } from './create-role.js';
import { createUser } from './create-user.js';
import { deleteAccessKey } from './delete-access-key.js';
import { deletePolicy } from './delete-policy.js';
import { deleteRolePolicy } from './delete-role-policy.js';
import { deleteRole } from './delete-role.js';
import { deleteUserPolicy } from './delete-user-policy.js';
import { deleteUser } from './delete-user.js';
import { detachRolePolicy } from './detach-role-policy.js';
import { detachUserPolicy } from './detach-user-policy.js';
import { getCallerIdentity } from './get-caller-identity.js';
import { getPolicyVersion } from './get-policy-version.js';
import { getPolicy } from './get-policy.js';
import { getRolePolicy } from './get-role-policy.js';
import { getRole } from './get-role.js';
import { getSessionToken } from './get-session-token.js';
import { getUserPolicy } from './get-user-policy.js';
import { getUser } from './get-user.js';
import { listAccessKeys } from './list-access-keys.js';
import { listAttachedRolePolicies } from './list-attached-role-policies.js';
import { listAttachedUserPolicies } from './list-attached-user-policies.js';
import { listRolePolicies } from './list-role-policies.js';
import { listUserPolicies } from './list-user-policies.js';
import { listUsers } from './list-users.js';
import { putRolePolicy } from './put-role-policy.js';
import { putUserPolicy } from './put-user-policy.js';
import { updateAccessKey } from './update-access-key.js';

/** The IAM subset berth serves (API version 2010-05-08), by Action. */
export const IAM_OPERATIONS: Readonly<Record<string, QueryOperation<any>>> = {
  CreateUser: createUser,
  GetUser: getUser,
  ListUsers: listUsers,
  DeleteUser: deleteUser,
  CreateAccessKey: createAccessKey,
  ListAccessKeys: listAccessKeys,
  UpdateAccessKey: updateAccessKey,
  DeleteAccessKey: deleteAccessKey,
  // Inline policies of users.
  PutUserPolicy: putUserPolicy,
  GetUserPolicy: getUserPolicy,
  ListUserPolicies: listUserPolicies,
  DeleteUserPolicy: deleteUserPolicy,
  // Customer managed policies (and reading AWS's ECR managed policies), attached to users.
  CreatePolicy: createPolicy,
  GetPolicy: getPolicy,
  GetPolicyVersion: getPolicyVersion,
  DeletePolicy: deletePolicy,
  AttachUserPolicy: attachUserPolicy,
  DetachUserPolicy: detachUserPolicy,
  ListAttachedUserPolicies: listAttachedUserPolicies,
  // Roles, their inline policies and attached managed policies.
  CreateRole: createRole,
  GetRole: getRole,
  DeleteRole: deleteRole,
  PutRolePolicy: putRolePolicy,
  GetRolePolicy: getRolePolicy,
  DeleteRolePolicy: deleteRolePolicy,
  ListRolePolicies: listRolePolicies,
  AttachRolePolicy: attachRolePolicy,
  DetachRolePolicy: detachRolePolicy,
  ListAttachedRolePolicies: listAttachedRolePolicies,
};

/** The STS subset (API version 2011-06-15), by Action. */
export const STS_OPERATIONS: Readonly<Record<string, QueryOperation<any>>> = {
  GetCallerIdentity: getCallerIdentity,
  GetSessionToken: getSessionToken,
  AssumeRole: assumeRole,
};
