import { BerthError } from '../core/index.js';

/** Where an image goes: a registry (account) in a region (ECR ReplicationDestination). */
export interface ReplicationDestination {
  readonly region: string;
  readonly registryId: string;
}

export interface RepositoryFilter {
  readonly filterType: 'PREFIX_MATCH';
  readonly filter: string;
}

export interface ReplicationRule {
  readonly destinations: readonly ReplicationDestination[];
  /** Absent: every repository. */
  readonly repositoryFilters?: readonly RepositoryFilter[];
}

/** ECR's ReplicationConfiguration: no rules means replication is off. */
export interface ReplicationConfiguration {
  readonly rules: readonly ReplicationRule[];
}

/** ECR's limits (shared/spec/ecr-api.md, "Replication"). */
export const MAX_RULES = 10;
export const MAX_UNIQUE_DESTINATIONS = 25;
export const MAX_FILTERS_PER_RULE = 100;
const MAX_DESTINATIONS_PER_RULE = 100;

const REGION = /^[0-9a-z-]{2,25}$/;
const REGISTRY_ID = /^[0-9]{12}$/;
/** The replication filter's grammar: a prefix of a repository name (no implied `/`). */
const FILTER = /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/;

/** Where this deployment is: its region, and the regions it has peers for. */
export interface ReplicationScope {
  readonly accountId: string;
  readonly region: string;
  readonly peerRegions: ReadonlySet<string>;
}

/**
 * Validate a ReplicationConfiguration as ECR does (InvalidParameterException in AWS's "1 validation
 * error detected" wording, naming the member at fault), plus what berth needs to act on it: a
 * destination is either this region (another account: a local copy) or a region with a configured
 * peer; the source registry itself is no destination. Returns a normalized copy (only the
 * members ECR defines).
 */
export function parseReplicationConfiguration(raw: unknown, scope: ReplicationScope): ReplicationConfiguration {
  const root = 'replicationConfiguration';
  if (raw === undefined || raw === null) throw missing(root);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw serialization(root, 'a structure');
  const rulesRaw = (raw as Record<string, unknown>)['rules'];
  if (rulesRaw === undefined || rulesRaw === null) throw missing(`${root}.rules`);
  if (!Array.isArray(rulesRaw)) throw serialization(`${root}.rules`, 'a list');
  if (rulesRaw.length > MAX_RULES) throw constraint(`${root}.rules`, `[${rulesRaw.length} items]`, `Member must have length less than or equal to ${MAX_RULES}`);
  const unique = new Set<string>();
  const rules = rulesRaw.map((ruleRaw, i): ReplicationRule => {
    const at = `${root}.rules.${i + 1}.member`;
    if (typeof ruleRaw !== 'object' || ruleRaw === null || Array.isArray(ruleRaw)) throw serialization(at, 'a structure');
    const rule = ruleRaw as Record<string, unknown>;
    const destsRaw = rule['destinations'];
    if (destsRaw === undefined || destsRaw === null) throw missing(`${at}.destinations`);
    if (!Array.isArray(destsRaw)) throw serialization(`${at}.destinations`, 'a list');
    if (destsRaw.length > MAX_DESTINATIONS_PER_RULE) {
      throw constraint(`${at}.destinations`, `[${destsRaw.length} items]`, `Member must have length less than or equal to ${MAX_DESTINATIONS_PER_RULE}`);
    }
    const destinations = destsRaw.map((d, j) => parseDestination(d, `${at}.destinations.${j + 1}.member`, scope));
    for (const d of destinations) unique.add(destinationKey(d));
    const filtersRaw = rule['repositoryFilters'];
    let repositoryFilters: RepositoryFilter[] | undefined;
    if (filtersRaw !== undefined && filtersRaw !== null) {
      if (!Array.isArray(filtersRaw)) throw serialization(`${at}.repositoryFilters`, 'a list');
      if (filtersRaw.length < 1) throw constraint(`${at}.repositoryFilters`, '[0 items]', 'Member must have length greater than or equal to 1');
      if (filtersRaw.length > MAX_FILTERS_PER_RULE) {
        throw constraint(`${at}.repositoryFilters`, `[${filtersRaw.length} items]`, `Member must have length less than or equal to ${MAX_FILTERS_PER_RULE}`);
      }
      repositoryFilters = filtersRaw.map((f, j) => parseFilter(f, `${at}.repositoryFilters.${j + 1}.member`));
    }
    return { destinations, ...(repositoryFilters ? { repositoryFilters } : {}) };
  });
  if (unique.size > MAX_UNIQUE_DESTINATIONS) {
    throw new BerthError(
      'INVALID_PARAMETER',
      `Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'a replication configuration can have at most ${MAX_UNIQUE_DESTINATIONS} unique destinations; this one has ${unique.size}'`,
    );
  }
  return { rules };
}

