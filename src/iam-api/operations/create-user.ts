import { entityAlreadyExists } from '../errors.js';
import { USER_NAME, USER_PATH, generateUserId } from '../identities.js';
import { operation } from '../operation.js';
import { userXml } from '../shapes.js';

/**
 * CreateUser: a user with a new unique id (`AIDA…`), under `Path` (default `/`). Names are unique
 * in the account without regard to case, as in IAM.
 */
export const createUser = operation({
  action: 'iam:CreateUser',
  mutates: true,
  prepare(params, ctx) {
    params.unsupported(['Tags', 'PermissionsBoundary'], 'berth has no user tags or permissions boundaries yet');
    const userName = params.requiredString('UserName', USER_NAME) ?? '';
    const path = params.optionalString('Path', USER_PATH) ?? '/';
    return { userName, path, target: { kind: 'user' as const, accountId: ctx.principal.accountId, userName } };
  },
  async run({ userName, path }, ctx) {
    const user = { accountId: ctx.principal.accountId, userName, userId: generateUserId(), path, createdAt: ctx.now() };
    const created = await ctx.meta.transaction((tx) => tx.users.create(user));
    if (!created) throw entityAlreadyExists(`User with name ${userName} already exists.`);
    return { User: userXml(user) };
  },
});
