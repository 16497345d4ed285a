import { describe, expect, it } from 'vitest';
import { PatternSet, UNRESOLVED, type ContextValue, type PatternMode } from './patterns.js';

const vars: Record<string, ContextValue> = { 'aws:username': 'alice', 'aws:tagkeys': ['a', 'b'], 'aws:epochtime': 1700000000 };
const lookup = new Map(Object.entries(vars));

function matches(patterns: string | string[], value: string, mode: PatternMode, variables = true): boolean {
  return new PatternSet(Array.isArray(patterns) ? patterns : [patterns], mode, { variables }).test(value, lookup);
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return 'nothing thrown';
}

describe('PatternSet', () => {
  it.each<[string, string | string[], string, PatternMode, boolean, { variables: boolean }?]>([
    // Actions: wildcards, case-insensitive.
    ['action exact', 'ecr:BatchGetImage', 'ecr:batchgetimage', 'action', true],
    ['action prefix wildcard', 'ecr:Batch*', 'ecr:BatchCheckLayerAvailability', 'action', true],
    ['action infix wildcard', 'ecr:*Layer*', 'ecr:InitiateLayerUpload', 'action', true],
    ['action ? is one character', 'ecr:?utImage', 'ecr:PutImage', 'action', true],
    ['action ? is not zero characters', 'ecr:?PutImage', 'ecr:PutImage', 'action', false],
    ['action other service', 'ecr:*', 'iam:CreateUser', 'action', false],
    ['action star', '*', 'iam:CreateUser', 'action', true],
    ['action list', ['iam:Get*', 'ecr:Put*'], 'ecr:PutImage', 'action', true],
    ['action regex characters are literal', 'ecr:Get.+', 'ecr:GetX', 'action', false],
    // ARNs: case-sensitive, wildcards within segments.
    ['arn exact', 'arn:aws:ecr:us-east-1:111122223333:repository/app', 'arn:aws:ecr:us-east-1:111122223333:repository/app', 'arn', true],
    ['arn is case-sensitive', 'arn:aws:ecr:us-east-1:111122223333:repository/App', 'arn:aws:ecr:us-east-1:111122223333:repository/app', 'arn', false],
    ['arn resource wildcard spans slashes', 'arn:aws:ecr:us-east-1:111122223333:repository/team/*', 'arn:aws:ecr:us-east-1:111122223333:repository/team/a/b', 'arn', true],
    ['arn resource wildcard does not match a sibling prefix', 'arn:aws:ecr:us-east-1:111122223333:repository/team/*', 'arn:aws:ecr:us-east-1:111122223333:repository/teamx/a', 'arn', false],
    ['arn segment wildcards', 'arn:aws:ecr:*:*:repository/*', 'arn:aws:ecr:eu-west-1:444455556666:repository/x', 'arn', true],
    ['arn mid-segment * stays in its segment', 'arn:aws:ecr:us-*1:111122223333:repository/x', 'arn:aws:ecr:us-east:x1:111122223333:repository/x', 'arn', false],
    ['arn whole-segment * stays in its segment', 'arn:aws:ecr:*:111122223333:repository/x', 'arn:aws:ecr:us-east-1:9:111122223333:repository/x', 'arn', false],
    ['arn * in the resource part spans colons', 'arn:aws:logs:*:111122223333:log-group:app:*', 'arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:x', 'arn', true],
    ['arn mid-segment * within the segment', 'arn:aws:ecr:us-*-1:111122223333:repository/x', 'arn:aws:ecr:us-west-1:111122223333:repository/x', 'arn', true],
    ['arn trailing * after fewer segments spans colons', 'arn:aws:ecr:*', 'arn:aws:ecr:us-east-1:111122223333:repository/x', 'arn', true],
    ['arn ? in the region segment', 'arn:aws:ecr:us-east-?:111122223333:repository/x', 'arn:aws:ecr:us-east-2:111122223333:repository/x', 'arn', true],
    // Glob (StringLike): case-sensitive, * spans anything.
    ['glob', 'team-*', 'team-a:b/c', 'glob', true],
    ['glob case-sensitive', 'Team-*', 'team-a', 'glob', false],
    // Equals: * and ? are literal.
    ['equals treats * literally', '*', 'anything', 'equals', false],
    ['equals literal *', '*', '*', 'equals', true],
    ['equals ignore case', 'Alice', 'ALICE', 'equals-ignore-case', true],
    // Policy variables and escapes.
    ['variable in arn', 'arn:aws:s3:::mybucket/${aws:username}/*', 'arn:aws:s3:::mybucket/alice/x', 'arn', true],
    ['variable in arn, other user', 'arn:aws:s3:::mybucket/${aws:username}/*', 'arn:aws:s3:::mybucket/bob/x', 'arn', false],
    ['variable key is case-insensitive', '${AWS:UserName}', 'alice', 'equals', true],
    ['variable value is literal, not a wildcard', '${aws:username}', 'alic?', 'glob', false],
    ['number variable', '${aws:EpochTime}', '1700000000', 'equals', true],
    ['default value used when absent', "${aws:PrincipalTag/team, 'none'}", 'none', 'equals', true],
    ["default value with ''", "${aws:nothing, 'it''s'}", "it's", 'equals', true],
    ['${*} is a literal *', 'a${*}b', 'a*b', 'glob', true],
    ['${*} is not a wildcard', 'a${*}b', 'axb', 'glob', false],
    ['${?} is a literal ?', 'a${?}', 'a?', 'glob', true],
    ['${$} is a literal $', '${$}{x}', '${x}', 'equals', true],
    ['before 2012-10-17 ${...} is literal text', '${aws:username}', '${aws:username}', 'equals', true, { variables: false }],
    ['before 2012-10-17 variables are not substituted', '${aws:username}', 'alice', 'equals', false, { variables: false }],
  ])('%s', (_name, patterns, value, mode, expected, opts = { variables: true }) => {
    expect(matches(patterns, value, mode, opts.variables)).toBe(expected);
  });

  it('throws UNRESOLVED when a variable has no value and nothing else matched', () => {
    const set = new PatternSet(['${aws:PrincipalTag/team}'], 'equals', { variables: true });
    expect(thrownBy(() => set.test('x', lookup))).toBe(UNRESOLVED);
  });

  it('treats a multivalued key as unresolvable (AWS does not substitute lists)', () => {
    const set = new PatternSet(['${aws:TagKeys}'], 'equals', { variables: true });
    expect(thrownBy(() => set.test('a', lookup))).toBe(UNRESOLVED);
  });

  it('still matches through another pattern when one variable is unresolved', () => {
    const set = new PatternSet(['${aws:PrincipalTag/team}', 'fallback'], 'equals', { variables: true });
    expect(set.test('fallback', lookup)).toBe(true);
  });
});
