import { BerthError } from '../../core/index.js';
import type { RepositorySettings, TagMutability, TagMutabilityFilter } from '../../storage/metadata/index.js';
import type { EcrTag } from '../shapes.js';
import { constraint, invalid, type Input } from '../validate.js';

export const TAG_MUTABILITIES: readonly TagMutability[] = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'];
/** ECR's limit on resource tags per repository. */
export const MAX_RESOURCE_TAGS = 50;

/** `imageTagMutability` with its `imageTagMutabilityExclusionFilters` (1-5 WILDCARD filters, only with the *_WITH_EXCLUSION modes). */
export function readTagMutability(input: Input, required: boolean): Pick<RepositorySettings, 'tagMutability' | 'tagMutabilityExclusions'> | undefined {
  const mode = required ? input.enumValue('imageTagMutability', TAG_MUTABILITIES) : input.optionalEnum('imageTagMutability', TAG_MUTABILITIES);
  const rawFilters = input.optionalList('imageTagMutabilityExclusionFilters', { min: 1, max: 5 });
  if (mode === undefined) {
    if (rawFilters) throw invalid('imageTagMutabilityExclusionFilters can only be given with imageTagMutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION');
    return undefined;
  }
  const withExclusion = mode.endsWith('_WITH_EXCLUSION');
  if (withExclusion && !rawFilters) throw invalid(`imageTagMutability ${mode} requires imageTagMutabilityExclusionFilters`);
  if (!withExclusion && rawFilters) throw invalid(`imageTagMutabilityExclusionFilters can only be given with imageTagMutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not ${mode}`);
  const filters: TagMutabilityFilter[] | null = rawFilters
    ? rawFilters.map((f, i) => {
        const member = `imageTagMutabilityExclusionFilters.${i + 1}.member`;
        if (typeof f !== 'object' || f === null) throw invalid(`${member} must be a structure`);
        const { filterType, filter } = f as Record<string, unknown>;
        if (filterType !== 'WILDCARD') throw constraint(`${member}.filterType`, filterType, 'Member must satisfy enum value set: [WILDCARD]');
        if (typeof filter !== 'string' || !/^[0-9a-zA-Z._*-]{1,128}$/.test(filter)) {
          throw constraint(`${member}.filter`, filter, 'Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}');
        }
        return { filterType: 'WILDCARD', filter };
      })
    : null;
  return { tagMutability: mode, tagMutabilityExclusions: filters };
}

/** Resource tags `[{Key, Value}]`: keys 1-128, values 0-256, `aws:` reserved. */
export function readResourceTags(input: Input, name = 'tags'): { key: string; value: string }[] {
  const raw = input.optionalList(name) ?? [];
  const seen = new Set<string>();
  return raw.map((t, i) => {
    const { Key, Value } = (t ?? {}) as Partial<EcrTag>;
    if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128) {
      throw new BerthError('TAG_PARAMETER_INVALID', `Tag key at ${name}.${i + 1} must be 1 to 128 characters`);
    }
    if (Key.toLowerCase().startsWith('aws:')) throw new BerthError('TAG_PARAMETER_INVALID', `Tag keys starting with 'aws:' are reserved: ${Key}`);
    if (typeof Value !== 'string' || Value.length > 256) throw new BerthError('TAG_PARAMETER_INVALID', `Tag value of '${Key}' must be a string of at most 256 characters`);
    if (seen.has(Key)) throw new BerthError('TAG_PARAMETER_INVALID', `Tag key '${Key}' appears more than once`);
    seen.add(Key);
    return { key: Key, value: Value };
  });
}

export function toEcrTags(tags: readonly { key: string; value: string }[]): EcrTag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value }));
}

/** `arn:aws:ecr:<region>:<account>:repository/<name>` of this deployment's region. */
export function parseRepositoryArn(arn: string, region: string): { accountId: string; name: string } {
  const m = /^arn:aws:ecr:([a-z0-9-]+):([0-9]{12}):repository\/(.+)$/.exec(arn);
  if (!m) throw invalid(`Invalid parameter at 'resourceArn' failed to satisfy constraint: '${arn.slice(0, 300)}' is not a repository ARN`);
  if (m[1] !== region) throw invalid(`Invalid parameter at 'resourceArn' failed to satisfy constraint: the ARN names region ${m[1]}, not ${region}`);
  return { accountId: m[2]!, name: m[3]! };
}
