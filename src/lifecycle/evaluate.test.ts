import { describe, expect, it } from 'vitest';
import { comparePlans, evaluate, wildcardTest, type LifecycleImage, type Plan } from './evaluate.js';
import { parseLifecyclePolicy, type LifecycleRule } from './policy.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

/** An image pushed `age` days before NOW (digest `sha256:<name>` for readable expectations). */
function img(name: string, age: number, tags: string[] = [], extra: Partial<LifecycleImage> = {}): LifecycleImage {
  return {
    digest: `sha256:${name}`,
    tags,
    pushedAt: NOW - age * DAY,
    lastPulledAt: null,
    status: 'ACTIVE',
    lastArchivedAt: null,
    lastActivatedAt: null,
    parents: [],
    subject: null,
    ...extra,
  };
}

function rules(...list: object[]): readonly LifecycleRule[] {
  const text = JSON.stringify({ rules: list });
  return parseLifecyclePolicy(text.padEnd(100, ' ')).rules;
}

function rule(rulePriority: number, selection: object, action: object = { type: 'expire' }): object {
  return { rulePriority, selection, action };
}

/** `name:action@priority` of each planned action, sorted, so a case states its plan in one line. */
function summary(plan: Plan): string[] {
  return plan.actions.map((a) => `${a.digest.slice(7)}:${a.action}@${a.rulePriority}`).sort();
}

interface Case {
  name: string;
  rules: readonly LifecycleRule[];
  images: LifecycleImage[];
  expect: string[];
}

