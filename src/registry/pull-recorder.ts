import type { MetadataStore } from '../storage/metadata/index.js';

/** One manifest pull: whose registry, which manifest, who pulled it, when. */
export interface Pull {
  accountId: string;
  repositoryId: number;
  digest: string;
  /** ARN of the principal that pulled (an IAM user, role session or account root). */
  principalArn: string;
  /** Epoch milliseconds. */
  at: number;
}

interface PendingManifest {
  accountId: string;
  repositoryId: number;
  digest: string;
  /** The latest pull time of each principal since the last flush. */
  latestBy: Map<string, number>;
}

/**
 * Keeps ECR's `lastRecordedPullTime` without a database write per pull. Pulls are gathered in
 * memory (the latest time per manifest and principal) and written in one transaction every
 * `flushIntervalMs` and on `close()`. A pull therefore shows in DescribeImages after at most one
 * interval; ECR itself only promises a lazily refreshed, possibly day-old value (ECR API reference,
 * ImageDetail.lastRecordedPullTime).
 *
 * Pull-time update exclusions are applied at flush time, read fresh from the store each time: an
 * exclusion registered through any process takes effect for every pull not yet written, and no
 * cache has to be told about changes. The read costs one small query per flush that has work.
 *
 * `record` is synchronous and never throws, so the pull path pays only a map update. A failed flush
 * keeps its pulls for the next one; `close()` reports the failure.
 */
export class PullRecorder {
  private pending = new Map<string, PendingManifest>();
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly meta: MetadataStore,
    opts: { flushIntervalMs: number },
  ) {
    // A failed periodic flush has already put its pulls back; the next tick or close() retries.
    this.timer = setInterval(() => void this.flush().catch(() => undefined), opts.flushIntervalMs).unref();
  }

  record(pull: Pull): void {
    const key = `${pull.repositoryId} ${pull.digest}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { accountId: pull.accountId, repositoryId: pull.repositoryId, digest: pull.digest, latestBy: new Map() };
      this.pending.set(key, entry);
    }
    const before = entry.latestBy.get(pull.principalArn);
    if (before === undefined || before < pull.at) entry.latestBy.set(pull.principalArn, pull.at);
  }

  /** Write every pull gathered so far. Concurrent calls share one write at a time. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Stop the timer and write what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: Map<string, PendingManifest>): Promise<void> {
    try {
      const exclusions = new Map<string, Set<string>>();
      for (const e of await this.meta.settings.allPullTimeExclusions()) {
        let set = exclusions.get(e.accountId);
        if (!set) exclusions.set(e.accountId, (set = new Set()));
        set.add(e.principalArn);
      }
      const updates: { repositoryId: number; digest: string; at: number }[] = [];
      for (const entry of batch.values()) {
        const excluded = exclusions.get(entry.accountId);
        let latest: number | undefined;
        for (const [arn, at] of entry.latestBy) {
          if (excluded && isExcluded(excluded, arn)) continue;
          if (latest === undefined || at > latest) latest = at;
        }
        if (latest !== undefined) updates.push({ repositoryId: entry.repositoryId, digest: entry.digest, at: latest });
      }
      if (updates.length > 0) await this.meta.transaction((tx) => tx.manifests.recordPulls(updates));
    } catch (err) {
      // Put the batch back under anything recorded meanwhile, so no pull is lost.
      for (const [key, entry] of batch) {
        const now = this.pending.get(key);
        if (!now) {
          this.pending.set(key, entry);
          continue;
        }
        for (const [arn, at] of entry.latestBy) {
          const later = now.latestBy.get(arn);
          if (later === undefined || later < at) now.latestBy.set(arn, at);
        }
      }
      throw err;
    }
  }
}

/**
 * Is a pull by `principalArn` excluded? Exclusions name IAM users and roles
 * (`arn:aws:iam::<acct>:(user|role)/<path/>name`). A role session
 * (`arn:aws:sts::<acct>:assumed-role/<name>/<session>`) is the role's pull: its ARN carries the
 * role's name but not its path, so it matches a role exclusion of that account and name.
 */
export function isExcluded(exclusions: ReadonlySet<string>, principalArn: string): boolean {
  if (exclusions.has(principalArn)) return true;
  const session = /^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(principalArn);
  if (!session) return false;
  const [, partition, account, role] = session;
  const prefix = `arn:${partition}:iam::${account}:role/`;
  for (const arn of exclusions) {
    if (arn.startsWith(prefix) && arn.slice(arn.lastIndexOf('/') + 1) === role) return true;
  }
  return false;
}
