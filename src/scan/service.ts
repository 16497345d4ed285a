import type { Config } from '../config/index.js';
import { BerthError, isBerthError, type AccountId, type Digest, type RepositoryName } from '../core/index.js';
import type { EventBus, RegistryEvent } from '../events/index.js';
import type { JobControl, JobRunner } from '../jobs/index.js';
import { parseManifest, type Registry, type Repository } from '../registry/index.js';
import type { BlobStore } from '../storage/blobs/index.js';
import type { JobRow, MetadataStore } from '../storage/metadata/index.js';
import { severityCounts, type Severity, type StoredFinding } from './findings.js';
import { inventoryOfImage, isScannableImage, matchInventory, type StoredInventory } from './scanner.js';
import {
  DEFAULT_SCANNING_CONFIGURATION,
  repositoryScanning,
  type RegistryScanningConfiguration,
  type RepositoryScanning,
  type ScanType,
} from './scanning-config.js';
import { importSource, type ImportOptions } from './vulndb/import.js';
import { VulnDbStore, type ImportCounts } from './vulndb/store.js';

export const SCAN_JOB = 'scan.image';
export const REMATCH_JOB = 'scan.rematch';

export interface ScanJobPayload {
  accountId: string;
  repository: string;
  digest: string;
  scanType: ScanType;
}

/** ECR's ImageScanStatus values that berth sets. */
export type ScanStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | 'UNSUPPORTED_IMAGE' | 'ACTIVE';

/** One image's scan, as DescribeImageScanFindings and DescribeImages report it. */
export interface ScanSummary {
  status: ScanStatus;
  description: string;
  scanType: ScanType;
  completedAt: number | null;
  sourceUpdatedAt: number | null;
  counts: Partial<Record<Severity, number>>;
  findingCount: number;
}

/** ECR's scans-per-day quota counts the scans of the last 24 hours. */
const DAY_MS = 24 * 3600 * 1000;

export const DESCRIPTIONS = {
  inProgress: 'The scan is in progress.',
  complete: 'The scan was completed successfully.',
  continuous: 'Continuous scan is selected for image.',
  unsupportedMedia: 'The image media type is not supported: only container images (OCI or Docker image manifests with tar layers) are scanned.',
  unsupportedOs: 'UnsupportedImageError: The operating system and/or package manager are not supported.',
} as const;

/**
 * Image scanning: the registry scanning configuration, scan jobs (`scan.image`, one at a time per
 * image), findings, re-matching of continuously scanned images when the vulnerability database
 * changes (`scan.rematch`), and the database itself. Every state is in the metadata store, so any
 * node (or `berth scan` beside a server) sees the same scans.
 */
export class ScanService {
  readonly vulndb: VulnDbStore;
  private readonly now: () => number;

  constructor(
    private readonly deps: {
      meta: MetadataStore;
      blobs: BlobStore;
      registry: Registry;
      jobs: JobRunner;
      events: EventBus;
      config: Config;
      now?: () => number;
    },
  ) {
    this.vulndb = new VulnDbStore(deps.meta);
    this.now = deps.now ?? Date.now;
  }

  // ---- configuration ----------------------------------------------------------------------

  async registryConfiguration(accountId: string, db: MetadataStore = this.deps.meta): Promise<RegistryScanningConfiguration> {
    const row = await db.kysely.selectFrom('scanning_configurations').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return row ? { scanType: row.scan_type as ScanType, rules: JSON.parse(row.rules) as RegistryScanningConfiguration['rules'] } : DEFAULT_SCANNING_CONFIGURATION;
  }