const cases: Case[] = [
  {
    name: 'imageCountMoreThan keeps exactly N when there are exactly N',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 3 })),
    images: [img('a', 1), img('b', 2), img('c', 3)],
    expect: [],
  },
  {
    name: 'imageCountMoreThan expires the oldest beyond N',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 })),
    images: [img('a', 1), img('b', 2), img('c', 3), img('d', 4)],
    expect: ['c:expire@1', 'd:expire@1'],
  },
  {
    name: 'imageCountMoreThan breaks equal push times by digest',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })),
    images: [img('b', 1), img('a', 1)],
    expect: ['b:expire@1'],
  },
  {
    name: 'sinceImagePushed: exactly N days is not more than N days',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 })),
    images: [img('exact', 7), img('older', 7 + 1 / 86_400_000), img('newer', 6.9)],
    expect: ['older:expire@1'],
  },
  {
    name: 'untagged rule leaves tagged images alone',
    rules: rules(rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('u', 5), img('t', 5, ['v1'])],
    expect: ['u:expire@1'],
  },
  {
    name: 'tagPrefixList is AND over its entries',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod', 'v'], countType: 'imageCountMoreThan', countNumber: 0 + 1 })),
    images: [img('both-new', 1, ['prod-7', 'v1.2']), img('both-old', 2, ['prod-6', 'v1.1']), img('prod-only', 3, ['prod-5'])],
    expect: ['both-old:expire@1'],
  },
  {
    name: 'overlapping prefixes: the higher-priority rule shields what it selects',
    rules: rules(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 5 }),
      rule(2, { tagStatus: 'tagged', tagPrefixList: ['pr'], countType: 'imageCountMoreThan', countNumber: 1 }),
    ),
    images: [img('p1', 1, ['prod-1']), img('p2', 2, ['prod-2']), img('r1', 3, ['pr-1']), img('r2', 4, ['pr-2'])],
    // rule 2 ranks p1, p2, r1, r2 and would drop p2, r1, r2; p2 is shielded by rule 1.
    expect: ['r1:expire@2', 'r2:expire@2'],
  },
  {
    name: 'tagPatternList with several wildcards',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPatternList: ['*-rc*-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('rc', 2, ['1.0-rc1-amd64']), img('rc-empty', 2, ['-rc-']), img('final', 2, ['1.0-amd64']), img('young', 0.5, ['2.0-rc1-arm'])],
    expect: ['rc-empty:expire@1', 'rc:expire@1'],
  },
  {
    name: 'pattern without wildcard matches the whole tag only',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPatternList: ['prod'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('exact', 2, ['prod']), img('longer', 2, ['production'])],
    expect: ['exact:expire@1'],
  },
  {
    name: 'an image with many tags where only some match is selected',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPatternList: ['qa-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('mixed', 3, ['latest', 'qa-7', 'sha-abc']), img('none', 3, ['latest-2', 'sha-def'])],
    expect: ['mixed:expire@1'],
  },
  {
    name: 'worked example (spec a.5), order rel, qa, any: only I5 survives',
    rules: rules(
      rule(1, { tagStatus: 'tagged', tagPatternList: ['rel*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'tagged', tagPatternList: ['qa*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    ),
    images: [img('I5', 1, ['rel-3']), img('I4', 2), img('I3', 3, ['rel-2', 'qa-9']), img('I2', 4, ['qa-8']), img('I1', 5, ['rel-1', 'qa-7'])],
    expect: ['I1:expire@1', 'I2:expire@2', 'I3:expire@1', 'I4:expire@3'],
  },
  {
    name: 'worked example (spec a.5), order qa, rel, any: I3 is shielded by the qa rule that kept it',
    rules: rules(
      rule(1, { tagStatus: 'tagged', tagPatternList: ['qa*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'tagged', tagPatternList: ['rel*'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    ),
    images: [img('I5', 1, ['rel-3']), img('I4', 2), img('I3', 3, ['rel-2', 'qa-9']), img('I2', 4, ['qa-8']), img('I1', 5, ['rel-1', 'qa-7'])],
    expect: ['I1:expire@1', 'I2:expire@1', 'I4:expire@3'],
  },
  {
    name: 'any rule after a tagged one counts marked and shielded images in its ranking',
    rules: rules(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['keep'], countType: 'imageCountMoreThan', countNumber: 10 }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }),
    ),
    images: [img('k1', 1, ['keep-1']), img('k2', 2, ['keep-2']), img('x', 3, ['other']), img('u', 4)],
    // rule 2 keeps k1, k2 (shielded anyway): x and u are beyond the 2 newest.
    expect: ['u:expire@2', 'x:expire@2'],
  },
  {
    name: 'untagged children of a surviving index are never expired',
    rules: rules(rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('index', 5, ['v1']), img('amd64', 5, [], { parents: ['sha256:index'] }), img('arm64', 5, [], { parents: ['sha256:index'] }), img('loose', 5)],
    expect: ['loose:expire@1'],
  },
  {
    name: 'children go with their expired index; a child another index keeps stays',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 })),
    images: [
      img('new', 1, ['v2']),
      img('old', 5, ['v1']),
      img('c-old', 5, [], { parents: ['sha256:old'] }),
      img('c-shared', 5, [], { parents: ['sha256:old', 'sha256:new'] }),
    ],
    expect: ['c-old:expire@1', 'old:expire@1'],
  },
  {
    name: 'referrers follow their subject, and are not selected on their own',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }), rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })),
    images: [img('new', 1, ['v2']), img('old', 5, ['v1']), img('sig-old', 5, [], { subject: 'sha256:old' }), img('sig-new', 5, [], { subject: 'sha256:new' }), img('sbom-of-sig', 5, [], { subject: 'sha256:sig-old' })],
    expect: ['old:expire@1', 'sbom-of-sig:expire@1', 'sig-old:expire@1'],
  },
  {
    name: 'a referrer whose subject is gone is an ordinary image',
    rules: rules(rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })),
    images: [img('orphan-sig', 3, [], { subject: 'sha256:gone' })],
    expect: ['orphan-sig:expire@1'],
  },
  {
    name: 'sinceImagePulled archives by last pull, falling back to push time',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }, { type: 'transition', targetStorageClass: 'archive' })),
    images: [img('pulled-recently', 100, ['a'], { lastPulledAt: NOW - 2 * DAY }), img('pulled-long-ago', 100, ['b'], { lastPulledAt: NOW - 31 * DAY }), img('never-pulled', 31), img('never-young', 29)],
    expect: ['never-pulled:transition@1', 'pulled-long-ago:transition@1'],
  },
  {
    name: 'a restored image counts from its restore, not its push',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }, { type: 'transition', targetStorageClass: 'archive' })),
    images: [img('restored', 200, [], { lastActivatedAt: NOW - 3 * DAY, lastPulledAt: NOW - 150 * DAY })],
    expect: [],
  },
  {
    name: 'per storage class: standard rules see active images, archive rules archived ones; ACTIVATING neither',
    rules: rules(
      rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 10 }, { type: 'transition', targetStorageClass: 'archive' }),
      rule(2, { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 90 }),
    ),
    images: [
      img('active-old', 50),
      img('archived-90', 300, [], { status: 'ARCHIVED', lastArchivedAt: NOW - 90 * DAY }),
      img('archived-91', 300, [], { status: 'ARCHIVED', lastArchivedAt: NOW - 91 * DAY }),
      img('activating', 300, [], { status: 'ACTIVATING', lastArchivedAt: NOW - 200 * DAY }),
    ],
    expect: ['active-old:transition@1', 'archived-91:expire@2'],
  },
  {
    name: 'archiving an index takes its children along',
    rules: rules(rule(1, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'sinceImagePulled', countUnit: 'days', countNumber: 10 }, { type: 'transition', targetStorageClass: 'archive' })),
    images: [img('idx', 20, ['v1']), img('child', 20, [], { parents: ['sha256:idx'] })],
    expect: ['child:transition@1', 'idx:transition@1'],
  },
  {
    name: 'imageCountMoreThan counts only its own storage class',
    rules: rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })),
    images: [img('a', 1), img('b', 2), img('arch', 0.5, [], { status: 'ARCHIVED', lastArchivedAt: NOW })],
    expect: ['b:expire@1'],
  },
];

