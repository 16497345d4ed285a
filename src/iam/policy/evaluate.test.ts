import { describe, expect, it } from 'vitest';
import { authorize, evaluatePolicy, parsePolicy, requestTimeKeys, type Decision, type PolicyDocument, type RequestContext } from './index.js';

const A = '111122223333'; // the registry's account
const B = '444455556666'; // another account
const REGION = 'us-east-1';
const repoArn = (name: string, account = A): string => `arn:aws:ecr:${REGION}:${account}:repository/${name}`;

type Principal = RequestContext['principal'];
const user = (name: string, account = A): Principal => ({ arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, type: 'User', userName: name, userId: `AIDA${name.toUpperCase().padEnd(16, 'X')}` });
const rootOf = (account: string): Principal => ({ arn: `arn:aws:iam::${account}:root`, accountId: account, type: 'Account' });
const session = (role: string, name: string, account = A, path = '/'): Principal => ({
  arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
  accountId: account,
  type: 'AssumedRole',
  userId: `AROA${role.toUpperCase().padEnd(16, 'X')}:${name}`,
  roleArn: `arn:aws:iam::${account}:role${path}${role}`,
});

const alice = user('alice');
const bob = user('bob');
const carol = user('carol', B);

function request(principal: Principal, action: string, resource = repoArn('team/app'), keys: RequestContext['keys'] = {}): RequestContext {
  const resourceAccount = /^arn:aws:[a-z]+:[^:]*:(\d{12}):/.exec(resource)?.[1] ?? A;
  return { principal, action, resource, resourceAccount, keys };
}

const identity = (...statements: object[]): PolicyDocument => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'identity');
const repoPolicy = (...statements: object[]): PolicyDocument =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'resource', { resourceImplied: true });
const trustPolicy = (...statements: object[]): PolicyDocument => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'trust');

const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
const PUSH = ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'];

