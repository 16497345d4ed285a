import { describe, expect, it } from 'vitest';
import { isBerthError } from '../core/index.js';
import { parseLifecyclePolicy } from './policy.js';

const PREFIX = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ";

/** A policy text of the rules given, padded to ECR's 100-character minimum. */
function text(rules: unknown): string {
  return JSON.stringify({ rules }).padEnd(100, ' ');
}

const expireAny = { rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } };
const archive = { type: 'transition', targetStorageClass: 'archive' };

function failure(policy: string): string {
  try {
    parseLifecyclePolicy(policy);
  } catch (err) {
    if (isBerthError(err, 'INVALID_PARAMETER')) return err.message;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

describe('parseLifecyclePolicy accepts what ECR accepts', () => {
  const valid: [string, unknown[]][] = [
    ['count of any', [expireAny]],
    ['untagged since pushed', [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }]],
    ['tagged prefixes with a description', [{ rulePriority: 10, description: 'keep 30 releases', selection: { tagStatus: 'tagged', tagPrefixList: ['v', 'release'], countType: 'imageCountMoreThan', countNumber: 30 }, action: { type: 'expire' } }]],
    ['patterns with four wildcards', [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: ['*a*b*c*'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }]],
    [
      "AWS's archive recipe: pull-based transition, then expiry after 90 days in the archive",
      [
        { rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: archive },
        { rulePriority: 2, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: { type: 'expire' } },
      ],
    ],
    ['explicit standard storage class with a push-based transition', [{ rulePriority: 1, selection: { tagStatus: 'untagged', storageClass: 'standard', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }, action: archive }]],
    [
      'an untagged rule and an any rule after tagged ones',
      [
        { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } },
        { rulePriority: 3, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }, action: { type: 'expire' } },
      ],
    ],
  ];
  it.each(valid)('%s', (_name, rules) => {
    expect(parseLifecyclePolicy(text(rules)).rules).toHaveLength(rules.length);
  });

  it('returns the canonical text with rules ordered by priority', () => {
    const second = { ...expireAny, rulePriority: 9 };
    const first = { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } };
    const policy = parseLifecyclePolicy(text([second, first]));
    expect(policy.rules.map((r) => r.rulePriority)).toEqual([2, 9]);
    expect(JSON.parse(policy.text)).toEqual({ rules: [first, second] });
  });
});

