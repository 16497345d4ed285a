import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretBox } from '../iam/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';

/** A secret as Secrets Manager describes it (no value). */
export interface SecretInfo {
  arn: string;
  accountId: string;
  name: string;
  description: string | null;
  versionId: string | null;
  tags: { Key: string; Value: string }[];
  createdAt: number;
  updatedAt: number;
  accessedAt: number | null;
  /** When a scheduled deletion takes effect; null when the secret is not scheduled for deletion. */
  deletedAt: number | null;
}

export type SecretValue = { kind: 'string'; value: string } | { kind: 'binary'; value: Buffer };

/** What went wrong, named after Secrets Manager's exceptions. */
export class SecretsError extends Error {
  constructor(
    readonly type:
      | 'ResourceNotFoundException'
      | 'ResourceExistsException'
      | 'InvalidParameterException'
      | 'InvalidRequestException'
      | 'DecryptionFailure'
      | 'LimitExceededException',
    message: string,
  ) {
    super(message);
  }
}

const ARN_SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const NOT_FOUND = "Secrets Manager can't find the specified secret.";

/**
 * The secrets of the Secrets Manager subset (src/secrets/door.ts), stored in the metadata
 * database with their values sealed by the master key (SecretBox, AES-256-GCM): a copy of the
 * database alone reveals no credential. A secret's ARN is
 * `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`, as AWS makes it.
 * A deleted secret is kept, marked, until its recovery window ends (then it is purged on the
 * next write); meanwhile its name stays taken and its value unreadable, as in AWS.
 */
