import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CapabilityContext, Services } from '../capabilities.js';
import type { Peer } from '../config/index.js';
import { BerthError, isBerthError, parseAccountId, parseDigest, parseRepositoryName, type Digest, type RequestContext } from '../core/index.js';
import type { RegistryEvent } from '../events/index.js';
import { PermanentJobError, type JobControl } from '../jobs/index.js';
import type { Repository } from '../registry/index.js';
import { DEFAULT_REPOSITORY_SETTINGS, type JobRow, type MetadataStore, type RepositoryRow } from '../storage/metadata/index.js';
import { RegistryClient } from '../upstream/index.js';
import type { RepositoryCreator } from './admission.js';
import { ReplicationFailure, copyImage, type CopyReport, type CopyTarget } from './copier.js';
import {
  destinationKey,
  destinationsFor,
  hasDestination,
  parseReplicationConfiguration,
  repositoryGoesTo,
  type ReplicationConfiguration,
  type ReplicationDestination,
} from './rules.js';
import {
  ReplicationStore,
  TERMINAL_BACKFILL,
  type BackfillCursor,
  type BackfillResultRow,
  type BackfillRow,
  type ImageReplicationStatusRow,
} from './store.js';
import { PEER_PREFIX } from './peer-endpoint.js';
import { LocalTarget, PeerTarget } from './targets.js';

export const COPY_JOB = 'replication.copy';
export const BACKFILL_JOB = 'replication.backfill';

/** ECR: one backfill in progress per destination region, at most 10 per registry. */
const MAX_ACTIVE_BACKFILLS = 10;
/** Finished backfills stay listed this long (ECR: 90 days). */
const BACKFILL_RETENTION_MS = 90 * 24 * 3600_000;

/** A copy job: one image (and the tag the push set) to one destination. */
export interface CopyJob {
  accountId: string;
  repository: string;
  digest: string;
  tag?: string;
  destination: ReplicationDestination;
}

export interface ReplicationServiceOptions {
  /** Pause between two images of a backfill, so that it never takes the bandwidth pushes need. Default 100 ms. */
  backfillPacingMs?: number;
}

/**
 * Replication (docs/replication.md): the rules of each registry, the durable copy jobs that each
 * push matching them becomes, their per-destination status, and backfills of what existed before.
 */
export class ReplicationService {
  readonly store: ReplicationStore;
  private readonly peers: Map<string, Peer>;
  private readonly clients = new Map<string, RegistryClient>();
  private readonly pacingMs: number;

  constructor(
    private readonly ctx: CapabilityContext,
    opts: ReplicationServiceOptions = {},
  ) {
    this.store = new ReplicationStore(ctx.meta);
    this.peers = new Map(ctx.config.peers.map((p) => [p.region, p]));
    this.pacingMs = opts.backfillPacingMs ?? 100;
  }

  get region(): string {
    return this.ctx.config.region;
  }

  // ---- configuration -----------------------------------------------------------------------

  /** Validate and store an account's rules (PutReplicationConfiguration); returns them as stored. */
  async putConfiguration(accountId: string, raw: unknown): Promise<ReplicationConfiguration> {
    const config = parseReplicationConfiguration(raw, { accountId, region: this.region, peerRegions: new Set(this.peers.keys()) });
    await this.store.putConfiguration(accountId, config, Date.now());
    return config;
  }

  /** The account's rules; `{rules: []}` when none were put. */
  async configuration(accountId: string): Promise<ReplicationConfiguration> {
    return (await this.store.configuration(accountId)) ?? { rules: [] };
  }

  // ---- reacting to pushes ------------------------------------------------------------------

