import type { Db } from './db.js';

/**
 * Policy documents: IAM identity policies (inline and customer managed, attached to users and
 * roles), roles with their trust policies, and ECR repository and registry policies. Documents
 * are stored as the text the caller sent; parsing and evaluation live in iam/policy/.
 */
export class PolicyStore {
  constructor(protected readonly db: Db) {}

  async getRepositoryPolicy(repositoryId: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('repository_policies').select('policy_text').where('repository_id', '=', repositoryId).executeTakeFirst();
    return row?.policy_text;
  }

  async getRegistryPolicy(accountId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('registry_policies').select('policy_text').where('account_id', '=', accountId).executeTakeFirst();
    return row?.policy_text;
  }
}
