import type { AccountId, RepositoryName } from '../core/index.js';
import type { EventBus, EventInput, RegistryEvent } from '../events/index.js';
import type { JobRunner } from '../jobs/index.js';
import type { Registry, Repository } from '../registry/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { comparePlans, evaluate, withDependents, type ImageStatus, type Plan, type PlannedAction } from './evaluate.js';
import { parseLifecyclePolicy, type LifecyclePolicy } from './policy.js';
import { LifecycleStore, type PreviewResultRow, type PreviewRow, type PreviewSummary, type RepositoryImage, type StoredPolicy } from './store.js';

export const PREVIEW_JOB = 'lifecycle.preview';
export const RUN_JOB = 'lifecycle.run';
export const RESTORE_JOB = 'lifecycle.restore';
const STALE_PREVIEW_MS = 3600_000;
/** Planned images (with what goes with each) acted on per transaction. */
const RUN_BATCH = 50;

/** A plan with what the preview and the CLI report beside it. */
export interface EvaluatedPlan {
  plan: Plan;
  images: Map<string, RepositoryImage>;
  bytesFreed: number;
}

/** What one run did to one repository. */
export interface RunReport {
  repository: string;
  accountId: string;
  expired: AppliedAction[];
  archived: AppliedAction[];
  /** Planned, then left alone: the image changed (pushed, tagged, pulled, restored) after the plan was made. */
  skipped: { digest: string; reason: string }[];
  bytesFreed: number;
}

export interface AppliedAction {
  digest: string;
  tags: string[];
  rulePriority: number;
  reason: string;
}

export type StartPreviewResult = { ok: true; policyText: string } | { ok: false; reason: 'no-policy' | 'in-progress' };

export type StorageClassResult =
  | { ok: true; status: ImageStatus }
  | { ok: false; reason: 'not-found' | 'not-supported'; message: string };

interface RepositoryPayload {
  accountId: string;
  name: string;
  repositoryId: number;
}

/**
 * Lifecycle policies of repositories: storage, previews and runs (as durable jobs), and the
 * archive storage class. Previews and runs share `evaluateRepository`, so a preview shows what
 * the next run does, as long as the repository does not change in between; a run re-checks each
 * image before it acts on it.
 */
export class LifecycleService {
  private readonly store: LifecycleStore;

