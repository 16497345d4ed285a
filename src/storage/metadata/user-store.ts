import { sql } from 'kysely';
import type { Db } from './db.js';

/** An IAM user, as the `users` table holds it. */
export interface UserRow {
  accountId: string;
  /** As the user was created: IAM keeps the case it was given and compares without it. */
  userName: string;
  /** `AIDA` and 17 base32 characters, unique across accounts. */
  userId: string;
  path: string;
  createdAt: number;
}

/**
 * IAM users of an account (the IAM door's CreateUser, GetUser, ListUsers, DeleteUser).
 *
 * IAM user names are unique within an account without regard to case ("Bob" and "bob" are the same
 * user), so every lookup by name compares lower-cased names; user names are ASCII
 * (`[\w+=,.@-]+`), where SQL `lower()` and JavaScript agree.
 */
export class UserStore {
  constructor(private readonly db: Db) {}

  async exists(accountId: string, userName: string): Promise<boolean> {
    return (await this.get(accountId, userName)) !== undefined;
  }

  /** The user named `userName` in any case, or undefined. */
  async get(accountId: string, userName: string): Promise<UserRow | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('account_id', '=', accountId)
      .where(sql<string>`lower(user_name)`, '=', userName.toLowerCase())
      .executeTakeFirst();
    return row && toUser(row);
  }

  /**
   * Insert the user. Returns false, inserting nothing, when a user of that name (in any case)
   * exists. Run it in a transaction when two requests may race for one name: on SQLite the
   * transactions of one process run one at a time. (Concurrent PostgreSQL nodes will need a unique
   * index on `(account_id, lower(user_name))` behind this check; the primary key is case-sensitive.)
   */
  async create(row: UserRow): Promise<boolean> {
    if (await this.get(row.accountId, row.userName)) return false;
    const result = await this.db
      .insertInto('users')
      .values({ account_id: row.accountId, user_name: row.userName, user_id: row.userId, path: row.path, created_at: row.createdAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /**
   * Users of the account in name order, strictly after `after` (a user name) and, when given,
   * whose path starts with `pathPrefix` (compared with `substr`, not LIKE: SQLite's LIKE ignores
   * case and treats '_' as a wildcard).
   */
  async list(accountId: string, page: { after?: string; limit: number; pathPrefix?: string }): Promise<UserRow[]> {
    let q = this.db.selectFrom('users').selectAll().where('account_id', '=', accountId);
    if (page.after !== undefined) q = q.where('user_name', '>', page.after);
    if (page.pathPrefix !== undefined && page.pathPrefix !== '/') {
      q = q.where(sql<string>`substr(path, 1, ${page.pathPrefix.length})`, '=', page.pathPrefix);
    }
    const rows = await q.orderBy('user_name').limit(page.limit).execute();
    return rows.map(toUser);
  }

  async count(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Delete the user row only (the caller checks first that nothing refers to it). Returns whether it existed. */
  async delete(accountId: string, userName: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('users')
      .where('account_id', '=', accountId)
      .where('user_name', '=', userName)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toUser(row: { account_id: string; user_name: string; user_id: string; path: string; created_at: number }): UserRow {
  return {
    accountId: row.account_id,
    userName: row.user_name,
    userId: row.user_id,
    path: row.path,
    createdAt: Number(row.created_at),
  };
}
