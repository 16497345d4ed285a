import { BerthError, type AccountId } from '../core/index.js';
import { parsePolicy, type PolicyDocument } from '../iam/policy/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import type { Repository } from './registry.js';
import { LocalInvalidator, type CacheInvalidator } from '../cluster/index.js';

/** ECR's limit on repository and registry policy text (SetRepositoryPolicy, PutRegistryPolicy `policyText`). */
export const MAX_POLICY_LENGTH = 10_240;

/** How long a policy read from the metadata store is trusted, when no option says otherwise. */
const DEFAULT_TTL_MS = 5_000;
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Every action ECR's authorization reference lists (ECR semantics e.2): one per API operation,
 * the permission-only ones, and the replication backfill operations of the 2026 JS model. A policy
 * action must match at least one of these, so a typo (`ecr:BatchGetImages`) is refused rather than
 * stored as a statement that never applies.
 */
export const ECR_ACTIONS: readonly string[] = [
  'BatchCheckLayerAvailability', 'BatchDeleteImage', 'BatchGetImage', 'BatchGetRepositoryScanningConfiguration',
  'BatchImportUpstreamImage', 'CompleteLayerUpload', 'CreatePullThroughCacheRule', 'CreateRepository',
  'CreateRepositoryCreationTemplate', 'DeleteLifecyclePolicy', 'DeletePullThroughCacheRule', 'DeleteRegistryPolicy',
  'DeleteRepository', 'DeleteRepositoryCreationTemplate', 'DeleteRepositoryPolicy', 'DeleteSigningConfiguration',
  'DeregisterPullTimeUpdateExclusion', 'DescribeImageReplicationStatus', 'DescribeImageScanFindings',
  'DescribeImageSigningStatus', 'DescribeImages', 'DescribePullThroughCacheRules', 'DescribeRegistry',
  'DescribeReplicationBackfillResults', 'DescribeRepositories', 'DescribeRepositoryCreationTemplates',
  'GetAccountSetting', 'GetAuthorizationToken', 'GetDownloadUrlForLayer', 'GetImageCopyStatus', 'GetLifecyclePolicy',
  'GetLifecyclePolicyPreview', 'GetRegistryPolicy', 'GetRegistryScanningConfiguration', 'GetRepositoryPolicy',
  'GetSigningConfiguration', 'InitiateLayerUpload', 'ListImages', 'ListPullTimeUpdateExclusions',
  'ListReplicationBackfills', 'ListTagsForResource', 'PutAccountSetting', 'PutImage', 'PutImageScanningConfiguration',
  'PutImageTagMutability', 'PutLifecyclePolicy', 'PutRegistryPolicy', 'PutRegistryScanningConfiguration',
  'PutReplicationConfiguration', 'PutSigningConfiguration', 'RegisterPullTimeUpdateExclusion', 'ReplicateImage',
  'SetRepositoryPolicy', 'StartImageScan', 'StartLifecyclePolicyPreview', 'StartReplicationBackfill',
  'StopReplicationBackfill', 'TagResource', 'UntagResource', 'UpdateImageStorageClass', 'UpdatePullThroughCacheRule',
  'UpdateRepositoryCreationTemplate', 'UploadLayerPart', 'ValidatePullThroughCacheRule',
];

/**
 * Parse a repository policy as ECR validates one (SetRepositoryPolicy): the IAM grammar of a
 * resource policy whose `Resource` may be left out (the repository is implied), at most 10,240
 * characters, naming only `ecr:` actions (or `*`). Throws INVALID_PARAMETER naming the faulty part.
 */
export function parseRepositoryPolicy(text: string): PolicyDocument {
  const doc = parsePolicy(text, 'resource', REPOSITORY_PARSE);
  checkStatements(text, (statement, at) => checkActions(statement, at));
  return doc;
}

/**
 * Parse a registry policy as ECR validates one (PutRegistryPolicy). With registry policy scope V2
 * (the only scope since April 2026) any `ecr:` action may appear, so the actions are checked as for
 * a repository policy. `Resource` is required, and each one must be `*` or a repository ARN (name
 * wildcards allowed) of this registry: `arn:aws:ecr:<region>:<accountId>:repository/<name>`.
 * Throws INVALID_PARAMETER naming the faulty part.
 */
export function parseRegistryPolicy(text: string, registry: { accountId: string; region: string }): PolicyDocument {
  const doc = parsePolicy(text, 'resource', REGISTRY_PARSE);
  checkStatements(text, (statement, at) => {
    checkActions(statement, at);
    checkRegistryResources(statement, at, registry);
  });
  return doc;
}

const REPOSITORY_PARSE = { maxLength: MAX_POLICY_LENGTH, resourceImplied: true } as const;
const REGISTRY_PARSE = { maxLength: MAX_POLICY_LENGTH } as const;

