import type { AccessKeyRow, UserRow } from '../storage/metadata/index.js';
import { userArn } from './identities.js';
import { isoDate } from './operation.js';
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
