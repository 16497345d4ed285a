import { isBerthError, type AccountId } from '../../../core/index.js';
import { repositoryScanning } from '../../../scan/index.js';
import { operation, repositoryArn } from '../../operation.js';
import { invalid, repositoryNameValue } from '../../validate.js';
import { scanningService } from './registry-scanning-configuration.js';

/**
 * BatchGetRepositoryScanningConfiguration: the effective scanning of 1-25 repositories, as the
 * registry's rules (and each repository's legacy scanOnPush) decide it. Unknown names are
 * `failures` with REPOSITORY_NOT_FOUND. Each repository is authorized on its own ARN.
 */
export const batchGetRepositoryScanningConfiguration = operation({
  action: 'ecr:BatchGetRepositoryScanningConfiguration',
  prepare(input, ctx) {
    const accountId = ctx.principal.accountId as AccountId;
    const names = input.list('repositoryNames', { min: 1, max: 25 }).map((n, i) => {
      if (typeof n !== 'string') throw invalid(`repositoryNames.${i + 1}.member must be a string`);
      return repositoryNameValue(n, `repositoryNames.${i + 1}.member`);
    });
    return { accountId, names: [...new Set(names)], resource: { accountId, repositoryName: names[0]! } };
  },
  async run({ accountId, names }, ctx) {
    const config = await scanningService(ctx).registryConfiguration(accountId);
    const rows = new Map<string, { scanOnPush: boolean }>();
    for (const name of names) {
      const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin }).catch((err: unknown) => {
        if (isBerthError(err, 'REPOSITORY_NOT_FOUND')) return undefined;
        throw err;
      });
      if (repo) rows.set(name, repo.row);
    }
    // The dispatcher decided the first name; the others that exist are decided here, one by one.
    for (const name of names.slice(1)) if (rows.has(name)) await ctx.authorize('ecr:BatchGetRepositoryScanningConfiguration', { accountId, repositoryName: name });
    const scanningConfigurations = [];
    const failures = [];
    for (const name of names) {
      const row = rows.get(name);
      if (!row) {
        failures.push({ repositoryName: name, failureCode: 'REPOSITORY_NOT_FOUND', failureReason: 'REPOSITORY_NOT_FOUND' });
        continue;
      }
      const s = repositoryScanning(config, name, row.scanOnPush);
      scanningConfigurations.push({
        repositoryArn: repositoryArn(ctx.region, accountId, name),
        repositoryName: name,
        scanOnPush: s.scanOnPush,
        scanFrequency: s.scanFrequency,
        appliedScanFilters: s.appliedScanFilters,
      });
    }
    return { scanningConfigurations, failures };
  },
});