  /**
   * Inside a push's transaction: one copy job per destination of the rules that match the
   * repository, so the jobs exist exactly when the push does. An image that itself arrived by
   * replication goes no further (ECR: no chaining).
   */
  async onEvent(tx: MetadataStore, event: RegistryEvent): Promise<void> {
    // A replicated image deleted at the destination and pushed there again is the account's own.
    // Its statuses go with it (a copy still queued reports SOURCE_IMAGE_NOT_FOUND when it runs).
    if (event.type === 'image.deleted' || event.type === 'repository.deleted') {
      const store = this.store.in(tx);
      const digest = event.type === 'image.deleted' ? event.digest : undefined;
      await store.clearInbound(event.accountId, event.repository, digest);
      await store.clearStatuses(event.accountId, event.repository, digest);
      return;
    }
    if (event.type !== 'image.pushed') return;
    const store = this.store.in(tx);
    const config = await store.configuration(event.accountId);
    const destinations = destinationsFor(config, event.repository);
    if (destinations.length === 0) return;
    if (await store.isInbound(event.accountId, event.repository, event.digest)) return;
    for (const destination of destinations) {
      await this.enqueueCopy(tx, { accountId: event.accountId, repository: event.repository, digest: event.digest, ...(event.tag !== undefined ? { tag: event.tag } : {}), destination }, event.requestId);
    }
  }

  private async enqueueCopy(tx: MetadataStore, job: CopyJob, requestId?: string): Promise<void> {
    await this.store.in(tx).setStatus({ accountId: job.accountId, repository: job.repository, digest: job.digest }, job.destination, 'IN_PROGRESS', Date.now());
    const key = `${destinationKey(job.destination)}/${job.accountId}/${job.repository}@${job.digest}:${job.tag ?? ''}`;
    await this.ctx.jobs.enqueue(COPY_JOB, job, { key, ...(requestId ? { requestId } : {}) }, tx);
  }

  // ---- copying -----------------------------------------------------------------------------

  /** The job handler of `replication.copy`. */
  async runCopy(job: CopyJob, row: JobRow, ctl: JobControl): Promise<CopyReport | undefined> {
    const image = { accountId: job.accountId, repository: job.repository, digest: job.digest };
    try {
      const report = await this.copy(job, ctl.signal, ctl.origin);
      await this.finish(image, job.destination, row.requestId, report);
      ctl.log.info({ repo: job.repository, digest: job.digest, destination: destinationKey(job.destination), ...report }, 'image replicated');
      return report;
    } catch (err) {
      if (ctl.signal.aborted) throw err;
      const failure = asFailure(err);
      const last = failure.permanent || row.attempts >= row.maxAttempts;
      if (last) {
        await this.fail(image, job.destination, row.requestId, failure);
        if (failure.permanent) throw new PermanentJobError(`${failure.code}: ${failure.message}`);
      }
      throw failure;
    }
  }

  /** Copy one image to one destination (idempotent). Throws ReplicationFailure. */
  async copy(job: CopyJob, signal: AbortSignal, origin?: RequestContext): Promise<CopyReport> {
    let source: Repository;
    try {
      // Opened for the job: a local destination's events carry the job's request id (LocalTarget).
      source = await this.ctx.registry.repository(parseAccountId(job.accountId), parseRepositoryName(job.repository), { origin });
    } catch (err) {
      if (isBerthError(err, 'REPOSITORY_NOT_FOUND')) throw new ReplicationFailure('SOURCE_IMAGE_NOT_FOUND', `repository ${job.repository} was deleted`, true);
      throw err;
    }
    const target = this.targetFor(source, job.destination);
    return copyImage({ registry: this.ctx.registry, blobs: this.ctx.blobs }, source, parseDigest(job.digest), job.tag, target, signal);
  }

  private targetFor(source: Repository, destination: ReplicationDestination): CopyTarget {
    if (destination.region === this.region) {
      return new LocalTarget(
        { registry: this.ctx.registry, policies: this.ctx.policies, region: this.region, meta: this.ctx.meta, createRepository: this.createRepository },
        source,
        destination.registryId,
      );
    }
    const peer = this.peers.get(destination.region);
    if (!peer) throw new ReplicationFailure('PEER_NOT_CONFIGURED', `no peer is configured for region ${destination.region}`, true);
    return new PeerTarget(this.client(peer, source.accountId), peer, { accountId: source.accountId, region: this.region, repository: source.name }, destination.registryId);
  }