describe('evaluatePolicy', () => {
  const policy = identity(
    { Sid: 'PullTeam', Effect: 'Allow', Action: PULL, Resource: `arn:aws:ecr:*:${A}:repository/team/*` },
    { Sid: 'PushTeam', Effect: 'Allow', Action: 'ecr:*', Resource: `arn:aws:ecr:*:${A}:repository/team/*` },
    { Effect: 'Deny', Action: 'ecr:PutImage', Resource: `arn:aws:ecr:*:${A}:repository/team/prod-?` },
  );

  it.each<[string, string, string, Decision]>([
    ['an allowing statement', 'ecr:BatchGetImage', repoArn('team/app'), { effect: 'Allow', reason: "allowed by p statement 'PullTeam'", statement: { policy: 'p', sid: 'PullTeam', index: 0 } }],
    ['action names are case-insensitive', 'ECR:batchgetimage', repoArn('team/app'), { effect: 'Allow', reason: "allowed by p statement 'PullTeam'", statement: { policy: 'p', sid: 'PullTeam', index: 0 } }],
    [
      'a deny after allows still wins, named by index without a Sid',
      'ecr:PutImage',
      repoArn('team/prod-1'),
      { effect: 'Deny', reason: 'explicit deny in p Statement[2]', statement: { policy: 'p', index: 2 } },
    ],
    ['? matches exactly one character', 'ecr:PutImage', repoArn('team/prod-12'), { effect: 'Allow', reason: "allowed by p statement 'PushTeam'", statement: { policy: 'p', sid: 'PushTeam', index: 1 } }],
    ['resource ARNs are case-sensitive', 'ecr:BatchGetImage', repoArn('Team/app'), { effect: 'ImplicitDeny', reason: `no statement in p allows ecr:BatchGetImage on ${repoArn('Team/app')}` }],
    ['another account', 'ecr:BatchGetImage', repoArn('team/app', B), { effect: 'ImplicitDeny', reason: `no statement in p allows ecr:BatchGetImage on ${repoArn('team/app', B)}` }],
  ])('%s', (_name, action, resource, expected) => {
    expect(evaluatePolicy(policy, request(alice, action, resource), 'p')).toEqual(expected);
  });

  it('NotAction: AWS example "allow everything except IAM"', () => {
    const p = identity({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage'), 'p').effect).toBe('Allow');
    expect(evaluatePolicy(p, request(alice, 'iam:CreateUser', `arn:aws:iam::${A}:user/x`), 'p').effect).toBe('ImplicitDeny');
  });

  it('NotResource: deny everything outside the team prefix', () => {
    const p = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }, { Sid: 'OnlyTeam', Effect: 'Deny', Action: 'ecr:*', NotResource: `arn:aws:ecr:*:${A}:repository/team/*` });
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage', repoArn('team/app')), 'p').effect).toBe('Allow');
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage', repoArn('other/app')), 'p')).toMatchObject({ effect: 'Deny', statement: { sid: 'OnlyTeam' } });
  });

  it('NotAction with Deny: AWS example "deny everything but ecr:Describe*"', () => {
    const p = identity({ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', NotAction: 'ecr:Describe*', Resource: '*' });
    expect(evaluatePolicy(p, request(alice, 'ecr:DescribeImages'), 'p').effect).toBe('Allow');
    expect(evaluatePolicy(p, request(alice, 'ecr:BatchGetImage'), 'p').effect).toBe('Deny');
  });

  it('policy variables in Resource: the AWS home-directory example', () => {
    const p = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: `arn:aws:ecr:*:${A}:repository/home/\${aws:username}/*` });
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage', repoArn('home/alice/app')), 'p').effect).toBe('Allow');
    expect(evaluatePolicy(p, request(bob, 'ecr:PutImage', repoArn('home/alice/app')), 'p').effect).toBe('ImplicitDeny');
    // A role session has no aws:username: the statement is set aside.
    expect(evaluatePolicy(p, request(session('ci', 'b'), 'ecr:PutImage', repoArn('home/alice/app')), 'p').effect).toBe('ImplicitDeny');
    // Without Version 2012-10-17 the variable is literal text.
    const old = parsePolicy(JSON.stringify({ Statement: { Effect: 'Allow', Action: 'ecr:*', Resource: `arn:aws:ecr:*:${A}:repository/home/\${aws:username}/*` } }), 'identity');
    expect(evaluatePolicy(old, request(alice, 'ecr:PutImage', repoArn('home/alice/app')), 'p').effect).toBe('ImplicitDeny');
  });

  it('an unresolvable variable sets a Deny aside too (AWS: use ...IfExists to avoid that)', () => {
    const p = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }, { Effect: 'Deny', Action: 'ecr:*', Resource: '*', Condition: { StringNotEquals: { 'aws:ResourceTag/owner': '${aws:username}' } } });
    expect(evaluatePolicy(p, request(bob, 'ecr:PutImage', repoArn('x'), { 'aws:ResourceTag/owner': 'alice' }), 'p').effect).toBe('Deny');
    expect(evaluatePolicy(p, request(session('ci', 'b'), 'ecr:PutImage', repoArn('x'), { 'aws:ResourceTag/owner': 'alice' }), 'p').effect).toBe('Allow');
  });

  it('conditions use the request time the caller supplies', () => {
    const p = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' }, NumericLessThan: { 'aws:EpochTime': 1893456000 } } });
    expect(requestTimeKeys(Date.UTC(2025, 5, 1, 12))).toEqual({ 'aws:CurrentTime': '2025-06-01T12:00:00Z', 'aws:EpochTime': 1748779200 });
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage', repoArn('x'), requestTimeKeys(new Date('2025-06-01T00:00:00Z'))), 'p').effect).toBe('Allow');
    expect(evaluatePolicy(p, request(alice, 'ecr:PutImage', repoArn('x'), requestTimeKeys(new Date('2031-06-01T00:00:00Z'))), 'p').effect).toBe('ImplicitDeny');
  });
});

