import type { Db } from './db.js';

/** Registry-level settings of an account: ECR account settings and pull-time update exclusions. */
export class SettingsStore {
  constructor(private readonly db: Db) {}

  async getAccountSetting(accountId: string, name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('account_settings')
      .select('value')
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.value;
  }

  async putAccountSetting(accountId: string, name: string, value: string): Promise<void> {
    await this.db
      .insertInto('account_settings')
      .values({ account_id: accountId, name, value })
      .onConflict((oc) => oc.columns(['account_id', 'name']).doUpdateSet({ value }))
      .execute();
  }

  /** Returns false when the principal was already excluded. */
  async addPullTimeExclusion(accountId: string, principalArn: string, now: number): Promise<boolean> {
    const result = await this.db
      .insertInto('pull_time_exclusions')
      .values({ account_id: accountId, principal_arn: principalArn, created_at: now })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Returns false when the principal was not excluded. */
  async removePullTimeExclusion(accountId: string, principalArn: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('pull_time_exclusions')
      .where('account_id', '=', accountId)
      .where('principal_arn', '=', principalArn)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Exclusions in principal ARN order, after `after` (exclusive). */
  async listPullTimeExclusions(accountId: string, page: { after?: string; limit: number }): Promise<{ principalArn: string; createdAt: number }[]> {
    let q = this.db.selectFrom('pull_time_exclusions').select(['principal_arn', 'created_at']).where('account_id', '=', accountId);
    if (page.after !== undefined) q = q.where('principal_arn', '>', page.after);
    const rows = await q.orderBy('principal_arn').limit(page.limit).execute();
    return rows.map((r) => ({ principalArn: r.principal_arn, createdAt: Number(r.created_at) }));
  }

  async countPullTimeExclusions(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('pull_time_exclusions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Every excluded principal ARN of every account, for an in-memory lookup on the pull path. */
  async allPullTimeExclusions(): Promise<{ accountId: string; principalArn: string }[]> {
    const rows = await this.db.selectFrom('pull_time_exclusions').select(['account_id', 'principal_arn']).execute();
    return rows.map((r) => ({ accountId: r.account_id, principalArn: r.principal_arn }));
  }
}