export interface RepositoryPoliciesOptions {
  /**
   * How long a policy read from the store is used before it is read again. Writes through this
   * object are seen at once in this process; other nodes see them after at most this long.
   * Default 5000 ms.
   */
  ttlMs?: number;
  /** Cached entries per kind; past this the cache starts over. Default 10,000. */
  maxEntries?: number;
  now?: () => number;
  /** Tells the other nodes sharing the database to drop a changed policy at once (src/cluster/); the TTL bounds staleness if a notification is lost. */
  invalidator?: CacheInvalidator;
}

interface Entry {
  readonly value: Promise<PolicyDocument | undefined>;
  readonly expires: number;
}

/**
 * ECR resource policies (repository policies) and registry policies: stored, read back as sent,
 * and parsed once for the authorizer, which asks on every request.
 *
 * Caching: parsed documents (and the absence of one, the common case) are kept per repository id
 * and per account for `ttlMs`. Set/Delete through this object drop the entry in this process, so
 * the next request here sees the change; other nodes sharing the database see it when their entry
 * expires (at most `ttlMs`, 5 s by default), or at once on PostgreSQL, where `invalidator` tells
 * them (LISTEN/NOTIFY, src/cluster/).
 *
 * Entries hold the load's promise, so concurrent misses share one read, and an invalidation that
 * lands while a read is in flight discards that read's result rather than letting it refill the
 * cache with the old policy. Repository ids are never reused (SQLite AUTOINCREMENT, PostgreSQL
 * sequences), so the entry of a deleted repository cannot answer for a new one of the same name.
 */
export class RepositoryPolicies {
  private readonly repositories = new Map<number, Entry>();
  private readonly registries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly meta: MetadataStore,
    opts: RepositoryPoliciesOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.now = opts.now ?? Date.now;
    this.invalidator = opts.invalidator ?? new LocalInvalidator();
    this.invalidator.on('repository-policy', (id) => (id === undefined ? this.repositories.clear() : this.repositories.delete(Number(id))));
    this.invalidator.on('registry-policy', (account) => (account === undefined ? this.registries.clear() : this.registries.delete(account)));
  }

  private readonly invalidator: CacheInvalidator;

  /**
   * The repository's policy, parsed, or undefined when it has none. Cheap on a hit (one map
   * lookup); on a miss one metadata read and one parse. A stored text that no longer parses (a
   * stricter engine than the one that accepted it) throws INTERNAL rather than being ignored: a
   * policy that may hold a Deny must not fail open.
   */
  resourcePolicyOf(repo: Repository): Promise<PolicyDocument | undefined> {
    return this.cached(this.repositories, repo.row.id, async () => {
      const text = await this.meta.policies.getRepositoryPolicy(repo.row.id);
      return text === undefined ? undefined : reparse(text, REPOSITORY_PARSE, `repository ${repo.accountId}/${repo.name}`);
    });
  }

  /** The registry policy of `accountId`, parsed, or undefined when it has none. Cached as `resourcePolicyOf`. */
  registryPolicyOf(accountId: AccountId | string): Promise<PolicyDocument | undefined> {
    return this.cached(this.registries, accountId, async () => {
      const text = await this.meta.policies.getRegistryPolicy(accountId);
      return text === undefined ? undefined : reparse(text, REGISTRY_PARSE, `registry ${accountId}`);
    });
  }

  /** The repository policy text exactly as it was set, read from the store (never cached). */
  async repositoryPolicyText(repo: Repository): Promise<string | undefined> {
    return this.meta.policies.getRepositoryPolicy(repo.row.id);
  }

  /** Attach or replace the repository's policy. `doc` comes from `parseRepositoryPolicy`; its text is stored as sent. */
  async setRepositoryPolicy(repo: Repository, doc: PolicyDocument): Promise<void> {
    try {
      await this.meta.policies.putRepositoryPolicy(repo.row.id, doc.text, this.now());
    } finally {
      this.invalidator.invalidate('repository-policy', String(repo.row.id));
    }
  }

  /** Remove the repository's policy; returns the removed text, or undefined when there was none. */
  async deleteRepositoryPolicy(repo: Repository): Promise<string | undefined> {
    try {
      return await this.meta.policies.deleteRepositoryPolicy(repo.row.id);
    } finally {
      this.invalidator.invalidate('repository-policy', String(repo.row.id));
    }
  }

  /** The registry policy text exactly as it was put, read from the store (never cached). */
  async registryPolicyText(accountId: AccountId | string): Promise<string | undefined> {
    return this.meta.policies.getRegistryPolicy(accountId);
  }

  /** Attach or replace the registry policy of `accountId`. `doc` comes from `parseRegistryPolicy`. */
  async putRegistryPolicy(accountId: AccountId | string, doc: PolicyDocument): Promise<void> {
    try {
      await this.meta.policies.putRegistryPolicy(accountId, doc.text, this.now());
    } finally {
      this.invalidator.invalidate('registry-policy', accountId);
    }
  }

  /** Remove the registry policy of `accountId`; returns the removed text, or undefined when there was none. */
  async deleteRegistryPolicy(accountId: AccountId | string): Promise<string | undefined> {
    try {
      return await this.meta.policies.deleteRegistryPolicy(accountId);
    } finally {
      this.invalidator.invalidate('registry-policy', accountId);
    }
  }

  private cached<K>(map: Map<K, Entry>, key: K, load: () => Promise<PolicyDocument | undefined>): Promise<PolicyDocument | undefined> {
    const now = this.now();
    const hit = map.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (map.size >= this.maxEntries) map.clear();
    const value = load();
    const entry: Entry = { value, expires: now + this.ttlMs };
    map.set(key, entry);
    // A failed read is not remembered: the next request tries again.
    value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
    return value;
  }
}