  async putRegistryConfiguration(accountId: string, config: RegistryScanningConfiguration): Promise<void> {
    const rules = JSON.stringify(config.rules);
    const now = this.now();
    await this.deps.meta.kysely
      .insertInto('scanning_configurations')
      .values({ account_id: accountId, scan_type: config.scanType, rules, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ scan_type: config.scanType, rules, updated_at: now }))
      .execute();
  }

  /** The effective scanning of a repository: the registry rules, and the legacy per-repository scanOnPush. */
  async repositoryScanning(repo: Repository): Promise<RepositoryScanning> {
    return repositoryScanning(await this.registryConfiguration(repo.accountId), repo.name, repo.row.scanOnPush);
  }

  // ---- scans ------------------------------------------------------------------------------

  /**
   * Inside the push's transaction: when scan on push applies to the repository, record the scan
   * as IN_PROGRESS and enqueue its job, so that the scan exists exactly when the push does.
   * Indexes are not scanned themselves (their platform images are, when pushed); artifacts
   * (SBOMs, signatures) are not images.
   */
  async onImagePushed(tx: MetadataStore, event: Extract<RegistryEvent, { type: 'image.pushed' }>): Promise<void> {
    if (!event.created || !isImageConfigType(event.artifactType)) return;
    const repoRow = await tx.repositories.get(event.accountId, event.repository);
    if (!repoRow) return;
    const config = await this.registryConfiguration(event.accountId, tx);
    const scanning = repositoryScanning(config, event.repository, repoRow.scanOnPush);
    if (!scanning.scanOnPush) return;
    await this.queue(tx, { id: repoRow.id, accountId: event.accountId, name: event.repository }, event.digest, config.scanType, scanning.scanFrequency === 'CONTINUOUS_SCAN', event.requestId, false);
  }

  /**
   * Scans the account asked for since `since` (epoch ms), for the daily quota: one per image
   * scanned, as a basic scan of an image is at most daily; those refused by the quota do not count.
   */
  private async scansSince(tx: MetadataStore, accountId: string, since: number): Promise<number> {
    const row = await tx.kysely
      .selectFrom('image_scans')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .where('requested_at', '>', since)
      .where('status', '!=', 'LIMIT_EXCEEDED')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Drop the scans of a deleted manifest (a repository's go with it, by cascade). */
  async onImageDeleted(tx: MetadataStore, accountId: string, repository: string, digest: string): Promise<void> {
    const repoRow = await tx.repositories.get(accountId, repository);
    if (!repoRow) return;
    await tx.kysely.deleteFrom('image_findings').where('repository_id', '=', repoRow.id).where('digest', '=', digest).execute();
    await tx.kysely.deleteFrom('image_scans').where('repository_id', '=', repoRow.id).where('digest', '=', digest).execute();
  }

  /**
   * Mark the image's scan IN_PROGRESS and enqueue its job, in `tx`; `requestId` names the request
   * that asked for it. Beyond the account's scans-per-day quota, a scan on push is recorded as
   * LIMIT_EXCEEDED without a job, and a manual one (StartImageScan) is refused.
   */
  private async queue(
    tx: MetadataStore,
    repo: { id: number; accountId: string; name: string },
    digest: string,
    scanType: ScanType,
    continuous: boolean,
    requestId: string | undefined,
    manual: boolean,
  ): Promise<void> {
    const now = this.now();
    const quota = this.deps.config.scan.dailyScanLimit;
    if (quota > 0 && (await this.scansSince(tx, repo.accountId, now - DAY_MS)) >= quota) {
      const description = `The quota of ${quota} image scans per registry per 24 hours has been exceeded. Wait and try again, or scan with StartImageScan later.`;
      if (manual) throw new BerthError('LIMIT_EXCEEDED', description);
      const limited = { status: 'LIMIT_EXCEEDED', description, requested_at: now, continuous: continuous ? 1 : 0 };
      await tx.kysely
        .insertInto('image_scans')
        .values({ repository_id: repo.id, digest, scan_type: scanType, account_id: repo.accountId, repository: repo.name, ...limited, finding_count: 0 })
        .onConflict((oc) => oc.columns(['repository_id', 'digest', 'scan_type']).doUpdateSet(limited))
        .execute();
      return;
    }
    const status = { status: 'IN_PROGRESS', description: DESCRIPTIONS.inProgress, requested_at: now, continuous: continuous ? 1 : 0 };
    await tx.kysely
      .insertInto('image_scans')
      .values({ repository_id: repo.id, digest, scan_type: scanType, account_id: repo.accountId, repository: repo.name, ...status, finding_count: 0 })
      .onConflict((oc) => oc.columns(['repository_id', 'digest', 'scan_type']).doUpdateSet(status))
      .execute();
    const payload: ScanJobPayload = { accountId: repo.accountId, repository: repo.name, digest, scanType };
    await this.deps.jobs.enqueue(SCAN_JOB, payload, { key: `${repo.accountId}/${repo.name}@${digest}`, ...(requestId ? { requestId } : {}) }, tx);
  }

  /**
   * StartImageScan: a manual basic scan. Throws UNSUPPORTED (ValidationException) under ENHANCED
   * scanning, LIMIT_EXCEEDED when the image was scanned (or is being scanned) within the basic
   * scan interval (ECR: one per image per 24 h, counting scan on push), and returns the status.
   * For an index, each platform image is scanned.
   */
  async startImageScan(repo: Repository, digest: Digest): Promise<{ status: ScanStatus; description: string }> {
    const config = await this.registryConfiguration(repo.accountId);
    if (config.scanType === 'ENHANCED') {
      throw new BerthError('UNSUPPORTED', 'This feature is disabled: manual scans are not supported when the registry uses ENHANCED scanning');
    }
    const manifest = await this.deps.registry.getManifest(repo, { kind: 'digest', digest });
    const targets = await this.imageTargets(digest, manifest.body, manifest.mediaType);
    if (targets.length === 0) throw new UnsupportedImageError(`The image with digest '${digest}' is not a container image that can be scanned`);
    const interval = this.deps.config.scan.basicScanIntervalSeconds * 1000;
    const now = this.now();
    await this.deps.meta.transaction(async (tx) => {
      const rows = await tx.kysely
        .selectFrom('image_scans')
        .select(['digest', 'requested_at', 'status'])
        .where('repository_id', '=', repo.row.id)
        .where('digest', 'in', targets)
        .where('scan_type', '=', 'BASIC')
        .execute();
      // A scan that failed or was not run (quota) does not count as the image's scan of the day.
      const recent = new Set(rows.filter((r) => r.status !== 'FAILED' && r.status !== 'LIMIT_EXCEEDED' && interval > 0 && Number(r.requested_at) > now - interval).map((r) => r.digest));
      const due = targets.filter((d) => !recent.has(d));
      if (due.length === 0) {
        throw new BerthError(
          'LIMIT_EXCEEDED',
          `The scan quota per image has been exceeded. Wait and try again. (one basic scan per image every ${interval >= 3_600_000 ? `${Math.round(interval / 3_600_000)} hours` : `${Math.round(interval / 1000)} seconds`})`,
        );
      }
      for (const d of due) await this.queue(tx, { id: repo.row.id, accountId: repo.accountId, name: repo.name }, d, 'BASIC', false, repo.origin?.requestId, true);
    });
    return { status: 'IN_PROGRESS', description: DESCRIPTIONS.inProgress };
  }

  /**
   * The image manifests a scan of a manifest covers: itself when it is a container image, or an
   * index's platform images (attestation manifests, platform `unknown/unknown`, are not images).
   */
  async imageTargets(digest: Digest, body: Buffer, mediaType: string): Promise<Digest[]> {
    const parsed = parseManifest(body, mediaType);
    if (parsed.children.length === 0) return isScannableImage(parsed.config, parsed.layers) ? [digest] : [];
    return parsed.children.filter((c) => c.platform?.['os'] !== 'unknown' && !c.mediaType.includes('index') && !c.mediaType.includes('list')).map((c) => c.digest);
  }

  /** Run one `scan.image` job: read the layers, list what is installed, match, store. */
  async runScan(payload: ScanJobPayload, job: JobRow, ctl: JobControl): Promise<unknown> {
    return this.scanImage(payload, { signal: ctl.signal, log: ctl.log, lastAttempt: job.attempts >= job.maxAttempts });
  }

  /**
   * Scan an image now, in this process, without the job queue or the basic scan limit (`berth
   * scan image`, the benchmark). Resolves with the stored scan.
   */
  async scanNow(repo: Repository, digest: Digest, signal: AbortSignal = new AbortController().signal): Promise<ScanSummary> {
    const { scanType } = await this.registryConfiguration(repo.accountId);
    const now = this.now();
    const status = { status: 'IN_PROGRESS', description: DESCRIPTIONS.inProgress, requested_at: now };
    await this.deps.meta.kysely
      .insertInto('image_scans')
      .values({ repository_id: repo.row.id, digest, scan_type: scanType, account_id: repo.accountId, repository: repo.name, continuous: 0, finding_count: 0, ...status })
      .onConflict((oc) => oc.columns(['repository_id', 'digest', 'scan_type']).doUpdateSet(status))
      .execute();
    const silent = { info() {}, warn() {}, error() {} };
    await this.scanImage({ accountId: repo.accountId, repository: repo.name, digest, scanType }, { signal, log: silent, lastAttempt: true });
    const scan = await this.scanOf(repo, digest);
    if (!scan) throw new BerthError('MANIFEST_NOT_FOUND', `manifest ${digest} is not in repository ${repo.name}`);
    return scan;
  }

  private async scanImage(payload: ScanJobPayload, ctl: { signal: AbortSignal; log: JobControl['log']; lastAttempt: boolean }): Promise<unknown> {
    const repo = await this.deps.registry.repository(payload.accountId as AccountId, payload.repository as RepositoryName).catch((err: unknown) => {
      if (isBerthError(err, 'REPOSITORY_NOT_FOUND')) return undefined;
      throw err;
    });
    if (!repo) return { skipped: 'repository deleted' };
    const manifest = await this.deps.meta.manifests.get(repo.row.id, payload.digest);
    if (!manifest) return { skipped: 'image deleted' };
    const key = { repository_id: repo.row.id, digest: payload.digest, scan_type: payload.scanType };
    try {
      const parsed = parseManifest(manifest.body, manifest.mediaType);
      if (parsed.children.length > 0 || !isScannableImage(parsed.config, parsed.layers)) {
        await this.finish(repo, payload, { status: 'UNSUPPORTED_IMAGE', description: DESCRIPTIONS.unsupportedMedia });
        return { status: 'UNSUPPORTED_IMAGE' };
      }
      const inventory = await inventoryOfImage(parsed.layers, (digest, signal) => this.deps.blobs.open(digest, signal ? { signal } : {}), {
        maxLayerBytes: this.deps.config.scan.maxLayerBytes,
        layerTimeoutMs: this.deps.config.scan.layerTimeoutSeconds * 1000,
        signal: ctl.signal,
      });
      if (!inventory.os && inventory.packages.length === 0) {
        await this.finish(repo, payload, { status: 'UNSUPPORTED_IMAGE', description: DESCRIPTIONS.unsupportedOs, inventory });
        return { status: 'UNSUPPORTED_IMAGE' };
      }
      const { generation, updatedAt } = await this.vulndb.generation();
      const findings = await matchInventory(this.vulndb, inventory);
      const row = await this.deps.meta.kysely.selectFrom('image_scans').select('continuous').where('repository_id', '=', key.repository_id).where('digest', '=', key.digest).where('scan_type', '=', key.scan_type).executeTakeFirst();
      const continuous = row ? Number(row.continuous) === 1 : false;
      const status: ScanStatus = continuous ? 'ACTIVE' : 'COMPLETE';
      const description = inventory.partial
        ? `The scan was completed, but the results are partial: ${inventory.warnings.slice(0, 3).join('; ').slice(0, 400)}`
        : continuous
          ? DESCRIPTIONS.continuous
          : DESCRIPTIONS.complete;
      await this.finish(repo, payload, { status, description, inventory, findings, generation, sourceUpdatedAt: updatedAt });
      ctl.log.info({ repo: repo.name, digest: payload.digest, packages: inventory.packages.length, findings: findings.length, partial: inventory.partial }, 'image scanned');
      return { status, packages: inventory.packages.length, findings: findings.length, partial: inventory.partial };
    } catch (err) {
      if (ctl.signal.aborted) throw err;
      if (ctl.lastAttempt) {
        await this.finish(repo, payload, { status: 'FAILED', description: `The scan failed: ${(err as Error).message}`.slice(0, 500) });
      }
      throw err;
    }
  }

  /**
   * Store a scan's outcome in one transaction, if the manifest is still there, and report
   * `scan.completed` (with the severity counts) through the registry's events.
   */
  private async finish(
    repo: Repository,
    payload: ScanJobPayload,
    result: {
      status: ScanStatus;
      description: string;
      inventory?: StoredInventory;
      findings?: StoredFinding[];
      generation?: number;
      sourceUpdatedAt?: number | null;
    },
  ): Promise<void> {
    const now = this.now();
    const findings = result.findings ?? [];
    const counts = severityCounts(findings);
    let deliver: (() => void) | undefined;
    await this.deps.meta.transaction(async (tx) => {
      if (!(await tx.manifests.get(repo.row.id, payload.digest))) return;
      await this.writeFindings(tx, repo.row.id, payload.digest, payload.scanType, findings);
      const set = {
        status: result.status,
        description: result.description,
        completed_at: now,
        source_updated_at: result.sourceUpdatedAt ?? null,
        generation: result.generation ?? null,
        severity_counts: JSON.stringify(counts),
        finding_count: findings.length,
        inventory: result.inventory ? JSON.stringify(result.inventory) : null,
      };
      await tx.kysely
        .insertInto('image_scans')
        .values({
          repository_id: repo.row.id,
          digest: payload.digest,
          scan_type: payload.scanType,
          account_id: repo.accountId,
          repository: repo.name,
          continuous: 0,
          requested_at: now,
          ...set,
        })
        .onConflict((oc) => oc.columns(['repository_id', 'digest', 'scan_type']).doUpdateSet(set))
        .execute();
      deliver = await this.deps.events.record(tx, {
        type: result.status === 'FAILED' ? 'scan.failed' : 'scan.completed',
        accountId: repo.accountId,
        repository: repo.name,
        digest: payload.digest,
        at: now,
        detail: { scanType: payload.scanType, status: result.status, findingSeverityCounts: counts, findings: findings.length, partial: result.inventory?.partial ?? false },
      });
    });
    deliver?.();
  }

  private async writeFindings(tx: MetadataStore, repositoryId: number, digest: string, scanType: string, findings: readonly StoredFinding[]): Promise<void> {
    await tx.kysely.deleteFrom('image_findings').where('repository_id', '=', repositoryId).where('digest', '=', digest).where('scan_type', '=', scanType).execute();
    const rows = findings.map((f, seq) => ({ repository_id: repositoryId, digest, scan_type: scanType, seq, severity: f.severity, finding: JSON.stringify(f) }));
    for (let i = 0; i < rows.length; i += 200) await tx.kysely.insertInto('image_findings').values(rows.slice(i, i + 200)).execute();
  }

  /**
   * Re-match continuously scanned images whose findings predate the database's generation,
   * from their stored inventory (no layer is read again).
   */
  async rematch(signal: AbortSignal): Promise<{ images: number }> {
    const { generation, updatedAt } = await this.vulndb.generation();
    let images = 0;
    let after: { repositoryId: number; digest: string; scanType: string } | undefined;
    for (;;) {
      signal.throwIfAborted();
      let q = this.deps.meta.kysely
        .selectFrom('image_scans')
        .select(['repository_id', 'digest', 'scan_type', 'account_id', 'repository', 'inventory', 'status', 'description'])
        .where('continuous', '=', 1)
        .where('inventory', 'is not', null)
        .where((eb) => eb.or([eb('generation', 'is', null), eb('generation', '<', generation)]))
        .orderBy('repository_id')
        .orderBy('digest')
        .orderBy('scan_type')
        .limit(100);
      if (after) {
        const a = after;
        q = q.where((eb) =>
          eb.or([
            eb('repository_id', '>', a.repositoryId),
            eb.and([eb('repository_id', '=', a.repositoryId), eb('digest', '>', a.digest)]),
            eb.and([eb('repository_id', '=', a.repositoryId), eb('digest', '=', a.digest), eb('scan_type', '>', a.scanType)]),
          ]),
        );
      }
      const rows = await q.execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const inventory = JSON.parse(row.inventory!) as StoredInventory;
        const findings = await matchInventory(this.vulndb, inventory);
        const counts = severityCounts(findings);
        const now = this.now();
        let deliver: (() => void) | undefined;
        await this.deps.meta.transaction(async (tx) => {
          await this.writeFindings(tx, Number(row.repository_id), row.digest, row.scan_type, findings);
          await tx.kysely
            .updateTable('image_scans')
            .set({ generation, source_updated_at: updatedAt, completed_at: now, severity_counts: JSON.stringify(counts), finding_count: findings.length })
            .where('repository_id', '=', row.repository_id)
            .where('digest', '=', row.digest)
            .where('scan_type', '=', row.scan_type)
            .execute();
          deliver = await this.deps.events.record(tx, {
            type: 'scan.completed',
            accountId: row.account_id,
            repository: row.repository,
            digest: row.digest,
            at: now,
            detail: { scanType: row.scan_type, status: row.status, findingSeverityCounts: counts, findings: findings.length, rematch: true },
          });
        });
        deliver?.();
        images++;
      }
      const last = rows[rows.length - 1]!;
      after = { repositoryId: Number(last.repository_id), digest: last.digest, scanType: last.scan_type };
    }
    return { images };
  }

  // ---- reading scans ----------------------------------------------------------------------

  /** The scan of one image manifest under the account's current scan type, or undefined when never scanned. */
  async scanOf(repo: Repository, digest: string): Promise<(ScanSummary & { inventory: StoredInventory | null }) | undefined> {
    const { scanType } = await this.registryConfiguration(repo.accountId);
    const row = await this.deps.meta.kysely
      .selectFrom('image_scans')
      .selectAll()
      .where('repository_id', '=', repo.row.id)
      .where('digest', '=', digest)
      .where('scan_type', '=', scanType)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      status: row.status as ScanStatus,
      description: row.description,
      scanType,
      completedAt: row.completed_at === null ? null : Number(row.completed_at),
      sourceUpdatedAt: row.source_updated_at === null ? null : Number(row.source_updated_at),
      counts: row.severity_counts ? (JSON.parse(row.severity_counts) as Partial<Record<Severity, number>>) : {},
      findingCount: Number(row.finding_count),
      inventory: row.inventory ? (JSON.parse(row.inventory) as StoredInventory) : null,
    };
  }

  /** Summaries of the scans of `digests` (DescribeImages), under the account's current scan type. */
  async summaries(repo: Repository, digests: readonly string[]): Promise<Map<string, ScanSummary>> {
    const out = new Map<string, ScanSummary>();
    if (digests.length === 0) return out;
    const { scanType } = await this.registryConfiguration(repo.accountId);
    const rows = await this.deps.meta.kysely
      .selectFrom('image_scans')
      .select(['digest', 'status', 'description', 'completed_at', 'source_updated_at', 'severity_counts', 'finding_count'])
      .where('repository_id', '=', repo.row.id)
      .where('digest', 'in', [...digests])
      .where('scan_type', '=', scanType)
      .execute();
    for (const row of rows) {
      out.set(row.digest, {
        status: row.status as ScanStatus,
        description: row.description,
        scanType,
        completedAt: row.completed_at === null ? null : Number(row.completed_at),
        sourceUpdatedAt: row.source_updated_at === null ? null : Number(row.source_updated_at),
        counts: row.severity_counts ? (JSON.parse(row.severity_counts) as Partial<Record<Severity, number>>) : {},
        findingCount: Number(row.finding_count),
      });
    }
    return out;
  }

  /** A page of an image's findings in report order, from position `from`. */
  async findingsPage(repo: Repository, digest: string, scanType: ScanType, from: number, limit: number): Promise<StoredFinding[]> {
    const rows = await this.deps.meta.kysely
      .selectFrom('image_findings')
      .select('finding')
      .where('repository_id', '=', repo.row.id)
      .where('digest', '=', digest)
      .where('scan_type', '=', scanType)
      .where('seq', '>=', from)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => JSON.parse(r.finding) as StoredFinding);
  }

  // ---- the vulnerability database ---------------------------------------------------------

  /**
   * Import OSV records from a folder, zip or URL; when anything changed, queue the re-match of
   * continuously scanned images (a server runs it, also when this runs in `berth vulndb`).
   */
  async importVulnDb(source: string, opts: ImportOptions = {}): Promise<ImportCounts> {
    const counts = await importSource(this.vulndb, source, { ...opts, now: this.now });
    if (counts.added + counts.updated > 0) await this.deps.jobs.enqueue(REMATCH_JOB, {}, { key: 'rematch' });
    return counts;
  }
}

/** UnsupportedImageTypeException, which has no domain error code of its own. */
export class UnsupportedImageError extends Error {
  override readonly name = 'UnsupportedImageError';
}

function isImageConfigType(type: string | null): boolean {
  return type === 'application/vnd.oci.image.config.v1+json' || type === 'application/vnd.docker.container.image.v1+json';
}