  constructor(
    private readonly deps: {
      meta: MetadataStore;
      registry: Registry;
      jobs: JobRunner;
      events: EventBus;
      /** How long a finished preview stays readable before it reports EXPIRED. */
      previewTtlMs: number;
      now?: () => number;
    },
  ) {
    this.store = new LifecycleStore(deps.meta);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  // ---- policies ------------------------------------------------------------------------------

  /** Validate and store the policy; returns its canonical text. Throws INVALID_PARAMETER. */
  async putPolicy(repo: Repository, text: string): Promise<string> {
    const policy = parseLifecyclePolicy(text);
    await this.store.putPolicy(repo.row.id, policy.text, this.now());
    return policy.text;
  }

  async getPolicy(repo: Repository): Promise<StoredPolicy | undefined> {
    return this.store.getPolicy(repo.row.id);
  }

  async deletePolicy(repo: Repository): Promise<StoredPolicy | undefined> {
    return this.deps.meta.transaction(async (tx) => {
      const store = new LifecycleStore(tx);
      const policy = await store.getPolicy(repo.row.id);
      if (policy) await store.deletePolicy(repo.row.id);
      return policy;
    });
  }

  // ---- evaluation ----------------------------------------------------------------------------

  /** The plan of `policy` for the repository as it is now, with the bytes it would free. The one code path of previews and runs. */
  async evaluateRepository(repositoryId: number, policy: LifecyclePolicy, now = this.now()): Promise<EvaluatedPlan> {
    const list = await this.store.images(repositoryId);
    const plan = evaluate(policy.rules, list, now);
    const going = new Set(plan.actions.filter((a) => a.action === 'expire').map((a) => a.digest));
    const bytesFreed = await this.store.bytesOnlyReferencedBy(repositoryId, going);
    return { plan, images: new Map(list.map((i) => [i.digest, i])), bytesFreed };
  }

  // ---- previews ------------------------------------------------------------------------------

  /**
   * Start a preview of `text` (or of the stored policy) as a job. Only one preview per repository
   * runs at a time; a new one replaces the last result. An inline policy is compared with the
   * stored one, when there is one. Throws INVALID_PARAMETER for an invalid text.
   */
  async startPreview(repo: Repository, text: string | undefined, requestId?: string): Promise<StartPreviewResult> {
    const inline = text !== undefined ? parseLifecyclePolicy(text) : undefined;
    return this.deps.meta.transaction(async (tx) => {
      const store = new LifecycleStore(tx);
      const stored = await store.getPolicy(repo.row.id);
      const policyText = inline?.text ?? stored?.text;
      if (policyText === undefined) return { ok: false, reason: 'no-policy' } as const;
      const current = await store.getPreview(repo.row.id);
      // A preview job takes seconds; one in progress for an hour lost its job (say, its rows were
      // restored from a backup without the queue) and must not block previews for ever.
      if (current?.status === 'IN_PROGRESS' && this.now() - current.startedAt < STALE_PREVIEW_MS) return { ok: false, reason: 'in-progress' } as const;
      const startedAt = Math.max(this.now(), (current?.startedAt ?? 0) + 1);
      await store.beginPreview(repo.row.id, policyText, inline && stored && stored.text !== inline.text ? stored.text : null, startedAt);
      const payload: RepositoryPayload & { startedAt: number } = { accountId: repo.accountId, name: repo.name, repositoryId: repo.row.id, startedAt };
      await this.deps.jobs.enqueue(PREVIEW_JOB, payload, { ...(requestId ? { requestId } : {}) }, tx);
      return { ok: true, policyText } as const;
    });
  }

  /** The preview job: evaluate, store the results and the summary. */
  async runPreview(payload: RepositoryPayload & { startedAt: number }, lastAttempt: boolean): Promise<{ status: string; results?: number }> {
    const preview = await this.store.getPreview(payload.repositoryId);
    if (!preview || preview.startedAt !== payload.startedAt || preview.status !== 'IN_PROGRESS') return { status: 'superseded' };
    try {
      const policy = parseLifecyclePolicy(preview.policyText);
      const evaluated = await this.evaluateRepository(payload.repositoryId, policy);
      const summary = summarize(evaluated);
      if (preview.compareText !== null) {
        const stored = await this.evaluateRepository(payload.repositoryId, parseLifecyclePolicy(preview.compareText), evaluated.plan.evaluatedAt);
        summary.comparison = { against: 'stored', differences: comparePlans(stored.plan, evaluated.plan) };
      }
      const results = resultRows(evaluated);
      await this.deps.meta.transaction((tx) => new LifecycleStore(tx).finishPreview(payload.repositoryId, payload.startedAt, { status: 'COMPLETE', summary, results }, this.now()));
      return { status: 'COMPLETE', results: results.length };
    } catch (err) {
      if (lastAttempt) {
        await this.store.finishPreview(payload.repositoryId, payload.startedAt, { status: 'FAILED', error: err instanceof Error ? err.message : String(err) }, this.now());
      }
      throw err;
    }
  }

  /** The repository's last preview, with its status as ECR reports it (EXPIRED once past its time to live). */
  async getPreview(repo: Repository): Promise<(Omit<PreviewRow, 'status'> & { status: PreviewRow['status'] | 'EXPIRED' }) | undefined> {
    const preview = await this.store.getPreview(repo.row.id);
    if (!preview) return undefined;
    if (preview.finishedAt !== null && this.now() - preview.finishedAt > this.deps.previewTtlMs) return { ...preview, status: 'EXPIRED' };
    return preview;
  }

  async previewResults(repo: Repository, page: Parameters<LifecycleStore['previewResults']>[1]): Promise<PreviewResultRow[]> {
    return this.store.previewResults(repo.row.id, page);
  }

  async previewDigestsWithTags(repo: Repository, tags: readonly string[]): Promise<Map<string, string>> {
    return this.store.previewDigestsWithTags(repo.row.id, tags);
  }

  // ---- runs ----------------------------------------------------------------------------------

  /** Enqueue one run job per repository with a policy (the scheduled run); returns how many. */
  async enqueueRuns(): Promise<number> {
    const repos = await this.store.repositoriesWithPolicies();
    for (const r of repos) {
      await this.deps.jobs.enqueue(RUN_JOB, { accountId: r.accountId, name: r.name, repositoryId: r.repositoryId } satisfies RepositoryPayload, { key: String(r.repositoryId) });
    }
    return repos.length;
  }

  /** Every repository with a policy (optionally only one account's), for `berth lifecycle run`. */
  async repositoriesWithPolicies(): Promise<{ repositoryId: number; accountId: string; name: string }[]> {
    return this.store.repositoriesWithPolicies();
  }

  /**
   * Apply the repository's stored policy now: evaluate, then act on each planned image after
   * re-checking it, with what goes with it (an index with its children, a subject with its
   * referrers) in the same transaction, so a failure leaves no half-deleted image. Blobs stay for
   * garbage collection.
   */
  async runRepository(payload: RepositoryPayload, requestId?: string): Promise<RunReport | undefined> {
    const repo = await this.deps.registry.repository(payload.accountId as AccountId, payload.name as RepositoryName).catch(() => undefined);
    if (!repo || repo.row.id !== payload.repositoryId) return undefined;
    const stored = await this.store.getPolicy(repo.row.id);
    if (!stored) return undefined;
    const policy = parseLifecyclePolicy(stored.text);
    const evaluated = await this.evaluateRepository(repo.row.id, policy);
    const report: RunReport = { repository: repo.name, accountId: repo.accountId, expired: [], archived: [], skipped: [], bytesFreed: 0 };
    const all = groups(evaluated.plan.actions);
    for (let i = 0; i < all.length; i += RUN_BATCH) {
      await this.applyBatch(repo, all.slice(i, i + RUN_BATCH), evaluated.images, report, requestId);
    }
    const going = new Set(report.expired.map((a) => a.digest));
    // Bytes freed are those the evaluation counted, less what was skipped.
    report.bytesFreed = going.size === evaluated.plan.actions.filter((a) => a.action === 'expire').length ? evaluated.bytesFreed : 0;
    await this.store.markEvaluated(repo.row.id, this.now());
    return report;
  }

  /**
   * Act on a batch of planned images, each with its dependents, in one transaction (a batch, so
   * that a large run does not commit, and on SQLite fsync, once per image; a failure rolls the
   * whole batch back, so no image is ever half deleted). Each image is re-checked first: when its
   * tags, its state or its last pull changed since the plan, it is left alone with everything that
   * goes with it (the next run decides again). A dependent that changed, or that another index
   * now lists, stays.
   */
  private async applyBatch(repo: Repository, groups: readonly PlannedAction[][], images: Map<string, RepositoryImage>, report: RunReport, requestId?: string): Promise<void> {
    const now = this.now();
    let pending: (() => void)[] = [];
    let done: { action: PlannedAction; tags: string[] }[] = [];
    let skipped: { digest: string; reason: string }[] = [];
    await this.deps.meta.transaction(async (tx) => {
      // Reset: on PostgreSQL a transaction that hit a serialization failure runs again.
      pending = [];
      done = [];
      skipped = [];
      const store = new LifecycleStore(tx);
      // Serialize with pushes and tag moves of this repository (PostgreSQL; SQLite's write lock does already).
      if (!(await tx.lockRepository(repo.row.id))) return;
      const record = async (event: EventInput) => {
        pending.push(await this.deps.events.record(tx, { ...event, at: now, ...(requestId ? { requestId } : {}) } as RegistryEvent));
      };
      for (const group of groups) {
        const members = new Set(group.map((a) => a.digest));
        const acting: { action: PlannedAction; tags: string[] }[] = [];
        let rootChanged = false;
        for (const action of group) {
          const planned = images.get(action.digest);
          const state = await store.state(repo.row.id, action.digest);
          const changed =
            !planned ||
            !state ||
            state.status !== planned.status ||
            [...state.tags].sort().join('\n') !== [...planned.tags].sort().join('\n') ||
            state.lastPulledAt !== planned.lastPulledAt ||
            state.parents.some((p) => !members.has(p) && !planned.parents.includes(p));
          if (changed && action.with === undefined) {
            rootChanged = true;
            break;
          }
          if (changed) skipped.push({ digest: action.digest, reason: 'changed since the plan was made' });
          else acting.push({ action, tags: state!.tags });
        }
        if (rootChanged) {
          skipped.push(...group.filter((a) => !skipped.some((x) => x.digest === a.digest)).map((a) => ({ digest: a.digest, reason: 'changed since the plan was made' })));
          continue;
        }
        const archive: string[] = [];
        for (const { action, tags } of acting) {
          const detail = { rulePriority: action.rulePriority, reason: action.reason, action: action.action, tags, ...(action.with ? { with: action.with } : {}) };
          if (action.action === 'expire') {
            await tx.manifests.delete(repo.row.id, action.digest);
            await record({ type: 'image.deleted', accountId: repo.accountId, repository: repo.name, digest: action.digest, tags });
            await record({ type: 'lifecycle.expired', accountId: repo.accountId, repository: repo.name, digest: action.digest, detail });
          } else {
            archive.push(action.digest);
            await record({ type: 'lifecycle.archived', accountId: repo.accountId, repository: repo.name, digest: action.digest, detail });
          }
        }
        if (archive.length > 0) await store.setStatus(repo.row.id, archive, 'ARCHIVED', { archivedAt: now });
        done.push(...acting);
      }
    });
    for (const deliver of pending) deliver();
    report.skipped.push(...skipped);
    for (const { action, tags } of done) {
      const applied = { digest: action.digest, tags, rulePriority: action.rulePriority, reason: action.reason };
      (action.action === 'expire' ? report.expired : report.archived).push(applied);
    }
  }

  // ---- the archive ---------------------------------------------------------------------------

  /**
   * ECR UpdateImageStorageClass. ARCHIVE archives the image at once, with the children of an
   * index and its referrers; STANDARD marks it ACTIVATING and a restore job makes it ACTIVE.
   * Children of an index and referrers of a present subject cannot change class on their own.
   */
  async updateStorageClass(repo: Repository, digest: string, target: 'STANDARD' | 'ARCHIVE', requestId?: string): Promise<StorageClassResult> {
    const now = this.now();
    const pending: (() => void)[] = [];
    const result = await this.deps.meta.transaction(async (tx): Promise<StorageClassResult> => {
      pending.length = 0;
      const store = new LifecycleStore(tx);
      await tx.lockRepository(repo.row.id);
      const list = await store.images(repo.row.id);
      const image = list.find((i) => i.digest === digest);
      if (!image) return { ok: false, reason: 'not-found', message: `The image with digest '${digest}' does not exist within the repository with name '${repo.name}' in the registry with id '${repo.accountId}'` };
      const present = new Set(list.map((i) => i.digest));
      const dependentOf = image.parents.find((p) => present.has(p)) ?? (image.subject !== null && present.has(image.subject) ? image.subject : undefined);
      if (dependentOf !== undefined) {
        return { ok: false, reason: 'not-supported', message: `The image '${digest}' goes with '${dependentOf}' and cannot change storage class on its own; update '${dependentOf}' instead` };
      }
      const from = target === 'ARCHIVE' ? 'ACTIVE' : 'ARCHIVED';
      if (image.status !== from) {
        return { ok: false, reason: 'not-supported', message: `The image '${digest}' is ${image.status}; it cannot move to storage class ${target}` };
      }
      const action: PlannedAction = { digest, action: 'transition', rulePriority: 0, reason: 'UpdateImageStorageClass' };
      // Dependents of a restore: what was archived with it. withDependents takes ACTIVE ones for a
      // transition, so compute them on the images as if archived ones were active.
      const view = target === 'ARCHIVE' ? list : list.map((i) => ({ ...i, status: i.status === 'ARCHIVED' ? ('ACTIVE' as const) : ('ARCHIVED' as const) }));
      const digests = withDependents(view, [action]).map((a) => a.digest);
      const record = async (event: EventInput) => {
        pending.push(await this.deps.events.record(tx, { ...event, at: now, ...(requestId ? { requestId } : {}) } as RegistryEvent));
      };
      if (target === 'ARCHIVE') {
        await store.setStatus(repo.row.id, digests, 'ARCHIVED', { archivedAt: now });
        await record({ type: 'lifecycle.archived', accountId: repo.accountId, repository: repo.name, digest, detail: { via: 'UpdateImageStorageClass', digests } });
        return { ok: true, status: 'ARCHIVED' };
      }
      await store.setStatus(repo.row.id, digests, 'ACTIVATING');
      await this.deps.jobs.enqueue(RESTORE_JOB, { repositoryId: repo.row.id, accountId: repo.accountId, name: repo.name, digests }, { ...(requestId ? { requestId } : {}) }, tx);
      await record({ type: 'lifecycle.restoring', accountId: repo.accountId, repository: repo.name, digest, detail: { via: 'UpdateImageStorageClass', digests } });
      return { ok: true, status: 'ACTIVATING' };
    });
    for (const deliver of pending) deliver();
    return result;
  }

  /**
   * The restore job. berth's archive keeps the blobs where they are (nothing to copy back), so a
   * restore only makes the manifests ACTIVE again, stamping `lastActivatedAt`.
   */
  async restore(payload: RepositoryPayload & { digests: string[] }, requestId?: string): Promise<{ restored: number }> {
    const now = this.now();
    let pending: () => void = () => undefined;
    const restored = await this.deps.meta.transaction(async (tx) => {
      const store = new LifecycleStore(tx);
      const activating: string[] = [];
      for (const d of payload.digests) if ((await store.state(payload.repositoryId, d))?.status === 'ACTIVATING') activating.push(d);
      if (activating.length === 0) return 0;
      await store.setStatus(payload.repositoryId, activating, 'ACTIVE', { activatedAt: now });
      pending = await this.deps.events.record(tx, {
        type: 'lifecycle.restored',
        accountId: payload.accountId,
        repository: payload.name,
        digest: payload.digests[0]!,
        detail: { digests: activating },
        at: now,
        ...(requestId ? { requestId } : {}),
      } as RegistryEvent);
      return activating.length;
    });
    pending();
    return { restored };
  }

  /** A push of an archived manifest restores it (ECR PutImage), called inside the push's transaction. */
  async activateOnPush(tx: MetadataStore, event: Extract<RegistryEvent, { type: 'image.pushed' }>): Promise<void> {
    await new LifecycleStore(tx).activateOnPush(event.accountId, event.repository, event.digest, event.at);
  }
}

/** Rule-selected actions, each with the actions that go with it (by `with`, transitively), cause first. */
export function groups(actions: readonly PlannedAction[]): PlannedAction[][] {
  const root = new Map<string, string>();
  const out = new Map<string, PlannedAction[]>();
  for (const a of actions) {
    const r = a.with ? (root.get(a.with.digest) ?? a.with.digest) : a.digest;
    root.set(a.digest, r);
    const list = out.get(r);
    if (list) list.push(a);
    else out.set(r, [a]);
  }
  return [...out.values()];
}

/** ECR's summary counts and berth's bytes freed. */
export function summarize(evaluated: EvaluatedPlan): PreviewSummary {
  let expiring = 0;
  let transitioning = 0;
  for (const a of evaluated.plan.actions) {
    if (a.action === 'expire') expiring++;
    else transitioning++;
  }
  return { expiringImageTotalCount: expiring, transitioningImageTotalCount: transitioning, bytesFreed: evaluated.bytesFreed };
}

/** One preview result per planned action, as GetLifecyclePolicyPreview reports them. */
export function resultRows(evaluated: EvaluatedPlan): PreviewResultRow[] {
  return evaluated.plan.actions.map((a) => {
    const image = evaluated.images.get(a.digest)!;
    return {
      digest: a.digest,
      tags: [...image.tags],
      pushedAt: image.pushedAt,
      action: a.action,
      rulePriority: a.rulePriority,
      storageClass: image.status === 'ARCHIVED' ? 'ARCHIVE' : 'STANDARD',
      reason: a.reason,
    };
  });
}
