import type { RegistryScanningConfiguration, ScanFilter, ScanFrequency, ScanRule } from '../../../scan/index.js';
import { AwsJsonError } from '../../errors.js';
import { operation, type EcrContext } from '../../operation.js';
import { Input, constraint, invalid } from '../../validate.js';

const FREQUENCIES = ['SCAN_ON_PUSH', 'CONTINUOUS_SCAN', 'MANUAL'] as const;
/** The scanning filter grammar of the ECR model (ScanningRepositoryFilter.filter). */
const FILTER_PATTERN = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;

function scanning(ctx: EcrContext) {
  const service = ctx.services.scanning;
  if (!service) throw new AwsJsonError('ValidationException', 'image scanning is not enabled in this deployment');
  return service;
}

/**
 * PutRegistryScanningConfiguration: the registry's scan type (BASIC, ENHANCED) and up to two
 * rules, one per frequency, with WILDCARD repository filters (ecr-api.md section 8). BASIC takes
 * only SCAN_ON_PUSH rules; ENHANCED takes SCAN_ON_PUSH and CONTINUOUS_SCAN. Registry-scoped: no
 * `registryId` input.
 */
export const putRegistryScanningConfiguration = operation({
  action: 'ecr:PutRegistryScanningConfiguration',
  prepare(input, ctx) {
    const scanType = input.optionalEnum('scanType', ['BASIC', 'ENHANCED'] as const) ?? 'BASIC';
    const rules = (input.optionalList('rules', { min: 0, max: 2 }) ?? []).map((raw, i): ScanRule => {
      const where = `rules.${i + 1}.member`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be a RegistryScanningRule structure`);
      const rule = new Input(raw as Record<string, unknown>);
      const scanFrequency = rule.enumValue('scanFrequency', FREQUENCIES) as ScanFrequency;
      const repositoryFilters = rule.list('repositoryFilters', { min: 0, max: 100 }).map((f, j): ScanFilter => {
        const at = `${where}.repositoryFilters.${j + 1}.member`;
        if (typeof f !== 'object' || f === null || Array.isArray(f)) throw invalid(`${at} must be a ScanningRepositoryFilter structure`);
        const filter = new Input(f as Record<string, unknown>);
        const text = filter.string('filter', { min: 1, max: 255 });
        if (!FILTER_PATTERN.test(text)) throw constraint(`${at}.filter`, text, `Member must satisfy regular expression pattern: ${FILTER_PATTERN.source.replace(/^\^|\$$/g, '')}`);
        filter.enumValue('filterType', ['WILDCARD'] as const);
        return { filter: text, filterType: 'WILDCARD' };
      });
      return { scanFrequency, repositoryFilters };
    });
    const seen = new Set<string>();
    for (const rule of rules) {
      if (seen.has(rule.scanFrequency)) throw invalid(`Invalid parameter at 'rules': only one rule per scanFrequency is allowed; ${rule.scanFrequency} appears twice`);
      seen.add(rule.scanFrequency);
      if (rule.scanFrequency === 'MANUAL') throw invalid("Invalid parameter at 'rules': MANUAL is not a rule frequency; repositories that no rule matches are scanned manually");
      if (scanType === 'BASIC' && rule.scanFrequency !== 'SCAN_ON_PUSH') {
        throw invalid(`Invalid parameter at 'rules': the BASIC scan type supports only SCAN_ON_PUSH rules, not ${rule.scanFrequency}`);
      }
    }
    const configuration: RegistryScanningConfiguration = { scanType, rules };
    return { configuration, resource: { accountId: ctx.principal.accountId } };
  },
  async run({ configuration }, ctx) {
    await scanning(ctx).putRegistryConfiguration(ctx.principal.accountId, configuration);
    return { registryScanningConfiguration: configuration };
  },
});

/** GetRegistryScanningConfiguration: never configured answers BASIC with no rules. */
export const getRegistryScanningConfiguration = operation({
  action: 'ecr:GetRegistryScanningConfiguration',
  prepare(_input, ctx) {
    return { resource: { accountId: ctx.principal.accountId } };
  },
  async run(_p, ctx) {
    const accountId = ctx.principal.accountId;
    return { registryId: accountId, scanningConfiguration: await scanning(ctx).registryConfiguration(accountId) };
  },
});

export { scanning as scanningService };