  /** A registry client for the peer's replication endpoint on behalf of one source account (docs/replication.md). */
  private client(peer: Peer, sourceAccount: string): RegistryClient {
    const key = `${peer.region}/${sourceAccount}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new RegistryClient({
        baseUrl: `${peer.endpoint}${PEER_PREFIX}/${sourceAccount}`,
        credentials: { username: peer.accessKeyId, password: peer.secretAccessKey },
        // The configuration allows http:// only for loopback peers.
        allowHttp: true,
        userAgent: `berth-replication/${this.region}`,
        retries: 2,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /**
   * Create a destination repository: through the repository creation templates (a template whose
   * `appliedFor` has REPLICATION) when that capability is there, else with ECR's defaults.
   */
  readonly createRepository: RepositoryCreator = async (accountId, name) => {
    const account = parseAccountId(accountId);
    // Optional at run time: an admin command or a build without the templates capability.
    const templates = this.ctx.services.templates as Services['templates'] | undefined;
    if (templates) return templates.createRepository(account, name, 'REPLICATION');
    return this.ctx.registry.createRepository(
      account,
      name,
      DEFAULT_REPOSITORY_SETTINGS,
      { arn: `arn:aws:ecr:${this.region}:${accountId}:repository/${name}`, tags: [] },
      { via: 'REPLICATION' },
    );
  };

  private async finish(image: { accountId: string; repository: string; digest: string }, destination: ReplicationDestination, requestId: string | null, report: CopyReport): Promise<void> {
    let deliver: (() => void) | undefined;
    await this.ctx.meta.transaction(async (tx) => {
      await this.store.in(tx).setStatus(image, destination, 'COMPLETE', Date.now());
      deliver = await this.ctx.events.record(tx, this.event('replication.completed', image, requestId, { destinationRegion: destination.region, destinationRegistryId: destination.registryId, status: 'COMPLETE', ...report }));
    });
    deliver?.();
  }

  private async fail(image: { accountId: string; repository: string; digest: string }, destination: ReplicationDestination, requestId: string | null, failure: ReplicationFailure): Promise<void> {
    let deliver: (() => void) | undefined;
    await this.ctx.meta.transaction(async (tx) => {
      // A deleted image has no status to show any more (its rows went with it).
      if (failure.code !== 'SOURCE_IMAGE_NOT_FOUND') {
        await this.store.in(tx).setStatus(image, destination, 'FAILED', Date.now(), { code: failure.code, reason: failure.message });
      }
      deliver = await this.ctx.events.record(
        tx,
        this.event('replication.failed', image, requestId, {
          destinationRegion: destination.region,
          destinationRegistryId: destination.registryId,
          status: 'FAILED',
          failureCode: failure.code,
          reason: failure.message,
        }),
      );
    });
    deliver?.();
  }

  private event(type: `replication.${string}`, image: { accountId: string; repository: string; digest: string }, requestId: string | null, detail: Record<string, unknown>): RegistryEvent {
    return { type, accountId: image.accountId, repository: image.repository, digest: image.digest, at: Date.now(), ...(requestId ? { requestId } : {}), detail };
  }

  // ---- status ------------------------------------------------------------------------------

  /**
   * DescribeImageReplicationStatus: one entry per destination the image was sent to, and for a
   * destination the rules name now but that the image never went to (pushed before the rule),
   * nothing, as ECR (backfill copies those).
   */
  async statuses(accountId: string, repository: string, digest: string): Promise<ImageReplicationStatusRow[]> {
    return this.store.statuses(accountId, repository, digest);
  }

  // ---- backfill ----------------------------------------------------------------------------

  async startBackfill(accountId: string, destination: ReplicationDestination, requestId?: string): Promise<BackfillRow> {
    const config = await this.store.configuration(accountId);
    if (!hasDestination(config, destination)) {
      throw new BerthError(
        'INVALID_PARAMETER',
        `Invalid parameter at 'destination' failed to satisfy constraint: 'destination ${destination.registryId} in ${destination.region} is not in the replication configuration'`,
      );
    }
    const id = randomUUID();
    const now = Date.now();
    await this.ctx.meta.transaction(async (tx) => {
      const store = this.store.in(tx);
      const active = await store.activeBackfills(accountId);
      if (active.some((b) => b.destination.region === destination.region)) {
        throw new BackfillError('ReplicationBackfillInProgressException', `a replication backfill to region ${destination.region} is already in progress`);
      }
      if (active.length >= MAX_ACTIVE_BACKFILLS) {
        throw new BerthError('LIMIT_EXCEEDED', `The operation did not succeed because it would have exceeded a service limit: at most ${MAX_ACTIVE_BACKFILLS} replication backfills in progress per registry`);
      }
      await store.purgeBackfills(accountId, now - BACKFILL_RETENTION_MS);
      await store.createBackfill({ id, accountId, destination, startedAt: now });
      await this.ctx.jobs.enqueue(BACKFILL_JOB, { backfillId: id }, { key: id, ...(requestId ? { requestId } : {}) }, tx);
    });
    return (await this.store.backfill(id))!;
  }

  async stopBackfill(accountId: string, id: string): Promise<BackfillRow> {
    return this.ctx.meta.transaction(async (tx) => {
      const store = this.store.in(tx);
      const row = await store.backfill(id);
      if (!row || row.accountId !== accountId) throw new BackfillError('ReplicationBackfillNotFoundException', `replication backfill ${id} does not exist in the registry ${accountId}`);
      if (TERMINAL_BACKFILL.has(row.status)) throw new BackfillError('ReplicationBackfillInvalidStatusException', `replication backfill ${id} has already ended (${row.status})`);
      // The job ends the backfill (STOPPED) at its next step, after the copy in flight.
      if (row.status !== 'STOPPING') await store.updateBackfill(id, { status: 'STOPPING' });
      return { ...row, status: 'STOPPING' as const };
    });
  }

  async backfill(accountId: string, id: string): Promise<BackfillRow> {
    const row = await this.store.backfill(id);
    if (!row || row.accountId !== accountId) throw new BackfillError('ReplicationBackfillNotFoundException', `replication backfill ${id} does not exist in the registry ${accountId}`);
    return row;
  }

  async backfillPage(accountId: string, page: { after?: { startedAt: number; id: string }; limit: number }): Promise<BackfillRow[]> {
    return this.store.backfillPage(accountId, { ...page, since: Date.now() - BACKFILL_RETENTION_MS });
  }

  async backfillResults(id: string, page: { after?: BackfillCursor; limit: number; status?: 'COMPLETE' | 'FAILED' }): Promise<BackfillResultRow[]> {
    return this.store.resultPage(id, page);
  }

  /**
   * The job handler of `replication.backfill`: count what the rules select for the destination
   * (PREPARING), then copy each image x tag combination in (repository, digest, tag) order, one at
   * a time with a pause between two, saving the cursor after each, so that a restart resumes
   * where it stopped and pushes keep the copy slots and the bandwidth.
   */
  async runBackfill(payload: { backfillId: string }, row: JobRow, ctl: JobControl): Promise<void> {
    const store = this.store;
    let bf = await store.backfill(payload.backfillId);
    if (!bf || TERMINAL_BACKFILL.has(bf.status)) return;
    const config = await store.configuration(bf.accountId);
    const account = parseAccountId(bf.accountId);
    const end = async (status: 'STOPPED' | 'COMPLETE' | 'FAILED', failureCode?: string) => {
      const counts = await store.resultCounts(bf!.id);
      await store.updateBackfill(bf!.id, {
        status,
        completed: counts.completed,
        failed: counts.failed,
        failureCodes: counts.codes,
        endedAt: Date.now(),
        ...(failureCode ? { failureCode } : {}),
      });
      ctl.log.info({ backfill: bf!.id, status, completed: counts.completed, failed: counts.failed }, 'replication backfill ended');
    };
    if (bf.status === 'STOPPING') return end('STOPPED');
    if (!hasDestination(config, bf.destination)) return end('FAILED', 'DESTINATION_NOT_CONFIGURED');

    if (bf.status === 'PREPARING') {
      let total = 0;
      for await (const item of this.combinations(account, config!, bf.destination, null)) {
        void item;
        total++;
        if (total % 500 === 0) await ctl.heartbeat();
      }
      await store.updateBackfill(bf.id, { status: 'IN_PROGRESS', total });
      bf = { ...bf, status: 'IN_PROGRESS', total };
    }
    // Counters from the recorded results, so a resumed backfill does not count a combination twice.
    const counts = await store.resultCounts(bf.id);
    let completed = counts.completed;
    let failed = counts.failed;
    const codes = new Set(counts.codes);
    for await (const item of this.combinations(account, config!, bf.destination, bf.cursor)) {
      ctl.signal.throwIfAborted();
      const now = await store.backfill(bf.id);
      if (now?.status === 'STOPPING') return end('STOPPED');
      const job: CopyJob = { accountId: bf.accountId, repository: item.repository, digest: item.digest, ...(item.tag !== null ? { tag: item.tag } : {}), destination: bf.destination };
      const image = { accountId: job.accountId, repository: job.repository, digest: job.digest };
      let result: BackfillResultRow;
      try {
        await store.setStatus(image, bf.destination, 'IN_PROGRESS', Date.now());
        const report = await this.copy(job, ctl.signal, ctl.origin);
        await this.finish(image, bf.destination, row.requestId, report);
        result = { ...item, status: 'COMPLETE', failureCode: null, subImageFailureCodes: null };
        completed++;
      } catch (err) {
        if (ctl.signal.aborted) throw err;
        const failure = asFailure(err);
        await this.fail(image, bf.destination, row.requestId, failure);
        result = { ...item, status: 'FAILED', failureCode: failure.code, subImageFailureCodes: failure.subImageFailureCodes ? [...failure.subImageFailureCodes] : null };
        failed++;
        codes.add(failure.code);
      }
      await store.putResult(bf.id, result);
      await store.updateBackfill(bf.id, {
        cursor: { repository: item.repository, digest: item.digest, tag: item.tag ?? '' },
        completed,
        failed,
        failureCodes: [...codes].sort(),
      });
      await ctl.heartbeat();
      if (this.pacingMs > 0) await sleep(this.pacingMs, undefined, { signal: ctl.signal });
    }
    return end('COMPLETE');
  }

  /** The image x tag combinations (an untagged image once, tag null) that a backfill to `destination` covers, after `cursor`. */
  private async *combinations(
    account: ReturnType<typeof parseAccountId>,
    config: ReplicationConfiguration,
    destination: ReplicationDestination,
    cursor: BackfillCursor | null,
  ): AsyncGenerator<{ repository: string; digest: Digest; tag: string | null }> {
    const walk = async function* (this: ReplicationService, row: RepositoryRow, from: { digest: string; tag: string } | undefined) {
      const repo = { accountId: account, name: parseRepositoryName(row.name), row };
      let after = from;
      for (;;) {
        // Archived images are not replicated (they are not pullable): only active ones are backfilled.
        const page = await this.ctx.registry.images.idPage(repo, { ...(after ? { after } : {}), limit: 200, tagStatus: 'ANY', imageStatus: 'ACTIVE' });
        // The platform images of an index go with it (their failures are its subImageFailureCodes).
        const listed = await this.ctx.meta.manifests.listedByIndex(row.id, page.filter((p) => p.tag === null).map((p) => p.digest));
        for (const p of page) if (!listed.has(p.digest)) yield { repository: row.name, digest: p.digest as Digest, tag: p.tag };
        if (page.length < 200) return;
        const last = page[page.length - 1]!;
        after = { digest: last.digest, tag: last.tag ?? '' };
      }
    };
    // The cursor's repository is walked on from the cursor, then the later ones from their start.
    if (cursor) {
      const [row] = await this.ctx.meta.repositories.getMany(account, [cursor.repository]);
      if (row && repositoryGoesTo(config, row.name, destination)) yield* walk.call(this, row, { digest: cursor.digest, tag: cursor.tag });
    }
    let afterRepo = cursor?.repository;
    for (;;) {
      const repos = await this.ctx.meta.repositories.list(account, { ...(afterRepo !== undefined ? { after: afterRepo } : {}), limit: 100 });
      if (repos.length === 0) return;
      for (const row of repos) {
        afterRepo = row.name;
        if (repositoryGoesTo(config, row.name, destination)) yield* walk.call(this, row, undefined);
      }
    }
  }
}

/** An ECR exception type of the backfill operations that no BerthError code names. */
export class BackfillError extends Error {
  constructor(
    readonly type: 'ReplicationBackfillInProgressException' | 'ReplicationBackfillNotFoundException' | 'ReplicationBackfillInvalidStatusException',
    message: string,
  ) {
    super(message);
  }
}

function asFailure(err: unknown): ReplicationFailure {
  if (err instanceof ReplicationFailure) return err;
  if (isBerthError(err, 'LIMIT_EXCEEDED')) return new ReplicationFailure('DESTINATION_LIMIT_EXCEEDED', err.message, true, { cause: err });
  return new ReplicationFailure('INTERNAL_ERROR', err instanceof Error ? err.message : String(err), false, { cause: err });
}
