import type { MetadataStore } from '../storage/metadata/index.js';

/** ECR's upstream kinds (`upstreamRegistry`); `oci` is berth's generic OCI registry by URL (not sent on the wire). */
export type UpstreamKind =
  | 'ecr'
  | 'ecr-public'
  | 'quay'
  | 'k8s'
  | 'docker-hub'
  | 'github-container-registry'
  | 'azure-container-registry'
  | 'gitlab-container-registry'
  | 'chainguard'
  | 'oci';

export const ECR_UPSTREAM_KINDS: readonly Exclude<UpstreamKind, 'oci'>[] = [
  'ecr',
  'ecr-public',
  'quay',
  'k8s',
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
];

/** Upstream kinds whose rule needs a `credentialArn` (ECR's list). */
export const KINDS_NEEDING_CREDENTIALS: readonly UpstreamKind[] = [
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
];

/** The host of each kind's fixed registry (a pattern for those with per-customer hosts). */
const KIND_HOSTS: readonly [Exclude<UpstreamKind, 'oci'>, RegExp][] = [
  ['ecr-public', /^public\.ecr\.aws$/],
  ['k8s', /^registry\.k8s\.io$/],
  ['quay', /^quay\.io$/],
  ['docker-hub', /^(registry-1\.docker\.io|docker\.io|index\.docker\.io)$/],
  ['github-container-registry', /^ghcr\.io$/],
  ['gitlab-container-registry', /^registry\.gitlab\.com$/],
  ['azure-container-registry', /^[a-z0-9-]+\.azurecr\.io$/],
  ['chainguard', /^cgr\.dev$/],
  ['ecr', /^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/],
];

/** The kind a registry host belongs to, or `oci` for any other registry. */
export function kindOfHost(host: string): UpstreamKind {
  const h = host.toLowerCase();
  for (const [kind, re] of KIND_HOSTS) if (re.test(h)) return kind;
  return 'oci';
}

/** A pull-through cache rule. Prefixes are stored without their implied trailing `/`. */
export interface CacheRule {
  accountId: string;
  /** `ROOT` or a path prefix. */
  prefix: string;
  /** As the rule was created (`public.ecr.aws`, `https://host:port`, `http://127.0.0.1:5000`). */
  upstreamUrl: string;
  upstreamRegistry: UpstreamKind;
  /** ECR upstreams: `ROOT` or the namespace that replaces `prefix`. */
  upstreamPrefix: string;
  credentialArn: string | null;
  customRoleArn: string | null;
  createdAt: number;
  updatedAt: number;
}

/** MAX_RULES: ECR's quota of pull-through cache rules per registry. */
export const MAX_RULES = 50;

/** The cache rules table (`cache_rules`). */
export class CacheRuleStore {
  constructor(private readonly meta: MetadataStore) {}

  async list(accountId: string): Promise<CacheRule[]> {
    const rows = await this.meta.kysely.selectFrom('cache_rules').selectAll().where('account_id', '=', accountId).orderBy('prefix').execute();
    return rows.map(toRule);
  }

  async get(accountId: string, prefix: string): Promise<CacheRule | undefined> {
    const row = await this.meta.kysely.selectFrom('cache_rules').selectAll().where('account_id', '=', accountId).where('prefix', '=', prefix).executeTakeFirst();
    return row ? toRule(row) : undefined;
  }

  async create(rule: CacheRule): Promise<'created' | 'exists' | 'limit'> {
    return this.meta.transaction(async (tx) => {
      const existing = await tx.kysely.selectFrom('cache_rules').select('prefix').where('account_id', '=', rule.accountId).execute();
      if (existing.some((r) => r.prefix === rule.prefix)) return 'exists';
      if (existing.length >= MAX_RULES) return 'limit';
      await tx.kysely
        .insertInto('cache_rules')
        .values({
          account_id: rule.accountId,
          prefix: rule.prefix,
          upstream_url: rule.upstreamUrl,
          upstream_registry: rule.upstreamRegistry,
          upstream_prefix: rule.upstreamPrefix,
          credential_arn: rule.credentialArn,
          custom_role_arn: rule.customRoleArn,
          created_at: rule.createdAt,
          updated_at: rule.updatedAt,
        })
        .execute();
      return 'created';
    });
  }

  async update(accountId: string, prefix: string, change: { credentialArn?: string | null; customRoleArn?: string | null; updatedAt: number }): Promise<void> {
    await this.meta.kysely
      .updateTable('cache_rules')
      .set({
        ...(change.credentialArn !== undefined ? { credential_arn: change.credentialArn } : {}),
        ...(change.customRoleArn !== undefined ? { custom_role_arn: change.customRoleArn } : {}),
        updated_at: change.updatedAt,
      })
      .where('account_id', '=', accountId)
      .where('prefix', '=', prefix)
      .execute();
  }

  async delete(accountId: string, prefix: string): Promise<boolean> {
    const result = await this.meta.kysely.deleteFrom('cache_rules').where('account_id', '=', accountId).where('prefix', '=', prefix).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toRule(row: {
  account_id: string;
  prefix: string;
  upstream_url: string;
  upstream_registry: string;
  upstream_prefix: string;
  credential_arn: string | null;
  custom_role_arn: string | null;
  created_at: number | bigint;
  updated_at: number | bigint;
}): CacheRule {
  return {
    accountId: row.account_id,
    prefix: row.prefix,
    upstreamUrl: row.upstream_url,
    upstreamRegistry: row.upstream_registry as UpstreamKind,
    upstreamPrefix: row.upstream_prefix,
    credentialArn: row.credential_arn,
    customRoleArn: row.custom_role_arn,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * The rule that covers repository `name`: the longest prefix `p` with `name` under `p/`, else a
 * `ROOT` rule. Returns the rule and the upstream repository path.
 */
export function matchRule(rules: readonly CacheRule[], name: string): { rule: CacheRule; upstreamRepo: string } | undefined {
  let best: CacheRule | undefined;
  for (const r of rules) {
    if (r.prefix !== 'ROOT' && name.startsWith(`${r.prefix}/`) && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  const rule = best ?? rules.find((r) => r.prefix === 'ROOT');
  if (!rule) return undefined;
  let rest = rule.prefix === 'ROOT' ? name : name.slice(rule.prefix.length + 1);
  if (rule.upstreamPrefix !== 'ROOT') rest = `${rule.upstreamPrefix}/${rest}`;
  // Docker Hub's official images live under `library/`: `<prefix>/nginx` means `library/nginx`.
  if (rule.upstreamRegistry === 'docker-hub' && !rest.includes('/')) rest = `library/${rest}`;
  return { rule, upstreamRepo: rest };
}

/** The base URL a client talks to for a rule's upstream. */
export function upstreamBaseUrl(rule: Pick<CacheRule, 'upstreamUrl' | 'upstreamRegistry'>): string {
  const url = /^[a-z]+:\/\//i.test(rule.upstreamUrl) ? rule.upstreamUrl : `https://${rule.upstreamUrl}`;
  // Docker Hub's registry API lives at registry-1.docker.io, not docker.io.
  return url.replace(/^https:\/\/(docker\.io|index\.docker\.io)(\/|$)/, 'https://registry-1.docker.io$2');
}