function reparse(text: string, opts: { maxLength: number; resourceImplied?: boolean }, what: string): PolicyDocument {
  try {
    return parsePolicy(text, 'resource', opts);
  } catch (err) {
    throw new BerthError('INTERNAL', `the stored policy of ${what} no longer parses; set it again`, { what }, { cause: err });
  }
}

// ---- ECR's checks beyond the IAM grammar ---------------------------------------------------------
// They run after parsePolicy accepted the document, so the JSON is valid and each statement is an
// object whose Action/NotAction/Resource/NotResource are strings or lists of strings.

type RawStatement = Record<string, unknown>;

function checkStatements(text: string, check: (statement: RawStatement, at: string) => void): void {
  const raw = JSON.parse(text) as { Statement?: unknown };
  // Paths as the engine writes them: `Statement` for a single object, `Statement[i]` in a list.
  const statements = Array.isArray(raw.Statement) ? raw.Statement.map((s, i) => [s, `Statement[${i}]`] as const) : [[raw.Statement, 'Statement'] as const];
  for (const [statement, at] of statements) {
    if (typeof statement === 'object' && statement !== null) check(statement as RawStatement, at);
  }
}

/** The strings of an element with their paths: `Action` for a string, `Action[i]` in a list. */
function valuesOf(value: unknown, at: string): [string, string][] {
  if (typeof value === 'string') return [[value, at]];
  return Array.isArray(value) ? value.flatMap((v, i): [string, string][] => (typeof v === 'string' ? [[v, `${at}[${i}]`]] : [])) : [];
}

function checkActions(statement: RawStatement, at: string): void {
  for (const element of ['Action', 'NotAction'] as const) {
    for (const [action, path] of valuesOf(statement[element], `${at}.${element}`)) {
      if (action === '*') continue;
      const colon = action.indexOf(':');
      // IAM service prefixes and action names are case-insensitive.
      if (colon < 0 || action.slice(0, colon).toLowerCase() !== 'ecr') {
        throw policyError(path, `'${action.slice(0, 128)}' is not an ECR action; an ECR policy may name only ecr: actions`);
      }
      const name = globRegExp(action.slice(colon + 1), 'i');
      if (!ECR_ACTIONS.some((a) => name.test(a))) {
        throw policyError(path, `'${action.slice(0, 128)}' matches no ECR action`);
      }
    }
  }
}

function checkRegistryResources(statement: RawStatement, at: string, registry: { accountId: string; region: string }): void {
  for (const element of ['Resource', 'NotResource'] as const) {
    for (const [resource, path] of valuesOf(statement[element], `${at}.${element}`)) {
      if (resource === '*') continue;
      const m = /^arn:aws:ecr:([^:]*):([^:]*):repository\/(.+)$/.exec(resource);
      if (!m || m[2] !== registry.accountId || !globRegExp(m[1]!, '').test(registry.region)) {
        throw policyError(
          path,
          `'${resource.slice(0, 300)}' is not a repository of this registry; ` +
            `expected '*' or arn:aws:ecr:${registry.region}:${registry.accountId}:repository/<name, wildcards allowed>`,
        );
      }
    }
  }
}

/** IAM wildcards: `*` any run of characters, `?` one character; the rest literal. */
function globRegExp(pattern: string, flags: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, flags);
}

/** As the engine reports a faulty part: the message starts with its path, which `detail.path` repeats. */
function policyError(path: string, problem: string): BerthError {
  return new BerthError('INVALID_PARAMETER', `${path}: ${problem}`, { path });
}