describe('principals in resource policies', () => {
  const allowTo = (principal: unknown): PolicyDocument => repoPolicy({ Sid: 'Pull', Effect: 'Allow', Principal: principal, Action: PULL });
  const ci = session('ci', 'build-42', A, '/automation/');

  it.each<[string, unknown, Principal, 'Allow' | 'ImplicitDeny']>([
    ['"*" names everyone', '*', carol, 'Allow'],
    ['{"AWS": "*"} names everyone', { AWS: '*' }, carol, 'Allow'],
    ['an account id names its users', { AWS: B }, carol, 'Allow'],
    ['an account root ARN names its users', { AWS: `arn:aws:iam::${B}:root` }, carol, 'Allow'],
    ['an account names its root user', { AWS: B }, rootOf(B), 'Allow'],
    ['an account does not name another account', { AWS: B }, alice, 'ImplicitDeny'],
    ['a user ARN names that user', { AWS: carol.arn }, carol, 'Allow'],
    ['a user ARN names no one else', { AWS: carol.arn }, user('dave', B), 'ImplicitDeny'],
    ['a role ARN (with its path) names its sessions', { AWS: `arn:aws:iam::${A}:role/automation/ci` }, ci, 'Allow'],
    ['a role ARN names every session of it', { AWS: `arn:aws:iam::${A}:role/automation/ci` }, session('ci', 'other', A, '/automation/'), 'Allow'],
    ['a session ARN names that session', { AWS: `arn:aws:sts::${A}:assumed-role/ci/build-42` }, ci, 'Allow'],
    ['a session ARN names no other session', { AWS: `arn:aws:sts::${A}:assumed-role/ci/build-43` }, ci, 'ImplicitDeny'],
    ['another role names no session of this one', { AWS: `arn:aws:iam::${A}:role/deploy` }, ci, 'ImplicitDeny'],
    ['a user unique id (left behind when AWS deletes a user)', { AWS: alice.userId }, alice, 'Allow'],
    ['a service principal is never a berth caller', { Service: 'ecr.amazonaws.com' }, alice, 'ImplicitDeny'],
    ['a list mixing types', { AWS: [carol.arn], Service: 'ec2.amazonaws.com' }, carol, 'Allow'],
  ])('%s', (_name, principal, caller, effect) => {
    // Same account A: no identity policies, so only a direct grant in the resource policy can allow.
    // Callers from B also get an identity allow, so only the resource side is under test.
    const identityPolicies = caller.accountId === A ? [] : [{ name: 'b-pull', doc: identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }) }];
    const decision = authorize({ identityPolicies, resourcePolicy: { name: 'repository policy', doc: allowTo(principal) }, ctx: request(caller, 'ecr:BatchGetImage') });
    expect(decision.effect).toBe(effect);
  });

  describe('NotPrincipal with Deny (AWS examples)', () => {
    const bPull = [{ name: 'b-pull', doc: identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }) }];
    const dave = user('dave', B);
    const auditRole = session('cross-account-read-only-role', 'cross-account-audit-app', B);

    it.each<[string, string[], Principal, 'Allow' | 'Deny']>([
      ['the named user and its account: that user is spared', [dave.arn, `arn:aws:iam::${B}:root`], dave, 'Allow'],
      ['the named user and its account: others in the account are denied', [dave.arn, `arn:aws:iam::${B}:root`], carol, 'Deny'],
      ['only the user ARN: AWS warns the user may be denied too', [dave.arn], dave, 'Deny'],
      ['session, role and account: that session is spared', [auditRole.arn, auditRole.roleArn!, `arn:aws:iam::${B}:root`], auditRole, 'Allow'],
      ['session, role and account: other sessions are denied', [auditRole.arn, auditRole.roleArn!, `arn:aws:iam::${B}:root`], session('cross-account-read-only-role', 'x', B), 'Deny'],
      ['the account alone spares its root user', [`arn:aws:iam::${B}:root`], rootOf(B), 'Allow'],
    ])('%s', (_name, notPrincipals, caller, effect) => {
      const doc = repoPolicy({ Effect: 'Allow', Principal: { AWS: B }, Action: 'ecr:*' }, { Sid: 'OnlyListed', Effect: 'Deny', NotPrincipal: { AWS: notPrincipals }, Action: 'ecr:*' });
      expect(authorize({ identityPolicies: bPull, resourcePolicy: { name: 'repository policy', doc }, ctx: request(caller, 'ecr:PutImage') }).effect).toBe(effect);
    });

    it('NotPrincipal with Allow grants everyone else', () => {
      const doc = repoPolicy({ Effect: 'Allow', NotPrincipal: { AWS: [bob.arn, `arn:aws:iam::${A}:root`] }, Action: 'ecr:*' });
      expect(authorize({ identityPolicies: [], resourcePolicy: { name: 'r', doc }, ctx: request(alice, 'ecr:PutImage') }).effect).toBe('Allow');
      expect(authorize({ identityPolicies: [], resourcePolicy: { name: 'r', doc }, ctx: request(bob, 'ecr:PutImage') }).effect).toBe('ImplicitDeny');
    });
  });
});

