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

  // ---- ECR repository and registry policies (SetRepositoryPolicy, PutRegistryPolicy, ...) ----

  /**
   * Attach or replace a repository's policy (ECR SetRepositoryPolicy). The row goes with the
   * repository: `repository_policies.repository_id` cascades on delete. Concurrent puts: the last
   * committed wins.
   */
  async putRepositoryPolicy(repositoryId: number, policyText: string, now: number): Promise<void> {
    await this.db
      .insertInto('repository_policies')
      .values({ repository_id: repositoryId, policy_text: policyText, updated_at: now })
      .onConflict((oc) => oc.column('repository_id').doUpdateSet({ policy_text: policyText, updated_at: now }))
      .execute();
  }

  /**
   * Remove a repository's policy and return the removed text, or undefined when it had none. One
   * statement (DELETE ... RETURNING, SQLite >= 3.35 and PostgreSQL), so of two concurrent deletes
   * exactly one gets the text.
   */
  async deleteRepositoryPolicy(repositoryId: number): Promise<string | undefined> {
    const row = await this.db.deleteFrom('repository_policies').where('repository_id', '=', repositoryId).returning('policy_text').executeTakeFirst();
    return row?.policy_text;
  }

  /** Attach or replace the registry policy of an account (ECR PutRegistryPolicy). */
  async putRegistryPolicy(accountId: string, policyText: string, now: number): Promise<void> {
    await this.db
      .insertInto('registry_policies')
      .values({ account_id: accountId, policy_text: policyText, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ policy_text: policyText, updated_at: now }))
      .execute();
  }

  /** Remove an account's registry policy and return the removed text, or undefined when it had none. */
  async deleteRegistryPolicy(accountId: string): Promise<string | undefined> {
    const row = await this.db.deleteFrom('registry_policies').where('account_id', '=', accountId).returning('policy_text').executeTakeFirst();
    return row?.policy_text;
  }

  // IAM identity policies (the IAM door): customer managed policies with their versions, inline
  // policies and managed-policy attachments of users and roles, and roles. Identities are named
  // here exactly as stored (the IAM door resolves a name given in any case to the stored one first).

  /**
   * Insert a customer managed policy with its first version (`row.defaultVersionId`, IAM's "v1").
   * Returns false, inserting nothing, when the account has a policy of that name in any case (IAM
   * names are unique without regard to case). Run it in a transaction, as UserStore.create.
   */
  async createManagedPolicy(row: ManagedPolicyRow, document: string): Promise<boolean> {
    const clash = await this.db
      .selectFrom('iam_policies')
      .select('arn')
      .where('account_id', '=', row.accountId)
      .where((eb) => eb(eb.fn('lower', ['policy_name']), '=', row.policyName.toLowerCase()))
      .executeTakeFirst();
    if (clash) return false;
    const result = await this.db
      .insertInto('iam_policies')
      .values({
        arn: row.arn,
        account_id: row.accountId,
        policy_name: row.policyName,
        policy_id: row.policyId,
        path: row.path,
        description: row.description,
        default_version_id: row.defaultVersionId,
        created_at: row.createdAt,
        updated_at: row.updatedAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await this.db
      .insertInto('iam_policy_versions')
      .values({ policy_arn: row.arn, version_id: row.defaultVersionId, document, created_at: row.createdAt })
      .execute();
    return true;
  }

  /** The customer managed policy with exactly this ARN, or undefined. */
  async getManagedPolicy(arn: string): Promise<ManagedPolicyRow | undefined> {
    const row = await this.db.selectFrom('iam_policies').selectAll().where('arn', '=', arn).executeTakeFirst();
    return row && {
      arn: row.arn,
      accountId: row.account_id,
      policyName: row.policy_name,
      policyId: row.policy_id,
      path: row.path,
      description: row.description,
      defaultVersionId: row.default_version_id,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  /** One version of a customer managed policy, or undefined. */
  async getManagedPolicyVersion(arn: string, versionId: string): Promise<PolicyVersionRow | undefined> {
    const row = await this.db
      .selectFrom('iam_policy_versions')
      .selectAll()
      .where('policy_arn', '=', arn)
      .where('version_id', '=', versionId)
      .executeTakeFirst();
    return row && { policyArn: row.policy_arn, versionId: row.version_id, document: row.document, createdAt: Number(row.created_at) };
  }

  /**
   * Delete a customer managed policy with its versions. The caller checks first that nothing is
   * attached to it (IAM answers DeleteConflict). Returns whether it existed.
   */
  async deleteManagedPolicy(arn: string): Promise<boolean> {
    await this.db.deleteFrom('iam_policy_versions').where('policy_arn', '=', arn).execute();
    const result = await this.db.deleteFrom('iam_policies').where('arn', '=', arn).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Create or replace the inline policy `policyName` of a user or role (IAM PutUserPolicy, PutRolePolicy). */
  async putInlinePolicy(holder: PolicyHolder, policyName: string, document: string): Promise<void> {
    await this.db
      .insertInto('iam_inline_policies')
      .values({ account_id: holder.accountId, identity_kind: holder.kind, identity_name: holder.name, policy_name: policyName, document })
      .onConflict((oc) => oc.columns(['account_id', 'identity_kind', 'identity_name', 'policy_name']).doUpdateSet({ document }))
      .execute();
  }

  /** The document of one inline policy of a user or role, or undefined. */
  async getInlinePolicy(holder: PolicyHolder, policyName: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('iam_inline_policies')
      .select('document')
      .where('account_id', '=', holder.accountId)
      .where('identity_kind', '=', holder.kind)
      .where('identity_name', '=', holder.name)
      .where('policy_name', '=', policyName)
      .executeTakeFirst();
    return row?.document;
  }

  /** Every inline policy of a user or role, in name order. */
  async listInlinePolicies(holder: PolicyHolder): Promise<InlinePolicyRow[]> {
    const rows = await this.db
      .selectFrom('iam_inline_policies')
      .select(['policy_name', 'document'])
      .where('account_id', '=', holder.accountId)
      .where('identity_kind', '=', holder.kind)
      .where('identity_name', '=', holder.name)
      .orderBy('policy_name')
      .execute();
    return rows.map((row) => ({ policyName: row.policy_name, document: row.document }));
  }

  /** Returns whether the inline policy existed. */
  async deleteInlinePolicy(holder: PolicyHolder, policyName: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('iam_inline_policies')
      .where('account_id', '=', holder.accountId)
      .where('identity_kind', '=', holder.kind)
      .where('identity_name', '=', holder.name)
      .where('policy_name', '=', policyName)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Attach a managed policy (customer or AWS managed, by ARN). Returns false when it already was. */
  async attachPolicy(holder: PolicyHolder, policyArn: string): Promise<boolean> {
    const result = await this.db
      .insertInto('iam_policy_attachments')
      .values({ account_id: holder.accountId, identity_kind: holder.kind, identity_name: holder.name, policy_arn: policyArn })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Returns whether the policy was attached. */
  async detachPolicy(holder: PolicyHolder, policyArn: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('iam_policy_attachments')
      .where('account_id', '=', holder.accountId)
      .where('identity_kind', '=', holder.kind)
      .where('identity_name', '=', holder.name)
      .where('policy_arn', '=', policyArn)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The ARNs of the managed policies attached to a user or role, in ARN order. */
  async listAttachedPolicies(holder: PolicyHolder): Promise<string[]> {
    const rows = await this.db
      .selectFrom('iam_policy_attachments')
      .select('policy_arn')
      .where('account_id', '=', holder.accountId)
      .where('identity_kind', '=', holder.kind)
      .where('identity_name', '=', holder.name)
      .orderBy('policy_arn')
      .execute();
    return rows.map((row) => row.policy_arn);
  }

  /**
   * How many users and roles a managed policy is attached to; only those of `accountId` when given
   * (an AWS managed policy is attached in many accounts, and each sees its own count).
   */
  async countPolicyAttachments(policyArn: string, accountId?: string): Promise<number> {
    let q = this.db
      .selectFrom('iam_policy_attachments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('policy_arn', '=', policyArn);
    if (accountId !== undefined) q = q.where('account_id', '=', accountId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Insert a role. Returns false, inserting nothing, when the account has a role of that name in any case. */
  async createRole(row: RoleRow): Promise<boolean> {
    if (await this.getRole(row.accountId, row.roleName)) return false;
    const result = await this.db
      .insertInto('iam_roles')
      .values({
        account_id: row.accountId,
        role_name: row.roleName,
        role_id: row.roleId,
        path: row.path,
        description: row.description,
        trust_policy: row.trustPolicy,
        max_session_duration: row.maxSessionDuration,
        created_at: row.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** The role named `roleName` in any case, or undefined. */
  async getRole(accountId: string, roleName: string): Promise<RoleRow | undefined> {
    const row = await this.db
      .selectFrom('iam_roles')
      .selectAll()
      .where('account_id', '=', accountId)
      .where((eb) => eb(eb.fn('lower', ['role_name']), '=', roleName.toLowerCase()))
      .executeTakeFirst();
    return row && {
      accountId: row.account_id,
      roleName: row.role_name,
      roleId: row.role_id,
      path: row.path,
      description: row.description,
      trustPolicy: row.trust_policy,
      maxSessionDuration: Number(row.max_session_duration),
      createdAt: Number(row.created_at),
    };
  }

  /** Delete the role row only (the caller checks first that it has no policies). `roleName` as stored. */
  async deleteRole(accountId: string, roleName: string): Promise<boolean> {
    const result = await this.db.deleteFrom('iam_roles').where('account_id', '=', accountId).where('role_name', '=', roleName).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

/** A user or a role, as IAM policies are attached to them: its kind and its name as stored. */
export interface PolicyHolder {
  readonly accountId: string;
  readonly kind: 'user' | 'role';
  readonly name: string;
}

/** A customer managed policy (IAM CreatePolicy); its documents are in its versions. */
export interface ManagedPolicyRow {
  arn: string;
  accountId: string;
  policyName: string;
  /** `ANPA` and 17 base32 characters. */
  policyId: string;
  path: string;
  description: string | null;
  defaultVersionId: string;
  createdAt: number;
  updatedAt: number;
}

export interface PolicyVersionRow {
  policyArn: string;
  versionId: string;
  /** As the caller sent it. */
  document: string;
  createdAt: number;
}

export interface InlinePolicyRow {
  policyName: string;
  document: string;
}

/** An IAM role with its trust policy (IAM CreateRole). */
export interface RoleRow {
  accountId: string;
  /** As created: IAM keeps the case it was given and compares without it. */
  roleName: string;
  /** `AROA` and 17 base32 characters. */
  roleId: string;
  path: string;
  description: string | null;
  /** The trust policy (AssumeRolePolicyDocument) as the caller sent it. */
  trustPolicy: string;
  /** Seconds, 3600 to 43200. */
  maxSessionDuration: number;
  createdAt: number;
}
