import { describe, expect, it } from 'vitest';
import { repositoryScanning, scanFilterMatches, type RegistryScanningConfiguration } from './scanning-config.js';

describe('scanFilterMatches (ECR WILDCARD scanning filters)', () => {
  it.each([
    ['prod', 'team/prod-api', true],
    ['prod', 'team/api', false],
    ['*prod', 'repo-prod', true],
    ['*prod', 'prod-repo', false],
    ['prod*repo', 'prod-repo', true],
    ['prod*repo', 'prodrepo', true],
    ['prod*repo', 'xprod-repo', false],
    ['*', 'anything/at/all', true],
    ['team/*', 'team/a/b', true],
    ['a.b', 'axb', false],
  ])('%s against %s: %s', (filter, name, expected) => {
    expect(scanFilterMatches(filter, name)).toBe(expected);
  });
});

describe('repositoryScanning', () => {
  const f = (filter: string) => ({ filter, filterType: 'WILDCARD' as const });
  it('BASIC: a SCAN_ON_PUSH rule or the legacy flag scans on push, the rest is MANUAL', () => {
    const config: RegistryScanningConfiguration = { scanType: 'BASIC', rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [f('prod')] }] };
    expect(repositoryScanning(config, 'x/prod', false)).toEqual({ scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: [f('prod')], scanOnPush: true, scanned: true });
    expect(repositoryScanning(config, 'x/dev', true)).toMatchObject({ scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: [] });
    expect(repositoryScanning(config, 'x/dev', false)).toMatchObject({ scanFrequency: 'MANUAL', scanOnPush: false, scanned: true });
  });

  it('ENHANCED: continuous wins, no rules means continuous everywhere, unmatched is not scanned', () => {
    const config: RegistryScanningConfiguration = {
      scanType: 'ENHANCED',
      rules: [
        { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [f('app')] },
        { scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [f('*prod')] },
      ],
    };
    expect(repositoryScanning(config, 'app-prod', false)).toMatchObject({ scanFrequency: 'CONTINUOUS_SCAN', appliedScanFilters: [f('*prod')] });
    expect(repositoryScanning(config, 'app-dev', false)).toMatchObject({ scanFrequency: 'SCAN_ON_PUSH' });
    expect(repositoryScanning(config, 'other', true)).toMatchObject({ scanFrequency: 'MANUAL', scanned: false, scanOnPush: false });
    expect(repositoryScanning({ scanType: 'ENHANCED', rules: [] }, 'any', false)).toMatchObject({ scanFrequency: 'CONTINUOUS_SCAN', scanOnPush: true });
  });
});
