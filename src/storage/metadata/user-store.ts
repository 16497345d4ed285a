import type { Db } from './db.js';

/** IAM users of an account (the IAM door's CreateUser, GetUser, ListUsers, DeleteUser). */
export class UserStore {
  constructor(private readonly db: Db) {}

  async exists(accountId: string, userName: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select('user_name')
      .where('account_id', '=', accountId)
      .where('user_name', '=', userName)
      .executeTakeFirst();
    return row !== undefined;
  }
}
