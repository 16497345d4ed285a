import { describe, expect, it } from 'vitest';
import { destinationsFor, parseReplicationConfiguration, repositoryGoesTo, type ReplicationConfiguration } from './rules.js';

const scope = { accountId: '000000000000', region: 'us-east-1', peerRegions: new Set(['eu-west-1']) };
const east = (registryId: string) => ({ region: 'us-east-1', registryId });
const west = (registryId = '000000000000') => ({ region: 'eu-west-1', registryId });

describe('parseReplicationConfiguration', () => {
  it('keeps only the members ECR defines', () => {
    const parsed = parseReplicationConfiguration(
      { rules: [{ destinations: [{ ...west(), extra: 1 }], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod', x: 2 }], y: 3 }] },
      scope,
    );
    expect(parsed).toEqual({ rules: [{ destinations: [west()], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod' }] }] });
  });

  it('accepts no rules (replication off) and exactly 10 rules, 25 unique destinations', () => {
    expect(parseReplicationConfiguration({ rules: [] }, scope)).toEqual({ rules: [] });
    const many = Array.from({ length: 25 }, (_, i) => west(String(100000000000 + i)));
    const rules = Array.from({ length: 10 }, () => ({ destinations: many }));
    expect(parseReplicationConfiguration({ rules }, scope).rules).toHaveLength(10);
  });

  it.each([
    [undefined, /replicationConfiguration' failed to satisfy constraint: Member must not be null/],
    [{}, /replicationConfiguration.rules' failed to satisfy constraint: Member must not be null/],
    [{ rules: 'x' }, /must be a list/],
    [{ rules: [{ destinations: [{ region: 'EU', registryId: '000000000000' }] }] }, /region' failed to satisfy constraint: Member must satisfy regular expression pattern/],
    [{ rules: [{ destinations: [{ region: 'eu-west-1' }] }] }, /registryId' failed to satisfy constraint: Member must not be null/],
    [{ rules: [{ destinations: [west()], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'a' }] }] }, /filter' failed to satisfy constraint: Member must have length between 2 and 256/],
    [{ rules: [{ destinations: [east('000000000000')] }] }, /source registry itself/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseReplicationConfiguration(raw, scope)).toThrow(message);
  });

  it('names the member at fault with its 1-based position', () => {
    expect(() => parseReplicationConfiguration({ rules: [{ destinations: [west()] }, { destinations: [west(), { region: 'eu-west-1', registryId: 'x' }] }] }, scope)).toThrow(
      /replicationConfiguration.rules.2.member.destinations.2.member.registryId/,
    );
  });
});

describe('which destinations a repository has', () => {
  const config: ReplicationConfiguration = {
    rules: [
      { destinations: [west()], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod' }] },
      { destinations: [west(), east('111122223333')], repositoryFilters: [{ filterType: 'PREFIX_MATCH', filter: 'prod/' }, { filterType: 'PREFIX_MATCH', filter: 'shared' }] },
      { destinations: [east('222233334444')] },
    ],
  };

  it('PREFIX_MATCH is a raw string prefix, filters of a rule are OR-ed, and the union of rules applies once per destination', () => {
    expect(destinationsFor(config, 'prod/api')).toEqual([west(), east('111122223333'), east('222233334444')]);
    expect(destinationsFor(config, 'production-db')).toEqual([west(), east('222233334444')]);
    expect(destinationsFor(config, 'shared-base')).toEqual([west(), east('111122223333'), east('222233334444')]);
    expect(destinationsFor(config, 'team/app')).toEqual([east('222233334444')]);
    expect(destinationsFor(undefined, 'prod/api')).toEqual([]);
  });

  it('selects the repositories of a backfill by the rules that name its destination', () => {
    expect(repositoryGoesTo(config, 'team/app', east('111122223333'))).toBe(false);
    expect(repositoryGoesTo(config, 'shared', east('111122223333'))).toBe(true);
  });
});
