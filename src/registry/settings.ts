import { BerthError, type AccountId } from '../core/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';

/**
 * ECR's account settings (GetAccountSetting / PutAccountSetting): the names, the values each
 * accepts, and the value an account has before anyone sets it. `retired` values were accepted by
 * ECR once and are refused now, with a message that says so.
 *
 * - BASIC_SCAN_TYPE_VERSION: `AWS_NATIVE` only; `CLAIR` was removed from the API in February 2026.
 * - REGISTRY_POLICY_SCOPE: `V2` only; `V1` was removed in April 2026.
 * - BLOB_MOUNTING: `ENABLED` | `DISABLED`. ECR starts an account at DISABLED (opt-in, ECR user guide
 *   "Blob mounting in Amazon ECR"). berth starts at ENABLED: berth has always mounted, and podman
 *   relies on the mount to push a copy with the digest it pulled (test/e2e/clients.test.ts); turning
 *   it off by default would change the digests of existing berth users' copies. See
 *   docs/compatibility.md, "Known differences from ECR".
 */
export const ACCOUNT_SETTINGS = {
  BASIC_SCAN_TYPE_VERSION: { values: ['AWS_NATIVE'], initial: 'AWS_NATIVE', retired: ['CLAIR'] },
  REGISTRY_POLICY_SCOPE: { values: ['V2'], initial: 'V2', retired: ['V1'] },
  BLOB_MOUNTING: { values: ['ENABLED', 'DISABLED'], initial: 'ENABLED', retired: [] },
} as const satisfies Record<string, { values: readonly string[]; initial: string; retired: readonly string[] }>;

export type AccountSettingName = keyof typeof ACCOUNT_SETTINGS;

export function isAccountSettingName(name: string): name is AccountSettingName {
  return Object.hasOwn(ACCOUNT_SETTINGS, name);
}

/** Throws INVALID_PARAMETER unless `value` is one that the setting `name` accepts. */
export function checkAccountSettingValue(name: AccountSettingName, value: string): void {
  const setting: { values: readonly string[]; retired: readonly string[] } = ACCOUNT_SETTINGS[name];
  if (setting.values.includes(value)) return;
  const why = setting.retired.includes(value) ? `${value} is no longer supported; ` : '';
  throw new BerthError(
    'INVALID_PARAMETER',
    `Invalid parameter at 'value' failed to satisfy constraint: '${value.slice(0, 64)}' is not a value of ${name}: ${why}valid values are ${setting.values.join(', ')}`,
  );
}

/** ECR's limit on pull-time update exclusions per registry. */
export const MAX_PULL_TIME_EXCLUSIONS = 100;

export interface PullTimeExclusion {
  principalArn: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/**
 * Registry-level settings of an account: the ECR account settings and the pull-time update
 * exclusions (principals whose pulls do not refresh an image's last recorded pull time). Reads go
 * to the metadata store each time, so a change is seen at once by every door and every process
 * sharing the database. Safe to call concurrently.
 */
export class RegistrySettings {
  constructor(private readonly meta: MetadataStore) {}

  /** The setting's value for `accountId`, or its initial value when never set. */
  async accountSetting(accountId: AccountId, name: AccountSettingName): Promise<string> {
    return (await this.meta.settings.getAccountSetting(accountId, name)) ?? ACCOUNT_SETTINGS[name].initial;
  }

  /** Set `name` to `value`. Throws INVALID_PARAMETER when `value` is not one that `name` accepts. */
  async putAccountSetting(accountId: AccountId, name: AccountSettingName, value: string): Promise<void> {
    checkAccountSettingValue(name, value);
    await this.meta.settings.putAccountSetting(accountId, name, value);
  }

  /**
   * May a cross-repository mount (`POST /v2/<name>/blobs/uploads/?mount=&from=`) into a repository
   * of `accountId` reuse a blob, rather than fall back to a new upload session?
   */
  async isBlobMountingEnabled(accountId: AccountId): Promise<boolean> {
    return (await this.accountSetting(accountId, 'BLOB_MOUNTING')) === 'ENABLED';
  }

  /**
   * Exclude `principalArn` from pull-time updates in `accountId`'s registry. Returns the new
   * exclusion, or undefined when the principal was already excluded. Throws LIMIT_EXCEEDED when
   * the registry already has {@link MAX_PULL_TIME_EXCLUSIONS}. The insert and the count share one
   * transaction, so concurrent registrations cannot overshoot the limit.
   */
  async addPullTimeExclusion(accountId: AccountId, principalArn: string, now: number): Promise<PullTimeExclusion | undefined> {
    return this.meta.transaction(async (tx) => {
      // Counted after the insert: registrations racing on other nodes wait here (PostgreSQL).
      await tx.lock(`pull-time-exclusions:${accountId}`);
      if (!(await tx.settings.addPullTimeExclusion(accountId, principalArn, now))) return undefined;
      // Counted after the insert: a duplicate at the limit is reported as a duplicate, not as the limit.
      if ((await tx.settings.countPullTimeExclusions(accountId)) > MAX_PULL_TIME_EXCLUSIONS) {
        throw new BerthError(
          'LIMIT_EXCEEDED',
          `The registry ${accountId} already has the maximum of ${MAX_PULL_TIME_EXCLUSIONS} pull time update exclusions`,
          { limit: MAX_PULL_TIME_EXCLUSIONS },
        );
      }
      return { principalArn, createdAt: now };
    });
  }

  /** Returns false when `principalArn` was not excluded. */
  async removePullTimeExclusion(accountId: AccountId, principalArn: string): Promise<boolean> {
    return this.meta.settings.removePullTimeExclusion(accountId, principalArn);
  }

  /** A page of the registry's exclusions in principal ARN order, after `after` (exclusive). */
  async pullTimeExclusions(accountId: AccountId, page: { after?: string; limit: number }): Promise<PullTimeExclusion[]> {
    return this.meta.settings.listPullTimeExclusions(accountId, page);
  }
}