function parseDestination(raw: unknown, at: string, scope: ReplicationScope): ReplicationDestination {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw serialization(at, 'a structure');
  const d = raw as Record<string, unknown>;
  const region = requiredString(d['region'], `${at}.region`);
  if (region.length < 2 || region.length > 25) throw constraint(`${at}.region`, region, 'Member must have length between 2 and 25');
  if (!REGION.test(region)) throw constraint(`${at}.region`, region, 'Member must satisfy regular expression pattern: [0-9a-z-]{2,25}');
  const registryId = requiredString(d['registryId'], `${at}.registryId`);
  if (!REGISTRY_ID.test(registryId)) throw constraint(`${at}.registryId`, registryId, 'Member must satisfy regular expression pattern: [0-9]{12}');
  if (region === scope.region && registryId === scope.accountId) {
    throw new BerthError(
      'INVALID_PARAMETER',
      `Invalid parameter at '${at}' failed to satisfy constraint: 'the destination ${registryId} in ${region} is the source registry itself'`,
    );
  }
  if (region !== scope.region && !scope.peerRegions.has(region)) {
    throw new BerthError(
      'INVALID_PARAMETER',
      `Invalid parameter at '${at}.region' failed to satisfy constraint: 'region ${region} is neither this deployment's region (${scope.region}) nor a configured peer's (peers: ${[...scope.peerRegions].join(', ') || 'none'})'`,
    );
  }
  return { region, registryId };
}

function parseFilter(raw: unknown, at: string): RepositoryFilter {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw serialization(at, 'a structure');
  const f = raw as Record<string, unknown>;
  const filter = requiredString(f['filter'], `${at}.filter`);
  if (filter.length < 2 || filter.length > 256) throw constraint(`${at}.filter`, filter, 'Member must have length between 2 and 256');
  if (!FILTER.test(filter)) throw constraint(`${at}.filter`, filter, `Member must satisfy regular expression pattern: ${FILTER.source.slice(1, -1)}`);
  const filterType = requiredString(f['filterType'], `${at}.filterType`);
  if (filterType !== 'PREFIX_MATCH') throw constraint(`${at}.filterType`, filterType, 'Member must satisfy enum value set: [PREFIX_MATCH]');
  return { filterType, filter };
}

/** Whether a rule applies to a repository: no filters, or any filter is a plain string prefix of the name. */
export function ruleMatches(rule: ReplicationRule, repository: string): boolean {
  if (!rule.repositoryFilters) return true;
  return rule.repositoryFilters.some((f) => repository.startsWith(f.filter));
}

/** The destinations of a repository: the union over the rules that match it, each once, in rule order. */
export function destinationsFor(config: ReplicationConfiguration | undefined, repository: string): ReplicationDestination[] {
  const out = new Map<string, ReplicationDestination>();
  for (const rule of config?.rules ?? []) {
    if (!ruleMatches(rule, repository)) continue;
    for (const d of rule.destinations) if (!out.has(destinationKey(d))) out.set(destinationKey(d), d);
  }
  return [...out.values()];
}

/** Whether `destination` is among the configuration's destinations (StartReplicationBackfill). */
export function hasDestination(config: ReplicationConfiguration | undefined, destination: ReplicationDestination): boolean {
  return (config?.rules ?? []).some((r) => r.destinations.some((d) => destinationKey(d) === destinationKey(destination)));
}

/** Whether any rule sending to `destination` matches the repository (a backfill's selection). */
export function repositoryGoesTo(config: ReplicationConfiguration | undefined, repository: string, destination: ReplicationDestination): boolean {
  return destinationsFor(config, repository).some((d) => destinationKey(d) === destinationKey(destination));
}

export function destinationKey(d: ReplicationDestination): string {
  return `${d.region}/${d.registryId}`;
}

function requiredString(value: unknown, member: string): string {
  if (value === undefined || value === null) throw missing(member);
  if (typeof value !== 'string') throw serialization(member, 'a string');
  return value;
}

function constraint(member: string, value: string, rule: string): BerthError {
  const shown = value.length > 100 ? `${value.slice(0, 100)}...` : value;
  return new BerthError('INVALID_PARAMETER', `1 validation error detected: Value '${shown}' at '${member}' failed to satisfy constraint: ${rule}`);
}

function missing(member: string): BerthError {
  return new BerthError('INVALID_PARAMETER', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
}

function serialization(member: string, expected: string): BerthError {
  return new BerthError('INVALID_PARAMETER', `Value at '${member}' must be ${expected}`);
}