describe('authorize: AWS evaluation logic across policies', () => {
  const allowAllEcr = identity({ Sid: 'EcrAll', Effect: 'Allow', Action: 'ecr:*', Resource: '*' });
  const allowPull = identity({ Sid: 'Pull', Effect: 'Allow', Action: PULL, Resource: '*' });
  const denyPush = identity({ Sid: 'NoPush', Effect: 'Deny', Action: PUSH, Resource: '*' });
  const repoAllows = (principal: unknown, actions: string[] = [...PULL, ...PUSH]): PolicyDocument => repoPolicy({ Sid: 'Grant', Effect: 'Allow', Principal: principal, Action: actions });
  const repoDeniesPush = repoPolicy({ Sid: 'DenyPush', Effect: 'Deny', Principal: '*', Action: 'ecr:PutImage' });

  type Case = {
    name: string;
    caller: Principal;
    action: string;
    identity?: PolicyDocument[];
    resource?: PolicyDocument;
    resourceAccount?: string;
    expected: 'Allow' | 'Deny' | 'ImplicitDeny';
    reason?: string | RegExp;
  };
  const cases: Case[] = [
    // Deny overrides allow.
    { name: 'an identity allow', caller: alice, action: 'ecr:PutImage', identity: [allowAllEcr], expected: 'Allow', reason: "allowed by identity[0] statement 'EcrAll'" },
    { name: 'an identity deny beats an identity allow', caller: alice, action: 'ecr:PutImage', identity: [allowAllEcr, denyPush], expected: 'Deny', reason: "explicit deny in identity[1] statement 'NoPush'" },
    { name: 'an identity deny beats a resource allow', caller: alice, action: 'ecr:PutImage', identity: [denyPush], resource: repoAllows({ AWS: alice.arn }), expected: 'Deny' },
    { name: 'a resource deny beats an identity allow', caller: alice, action: 'ecr:PutImage', identity: [allowAllEcr], resource: repoDeniesPush, expected: 'Deny', reason: "explicit deny in repository policy statement 'DenyPush'" },
    { name: 'a deny for another action does not apply', caller: alice, action: 'ecr:BatchGetImage', identity: [allowAllEcr], resource: repoDeniesPush, expected: 'Allow' },
    // Within one account, either side suffices.
    { name: 'same account, no policies', caller: alice, action: 'ecr:BatchGetImage', expected: 'ImplicitDeny', reason: `no identity-based or resource-based policy allows ecr:BatchGetImage on ${repoArn('team/app')}` },
    { name: 'same account, identity allow for another action', caller: alice, action: 'ecr:PutImage', identity: [allowPull], expected: 'ImplicitDeny' },
    { name: 'same account, the resource policy names the user', caller: alice, action: 'ecr:PutImage', resource: repoAllows({ AWS: alice.arn }), expected: 'Allow', reason: "allowed by repository policy statement 'Grant'" },
    { name: 'same account, the resource policy names the role of a session', caller: session('ci', 'b1'), action: 'ecr:PutImage', resource: repoAllows({ AWS: `arn:aws:iam::${A}:role/ci` }), expected: 'Allow' },
    { name: 'same account, the resource policy names "*"', caller: alice, action: 'ecr:PutImage', resource: repoAllows('*'), expected: 'Allow' },
    {
      name: 'same account, the resource policy names only the account: that delegates to identity policies',
      caller: alice,
      action: 'ecr:PutImage',
      resource: repoAllows({ AWS: A }),
      expected: 'ImplicitDeny',
      reason: 'repository policy grants ecr:PutImage to the account only, and no identity-based policy allows ecr:PutImage on ' + repoArn('team/app'),
    },
    { name: 'same account, account grant plus identity allow', caller: alice, action: 'ecr:BatchGetImage', identity: [allowPull], resource: repoAllows({ AWS: A }), expected: 'Allow' },
    // Across accounts, both sides must allow.
    { name: 'cross-account, identity side only', caller: carol, action: 'ecr:BatchGetImage', identity: [allowAllEcr], expected: 'ImplicitDeny', reason: `cross-account request for ecr:BatchGetImage on ${repoArn('team/app')}: account ${A} has no resource-based policy that allows it` },
    { name: 'cross-account, identity side only, with a silent resource policy', caller: carol, action: 'ecr:BatchGetImage', identity: [allowAllEcr], resource: repoAllows({ AWS: alice.arn }), expected: 'ImplicitDeny', reason: /repository policy does not allow it$/ },
    { name: 'cross-account, resource side only', caller: carol, action: 'ecr:BatchGetImage', resource: repoAllows({ AWS: B }), expected: 'ImplicitDeny', reason: `cross-account request for ecr:BatchGetImage on ${repoArn('team/app')}: no identity-based policy of account ${B} allows it` },
    { name: 'cross-account, neither side', caller: carol, action: 'ecr:BatchGetImage', expected: 'ImplicitDeny', reason: /allows it, and account 111122223333 has no resource-based policy/ },
    { name: 'cross-account, both sides (account grant)', caller: carol, action: 'ecr:BatchGetImage', identity: [allowPull], resource: repoAllows({ AWS: B }, PULL), expected: 'Allow', reason: "allowed by identity[0] statement 'Pull'" },
    { name: 'cross-account, both sides (user grant)', caller: carol, action: 'ecr:BatchGetImage', identity: [allowPull], resource: repoAllows({ AWS: carol.arn }, PULL), expected: 'Allow' },
    { name: 'cross-account, resource grants pull only', caller: carol, action: 'ecr:PutImage', identity: [allowAllEcr], resource: repoAllows({ AWS: B }, PULL), expected: 'ImplicitDeny' },
    { name: 'cross-account, "*" in the resource policy still needs the identity side', caller: carol, action: 'ecr:BatchGetImage', resource: repoAllows('*'), expected: 'ImplicitDeny' },
    { name: 'cross-account, identity deny', caller: carol, action: 'ecr:PutImage', identity: [allowAllEcr, denyPush], resource: repoAllows({ AWS: B }), expected: 'Deny' },
    // The account root.
    { name: 'root in its own account, no policies', caller: rootOf(A), action: 'ecr:PutImage', expected: 'Allow', reason: `the account root user may perform ecr:PutImage on ${repoArn('team/app')} in its own account` },
    { name: 'root in its own account ignores identity policies, even a deny', caller: rootOf(A), action: 'ecr:PutImage', identity: [denyPush], expected: 'Allow' },
    { name: 'root in its own account, explicit deny in the resource policy', caller: rootOf(A), action: 'ecr:PutImage', resource: repoDeniesPush, expected: 'Deny', reason: "explicit deny in repository policy statement 'DenyPush'" },
    {
      name: 'root in its own account, deny by aws:PrincipalType',
      caller: rootOf(A),
      action: 'ecr:DeleteRepository',
      resource: repoPolicy({ Effect: 'Deny', Principal: '*', Action: 'ecr:Delete*', Condition: { StringEquals: { 'aws:PrincipalType': 'Account' } } }),
      expected: 'Deny',
    },
    { name: 'root of another account, no resource policy', caller: rootOf(B), action: 'ecr:BatchGetImage', expected: 'ImplicitDeny' },
    { name: 'root of another account, the resource policy names its account', caller: rootOf(B), action: 'ecr:BatchGetImage', resource: repoAllows({ AWS: B }), expected: 'Allow', reason: "allowed by repository policy statement 'Grant'" },
    // Assumed roles.
    { name: 'a session with an identity allow (the role policy)', caller: session('ci', 'b1'), action: 'ecr:PutImage', identity: [allowAllEcr], expected: 'Allow' },
    {
      name: 'a session, condition on aws:PrincipalArn (the role ARN)',
      caller: session('ci', 'b1', B),
      action: 'ecr:BatchGetImage',
      identity: [allowPull],
      resource: repoPolicy({ Effect: 'Allow', Principal: { AWS: B }, Action: PULL, Condition: { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${B}:role/c?` } } }),
      expected: 'Allow',
    },
    {
      name: 'a session named by its session ARN, cross-account',
      caller: session('ci', 'b1', B),
      action: 'ecr:BatchGetImage',
      identity: [allowPull],
      resource: repoAllows({ AWS: `arn:aws:sts::${B}:assumed-role/ci/b1` }),
      expected: 'Allow',
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const decision = authorize({
      identityPolicies: (c.identity ?? []).map((doc, i) => ({ name: `identity[${i}]`, doc })),
      ...(c.resource ? { resourcePolicy: { name: 'repository policy', doc: c.resource } } : {}),
      ctx: request(c.caller, c.action),
    });
    expect(decision.effect).toBe(c.expected);
    if (typeof c.reason === 'string') expect(decision.reason).toBe(c.reason);
    else if (c.reason) expect(decision.reason).toMatch(c.reason);
  });

  it('reports the deciding statement', () => {
    const decision = authorize({ identityPolicies: [{ name: 'arn:aws:iam::111122223333:policy/push', doc: allowAllEcr }], resourcePolicy: { name: 'repository policy', doc: repoDeniesPush }, ctx: request(alice, 'ecr:PutImage') });
    expect(decision).toEqual({ effect: 'Deny', reason: "explicit deny in repository policy statement 'DenyPush'", statement: { policy: 'repository policy', sid: 'DenyPush', index: 0 } });
  });

  it('prefers a statement that names the caller over one that names its account', () => {
    const doc = repoPolicy({ Sid: 'Account', Effect: 'Allow', Principal: { AWS: A }, Action: 'ecr:*' }, { Sid: 'Alice', Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'ecr:*' });
    expect(authorize({ identityPolicies: [], resourcePolicy: { name: 'r', doc }, ctx: request(alice, 'ecr:PutImage') })).toMatchObject({ effect: 'Allow', statement: { sid: 'Alice' } });
  });

  it('a registry policy with Resource applies only to matching repositories', () => {
    const doc = parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'ReplicationAccess', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:${REGION}:${A}:repository/mirror/*` }],
      }),
      'resource',
    );
    const b = rootOf(B);
    expect(authorize({ identityPolicies: [], resourcePolicy: { name: 'registry policy', doc }, ctx: request(b, 'ecr:ReplicateImage', repoArn('mirror/app')) }).effect).toBe('Allow');
    expect(authorize({ identityPolicies: [], resourcePolicy: { name: 'registry policy', doc }, ctx: request(b, 'ecr:ReplicateImage', repoArn('team/app')) }).effect).toBe('ImplicitDeny');
  });
});