export class SecretStore {
  constructor(
    private readonly meta: MetadataStore,
    private readonly box: SecretBox,
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  async create(
    accountId: string,
    input: { name: string; description?: string; value?: SecretValue; tags?: { Key: string; Value: string }[]; versionId?: string },
  ): Promise<SecretInfo> {
    await this.purgeExpired();
    const existing = await this.byName(accountId, input.name);
    if (existing) {
      if (existing.deleted_at !== null) {
        throw new SecretsError('InvalidRequestException', `You can't create this secret because a secret with this name is already scheduled for deletion.`);
      }
      throw new SecretsError('ResourceExistsException', `The operation failed because the secret ${input.name} already exists.`);
    }
    const now = this.now();
    const suffix = Array.from(randomBytes(6), (b) => ARN_SUFFIX_CHARS[b % ARN_SUFFIX_CHARS.length]).join('');
    const arn = `arn:aws:secretsmanager:${this.region}:${accountId}:secret:${input.name}-${suffix}`;
    const versionId = input.value ? (input.versionId ?? randomUUID()) : null;
    await this.meta.kysely
      .insertInto('secrets')
      .values({
        arn,
        account_id: accountId,
        name: input.name,
        description: input.description ?? null,
        value_enc: input.value ? this.seal(input.value) : null,
        version_id: versionId,
        tags: JSON.stringify(input.tags ?? []),
        created_at: now,
        updated_at: now,
        accessed_at: null,
        deleted_at: null,
      })
      .execute();
    return (await this.describe(accountId, arn, { includeDeleted: true }))!;
  }

  /** The secret named by `secretId` (its name, full ARN, or ARN without the random suffix). */
  async describe(accountId: string, secretId: string, opts: { includeDeleted?: boolean } = {}): Promise<SecretInfo> {
    const row = await this.find(accountId, secretId);
    if (!row || (row.deleted_at !== null && !opts.includeDeleted)) throw new SecretsError('ResourceNotFoundException', NOT_FOUND);
    return toInfo(row);
  }

  /** The current value. A secret scheduled for deletion is InvalidRequestException, as in AWS. */
  async getValue(accountId: string, secretId: string): Promise<{ info: SecretInfo; value: SecretValue }> {
    const row = await this.find(accountId, secretId);
    if (!row) throw new SecretsError('ResourceNotFoundException', NOT_FOUND);
    if (row.deleted_at !== null) {
      throw new SecretsError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    if (row.value_enc === null) throw new SecretsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
    let value: SecretValue;
    try {
      value = unseal(this.box.open(row.value_enc));
    } catch {
      throw new SecretsError('DecryptionFailure', 'Secrets Manager can’t decrypt the protected secret text using the provided KMS key.');
    }
    // AWS records the access date (day granularity); the time is enough here.
    const now = this.now();
    await this.meta.kysely.updateTable('secrets').set({ accessed_at: now }).where('arn', '=', row.arn).execute();
    return { info: toInfo({ ...row, accessed_at: now }), value };
  }

  async putValue(accountId: string, secretId: string, value: SecretValue, versionId?: string): Promise<SecretInfo> {
    const row = await this.find(accountId, secretId);
    if (!row) throw new SecretsError('ResourceNotFoundException', NOT_FOUND);
    if (row.deleted_at !== null) {
      throw new SecretsError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    const id = versionId ?? randomUUID();
    await this.meta.kysely
      .updateTable('secrets')
      .set({ value_enc: this.seal(value), version_id: id, updated_at: this.now() })
      .where('arn', '=', row.arn)
      .execute();
    return this.describe(accountId, row.arn);
  }

  /** Secrets of the account in name order, after `after` (a name), at most `limit`. */
  async list(accountId: string, page: { after?: string; limit: number; includeDeleted?: boolean; namePrefixes?: string[] }): Promise<SecretInfo[]> {
    await this.purgeExpired();
    let q = this.meta.kysely.selectFrom('secrets').selectAll().where('account_id', '=', accountId);
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    if (!page.includeDeleted) q = q.where('deleted_at', 'is', null);
    const rows = await q.orderBy('name').limit(page.namePrefixes ? 10_000 : page.limit).execute();
    const filtered = page.namePrefixes ? rows.filter((r) => page.namePrefixes!.some((p) => r.name.startsWith(p))) : rows;
    return filtered.slice(0, page.limit).map(toInfo);
  }

  /**
   * Delete now (`force`) or schedule the deletion `recoveryDays` days ahead. Returns the secret
   * and its deletion date.
   */
  async delete(accountId: string, secretId: string, opts: { force: boolean; recoveryDays: number }): Promise<{ info: SecretInfo; deletionDate: number }> {
    const row = await this.find(accountId, secretId);
    if (!row) throw new SecretsError('ResourceNotFoundException', NOT_FOUND);
    const now = this.now();
    if (opts.force) {
      await this.meta.kysely.deleteFrom('secrets').where('arn', '=', row.arn).execute();
      return { info: toInfo(row), deletionDate: now };
    }
    if (row.deleted_at !== null) {
      throw new SecretsError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    const deletionDate = now + opts.recoveryDays * 86_400_000;
    await this.meta.kysely.updateTable('secrets').set({ deleted_at: deletionDate }).where('arn', '=', row.arn).execute();
    return { info: toInfo({ ...row, deleted_at: deletionDate }), deletionDate };
  }

  private seal(value: SecretValue): string {
    return this.box.seal(JSON.stringify(value.kind === 'string' ? { s: value.value } : { b: value.value.toString('base64') }));
  }

  private async byName(accountId: string, name: string) {
    return this.meta.kysely.selectFrom('secrets').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
  }

  private async find(accountId: string, secretId: string) {
    if (!secretId.startsWith('arn:')) return this.byName(accountId, secretId);
    const exact = await this.meta.kysely.selectFrom('secrets').selectAll().where('arn', '=', secretId).executeTakeFirst();
    if (exact) return exact.account_id === accountId ? exact : undefined;
    // A partial ARN (without the random suffix) names the secret too.
    const m = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:(.+)$/.exec(secretId);
    if (!m || m[2] !== accountId || m[1] !== this.region) return undefined;
    return this.byName(accountId, m[3]!);
  }

  private async purgeExpired(): Promise<void> {
    await this.meta.kysely.deleteFrom('secrets').where('deleted_at', 'is not', null).where('deleted_at', '<=', this.now()).execute();
  }
}

function unseal(text: string): SecretValue {
  const parsed = JSON.parse(text) as { s?: string; b?: string };
  return parsed.s !== undefined ? { kind: 'string', value: parsed.s } : { kind: 'binary', value: Buffer.from(parsed.b ?? '', 'base64') };
}

function toInfo(row: {
  arn: string;
  account_id: string;
  name: string;
  description: string | null;
  version_id: string | null;
  tags: string;
  created_at: number | bigint;
  updated_at: number | bigint;
  accessed_at: number | bigint | null;
  deleted_at: number | bigint | null;
}): SecretInfo {
  return {
    arn: row.arn,
    accountId: row.account_id,
    name: row.name,
    description: row.description,
    versionId: row.version_id,
    tags: JSON.parse(row.tags) as { Key: string; Value: string }[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    accessedAt: row.accessed_at === null ? null : Number(row.accessed_at),
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}
