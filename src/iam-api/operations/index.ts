import type { QueryOperation } from '../operation.js';
import { createAccessKey } from './create-access-key.js';
import { createUser } from './create-user.js';
import { deleteAccessKey } from './delete-access-key.js';
import { deleteUser } from './delete-user.js';
import { getCallerIdentity } from './get-caller-identity.js';
import { getSessionToken } from './get-session-token.js';
import { getUser } from './get-user.js';
import { listAccessKeys } from './list-access-keys.js';
import { listUsers } from './list-users.js';
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
};

/** The STS subset (API version 2011-06-15), by Action. */
export const STS_OPERATIONS: Readonly<Record<string, QueryOperation<any>>> = {
  GetCallerIdentity: getCallerIdentity,
  GetSessionToken: getSessionToken,
};