describe('evaluate', () => {
  it.each(cases)('$name', (c) => {
    expect(summary(evaluate(c.rules, c.images, NOW))).toEqual([...c.expect].sort());
  });

  it('gives every action a reason naming its rule', () => {
    const plan = evaluate(rules(rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })), [img('a', 1), img('b', 2)], NOW);
    expect(plan.actions).toEqual([{ digest: 'sha256:b', action: 'expire', rulePriority: 3, reason: 'rule 3: number 2 of 2 by push time, more than the 1 newest kept' }]);
  });

  it('does not depend on the order of the images or the rules', () => {
    const c = cases.find((x) => x.name.startsWith('worked example (spec a.5), order rel'))!;
    const a = summary(evaluate(c.rules, c.images, NOW));
    const b = summary(evaluate([...c.rules].reverse(), [...c.images].reverse(), NOW));
    expect(b).toEqual(a);
  });

  it('compares two plans image by image', () => {
    const images = [img('a', 1, ['v1']), img('b', 2, ['v2']), img('c', 3, ['v3'])];
    const keepOne = evaluate(rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })), images, NOW);
    const keepTwo = evaluate(rules(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 })), images, NOW);
    expect(comparePlans(keepTwo, keepOne)).toEqual([{ digest: 'sha256:b', current: null, proposed: { action: 'expire', rulePriority: 1 } }]);
    expect(comparePlans(keepOne, keepOne)).toEqual([]);
  });
});

describe('wildcardTest', () => {
  it.each([
    ['v1.*.*', 'v1.2.3', true],
    ['v1.*.*', 'v1.2', false],
    ['v1.*.*', 'v1..', true],
    ['*-rc*', 'v2-rc1', true],
    ['*-rc*', '-rc', true],
    ['*-rc*', 'v2rc1', false],
    ['*latest*', 'latest', true],
    ['*latest*', 'my-latest-build', true],
    ['*latest*', 'lates', false],
    ['prod', 'prod', true],
    ['prod', 'production', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'ac', false],
    ['a*bc*c', 'abc', false],
    ['*', '', true],
    ['**x', 'x', true],
    ['ab*ba', 'aba', false],
  ])('%s against %s is %s', (pattern, tag, expected) => {
    expect(wildcardTest(pattern)(tag)).toBe(expected);
  });
});