describe('parseLifecyclePolicy refuses what ECR refuses, pointing at the rule', () => {
  const sel = (s: object) => [{ rulePriority: 4, selection: s, action: { type: 'expire' } }];
  const invalid: [string, string, string][] = [
    ['not JSON', '{"rules": ['.padEnd(100, ' '), 'Could not map policyString into LifecyclePolicy.'],
    ['a JSON array', JSON.stringify([expireAny]).padEnd(100, ' '), 'Could not map policyString into LifecyclePolicy.'],
    ['no rules', JSON.stringify({ rule: [expireAny] }).padEnd(100, ' '), 'object instance has properties which are not allowed by the schema: (["rule"])'],
    ['missing rules', '{}'.padEnd(100, ' '), 'object has missing required properties (["rules"])'],
    ['empty rules', text([]), 'array is too short: must have at least 1 elements but instance has 0 elements at "/rules"'],
    ['51 rules', text(Array.from({ length: 51 }, (_, i) => ({ ...expireAny, rulePriority: i + 1 }))), 'array is too long: must have at most 50 elements'],
    ['unknown rule property', text([{ ...expireAny, foo: 1 }]), 'rules[0] (rulePriority 1): object instance has properties which are not allowed by the schema: (["foo"]) at "/rules/0"'],
    ['unknown selection property', text(sel({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1, tagFilter: 'x' })), '(["tagFilter"]) at "/rules/0/selection"'],
    ['missing rulePriority', text([{ selection: expireAny.selection, action: expireAny.action }]), 'rules[0]: object has missing required properties (["rulePriority"])'],
    ['rulePriority 0', text([{ ...expireAny, rulePriority: 0 }]), 'numeric instance is lower than the required minimum (minimum: 1, found: 0) at "/rules/0/rulePriority"'],
    ['rulePriority a string', text([{ ...expireAny, rulePriority: '1' }]), 'instance type (string) does not match any allowed primitive type (allowed: ["integer"]) at "/rules/0/rulePriority"'],
    ['rulePriority fractional', text([{ ...expireAny, rulePriority: 1.5 }]), 'instance type (number) does not match any allowed primitive type (allowed: ["integer"])'],
    ['duplicate rulePriority', text([expireAny, { ...expireAny, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 } }]), 'rules[1] (rulePriority 1): rulePriority 1 is also used by rules[0]'],
    ['missing selection', text([{ rulePriority: 1, action: { type: 'expire' } }]), 'object has missing required properties (["selection"])'],
    ['missing action', text([{ rulePriority: 1, selection: expireAny.selection }]), 'object has missing required properties (["action"])'],
    ['bad tagStatus', text(sel({ tagStatus: 'TAGGED', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 })), 'rules[0] (rulePriority 4): instance value ("TAGGED") not found in enum (possible values: ["tagged","untagged","any"]) at "/rules/0/selection/tagStatus"'],
    ['tagged without a list', text(sel({ tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 })), 'tagPrefixList or tagPatternList is required when tagStatus is "tagged"'],
    ['tagged with an empty list', text(sel({ tagStatus: 'tagged', tagPrefixList: [], countType: 'imageCountMoreThan', countNumber: 1 })), 'array is too short: must have at least 1 elements but instance has 0 elements at "/rules/0/selection/tagPrefixList"'],
    ['tagged with both lists', text(sel({ tagStatus: 'tagged', tagPrefixList: ['a'], tagPatternList: ['b*'], countType: 'imageCountMoreThan', countNumber: 1 })), 'tagPrefixList and tagPatternList cannot both be specified'],
    ['untagged with a prefix list', text(sel({ tagStatus: 'untagged', tagPrefixList: ['a'], countType: 'imageCountMoreThan', countNumber: 1 })), 'only allowed when tagStatus is "tagged", not "untagged"'],
    ['any with a pattern list', text(sel({ tagStatus: 'any', tagPatternList: ['a*'], countType: 'imageCountMoreThan', countNumber: 1 })), 'only allowed when tagStatus is "tagged", not "any"'],
    ['an empty prefix', text(sel({ tagStatus: 'tagged', tagPrefixList: [''], countType: 'imageCountMoreThan', countNumber: 1 })), 'string "" is too short'],
    ['a prefix that is not a string', text(sel({ tagStatus: 'tagged', tagPrefixList: [7], countType: 'imageCountMoreThan', countNumber: 1 })), 'instance type (integer) does not match any allowed primitive type (allowed: ["string"]) at "/rules/0/selection/tagPrefixList/0"'],
    ['five wildcards', text(sel({ tagStatus: 'tagged', tagPatternList: ['ok*', '*a*b*c*d*'], countType: 'imageCountMoreThan', countNumber: 1 })), 'tag pattern "*a*b*c*d*" has 5 wildcards; at most 4 are allowed at "/rules/0/selection/tagPatternList/1"'],
    ['bad countType', text(sel({ tagStatus: 'any', countType: 'sinceImageCreated', countUnit: 'days', countNumber: 1 })), 'instance value ("sinceImageCreated") not found in enum'],
    ['countUnit with imageCountMoreThan', text(sel({ tagStatus: 'any', countType: 'imageCountMoreThan', countUnit: 'days', countNumber: 1 })), 'countUnit is not allowed when countType is "imageCountMoreThan"'],
    ['sinceImagePushed without countUnit', text(sel({ tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 1 })), 'object has missing required properties (["countUnit"])'],
    ['countUnit hours', text(sel({ tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'hours', countNumber: 1 })), 'instance value ("hours") not found in enum (possible values: ["days"])'],
    ['countNumber 0', text(sel({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 0 })), 'numeric instance is lower than the required minimum (minimum: 1, found: 0) at "/rules/0/selection/countNumber"'],
    ['countNumber missing', text(sel({ tagStatus: 'any', countType: 'imageCountMoreThan' })), 'object has missing required properties (["countNumber"])'],
    ['explicit null member', text(sel({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1, tagPrefixList: null })), 'instance type (null) does not match any allowed primitive type at "/rules/0/selection/tagPrefixList"'],
    ['null targetStorageClass on expire (cloudposse/terraform-aws-ecr#158)', text([{ ...expireAny, action: { type: 'expire', targetStorageClass: null } }]), 'instance failed to match exactly one schema (matched 0 out of 2)'],
    ['targetStorageClass on expire', text([{ ...expireAny, action: { type: 'expire', targetStorageClass: 'archive' } }]), 'instance failed to match exactly one schema (matched 0 out of 2)'],
    ['transition without a target', text([{ ...expireAny, action: { type: 'transition' } }]), 'object has missing required properties (["targetStorageClass"]) at "/rules/0/action"'],
    ['transition to standard', text([{ ...expireAny, action: { type: 'transition', targetStorageClass: 'standard' } }]), 'instance value ("standard") not found in enum (possible values: ["archive"])'],
    ['bad action type', text([{ ...expireAny, action: { type: 'delete' } }]), 'instance value ("delete") not found in enum (possible values: ["expire","transition"])'],
    ['sinceImagePulled with expire', text(sel({ tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 })), 'countType "sinceImagePulled" can only be used with a "transition" action'],
    ['sinceImageTransitioned on standard', text([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: { type: 'expire' } }]), 'countType "sinceImageTransitioned" requires storageClass "archive"'],
    ['sinceImageTransitioned under 90 days', text([{ rulePriority: 1, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 89 }, action: { type: 'expire' } }]), 'numeric instance is lower than the required minimum (minimum: 90, found: 89)'],
    ['archive class with a count rule', text([{ rulePriority: 1, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'imageCountMoreThan', countNumber: 9 }, action: { type: 'expire' } }]), 'storageClass "archive" is only allowed with countType "sinceImageTransitioned"'],
    ['transition of archived images', text([{ rulePriority: 1, selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }, action: archive }]), 'a "transition" action only applies to images of storageClass "standard" at "/rules/0/action/type"'],
    ['bad storageClass', text(sel({ tagStatus: 'any', storageClass: 'glacier', countType: 'imageCountMoreThan', countNumber: 1 })), 'instance value ("glacier") not found in enum (possible values: ["standard","archive"])'],
    [
      'any rule before a tagged one',
      text([expireAny, { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } }]),
      'rules[0] (rulePriority 1): a rule with tagStatus "any" must have the highest rulePriority of the rules for storageClass "standard" (2 is higher) at "/rules/0/selection/tagStatus"',
    ],
    [
      'two untagged rules',
      text([
        { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } },
      ]),
      'rules[1] (rulePriority 2): only one rule may select untagged images of storageClass "standard"; rules[0] does too',
    ],
    [
      'the same prefix in two rules',
      text([
        { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
        { rulePriority: 2, selection: { tagStatus: 'tagged', tagPrefixList: ['v', 'x'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } },
      ]),
      'tag prefix or pattern "v" is also used by rules[0]',
    ],
  ];
  it.each(invalid)('%s', (_name, policy, reason) => {
    const message = failure(policy);
    expect(message.startsWith(PREFIX)).toBe(true);
    expect(message).toContain(reason);
  });

  it('refuses texts outside 100-30,720 characters', () => {
    expect(failure(JSON.stringify({ rules: [expireAny] }).slice(0, 99))).toContain('Member must have length between 100 and 30720');
    expect(failure(text([expireAny]).padEnd(30_721, ' '))).toContain('Member must have length between 100 and 30720');
  });
});