describe('authorize with a role trust policy (sts:AssumeRole)', () => {
  const roleArn = `arn:aws:iam::${A}:role/deploy`;
  const assume = (caller: Principal, trust: PolicyDocument, identities: PolicyDocument[] = []): Decision['effect'] =>
    authorize({
      identityPolicies: identities.map((doc, i) => ({ name: `identity[${i}]`, doc })),
      resourcePolicy: { name: 'trust policy of role deploy', doc: trust },
      ctx: { principal: caller, action: 'sts:AssumeRole', resource: roleArn, resourceAccount: A, keys: {} },
    }).effect;
  const allowAssume = identity({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn });

  it.each<[string, Principal, PolicyDocument, PolicyDocument[], Decision['effect']]>([
    ['the trust policy names the user: no identity policy needed', alice, trustPolicy({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'sts:AssumeRole' }), [], 'Allow'],
    ['the trust policy names the account: the identity side must allow', alice, trustPolicy({ Effect: 'Allow', Principal: { AWS: A }, Action: 'sts:AssumeRole' }), [], 'ImplicitDeny'],
    ['the trust policy names the account, identity allows', alice, trustPolicy({ Effect: 'Allow', Principal: { AWS: A }, Action: 'sts:AssumeRole' }), [allowAssume], 'Allow'],
    ['an identity allow alone is not enough: the trust policy must allow', alice, trustPolicy({ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'sts:AssumeRole' }), [allowAssume], 'ImplicitDeny'],
    ['the root user too needs the trust policy', rootOf(A), trustPolicy({ Effect: 'Allow', Principal: { AWS: bob.arn }, Action: 'sts:AssumeRole' }), [], 'ImplicitDeny'],
    ['cross-account: trust names the account and identity allows', carol, trustPolicy({ Effect: 'Allow', Principal: { AWS: B }, Action: 'sts:AssumeRole' }), [allowAssume], 'Allow'],
    ['cross-account: trust names the user but identity does not allow', carol, trustPolicy({ Effect: 'Allow', Principal: { AWS: carol.arn }, Action: 'sts:AssumeRole' }), [], 'ImplicitDeny'],
    [
      'sts:ExternalId condition',
      carol,
      trustPolicy({ Effect: 'Allow', Principal: { AWS: B }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'abc' } } }),
      [allowAssume],
      'ImplicitDeny',
    ],
  ])('%s', (_name, caller, trust, identities, effect) => {
    expect(assume(caller, trust, identities)).toBe(effect);
  });
});
