import { describe, expect, it } from 'vitest';
import { BerthError } from '../../core/index.js';
import { DEFAULT_MAX_LENGTH, parsePolicy, type PolicyKind } from './index.js';

const ACCOUNT = '111122223333';
const allowAll = { Effect: 'Allow', Action: 'ecr:*', Resource: '*' };
const withStatement = (statement: object): string => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
const withCondition = (condition: unknown): string => withStatement({ ...allowAll, Condition: condition });

function parseError(text: string, kind: PolicyKind = 'identity', opts?: Parameters<typeof parsePolicy>[2]): BerthError {
  try {
    parsePolicy(text, kind, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_PARAMETER');
    return err as BerthError;
  }
  throw new Error('expected parsePolicy to throw');
}

describe('parsePolicy rejects malformed policies, naming the part', () => {
  it.each<[name: string, text: string, kind: PolicyKind, message: string | RegExp]>([
    ['not JSON', '{"Version": ', 'identity', /^policy text is not valid JSON \(/],
    ['empty text', '   ', 'identity', 'policy text is empty'],
    ['not an object', '[]', 'identity', 'policy must be a JSON object, not a list'],
    ['a JSON string', '"x"', 'identity', 'policy must be a JSON object, not a string'],
    ['unknown top-level element', JSON.stringify({ Version: '2012-10-17', Statements: [] }), 'identity', "unknown top-level element 'Statements' (expected Version, Id, Statement)"],
    ['unknown Version', JSON.stringify({ Version: '2012-10-18', Statement: allowAll }), 'identity', 'Version: unknown version "2012-10-18" (expected "2012-10-17" or "2008-10-17")'],
    ['Version of the wrong type', JSON.stringify({ Version: 2012, Statement: allowAll }), 'identity', /^Version: unknown version 2012/],
    ['Id of the wrong type', JSON.stringify({ Id: 7, Statement: allowAll }), 'identity', 'Id: must be a string, not a number'],
    ['missing Statement', JSON.stringify({ Version: '2012-10-17' }), 'identity', 'Statement: missing'],
    ['empty Statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] }), 'identity', 'Statement: must not be an empty list'],
    ['Statement of the wrong type', JSON.stringify({ Statement: 'allow' }), 'identity', 'Statement: must be an object or a list of objects, not a string'],
    ['a statement that is not an object', JSON.stringify({ Statement: [allowAll, 5] }), 'identity', 'Statement[1]: must be an object, not a number'],
    ['unknown statement element', withStatement({ ...allowAll, Actions: 'ecr:*' }), 'identity', /^Statement\[0\]: unknown element 'Actions' \(expected one of Sid, Effect/],
    ['Effect missing', withStatement({ Action: 'ecr:*', Resource: '*' }), 'identity', 'Statement[0].Effect: missing (expected Allow or Deny)'],
    ['Effect in the wrong case', withStatement({ ...allowAll, Effect: 'allow' }), 'identity', 'Statement[0].Effect: "allow" is not Allow or Deny'],
    ['Sid of the wrong type', withStatement({ ...allowAll, Sid: 1 }), 'identity', 'Statement[0].Sid: must be a string, not a number'],
    ['IAM Sid not alphanumeric', withStatement({ ...allowAll, Sid: 'allow all' }), 'identity', "Statement[0].Sid: 'allow all' must be alphanumeric ([0-9A-Za-z]*)"],
    [
      'duplicate Sid in an IAM policy',
      JSON.stringify({ Statement: [{ ...allowAll, Sid: 'A' }, { ...allowAll, Sid: 'A' }] }),
      'identity',
      "Statement[1].Sid: duplicate Sid 'A'",
    ],
    ['both Action and NotAction', withStatement({ ...allowAll, NotAction: 'iam:*' }), 'identity', 'Statement[0]: has both Action and NotAction; use one'],
    ['neither Action nor NotAction', withStatement({ Effect: 'Allow', Resource: '*' }), 'identity', 'Statement[0]: needs an Action or NotAction'],
    ['Action of the wrong type', withStatement({ ...allowAll, Action: 5 }), 'identity', 'Statement[0].Action: must be a string or a list of strings, not a number'],
    ['Action list with a non-string', withStatement({ ...allowAll, Action: ['ecr:GetAuthorizationToken', true] }), 'identity', 'Statement[0].Action[1]: must be a string, not a boolean'],
    ['empty Action list', withStatement({ ...allowAll, Action: [] }), 'identity', 'Statement[0].Action: must not be an empty list'],
    ['Action without a service prefix', withStatement({ ...allowAll, Action: 'BatchGetImage' }), 'identity', /^Statement\[0\]\.Action: 'BatchGetImage' is not an action/],
    ['NotAction entry without a service prefix', withStatement({ Effect: 'Allow', NotAction: ['iam:*', 'ecr'], Resource: '*' }), 'identity', /^Statement\[0\]\.NotAction\[1\]: 'ecr' is not an action/],
    ['both Resource and NotResource', withStatement({ ...allowAll, NotResource: 'arn:aws:ecr:*' }), 'identity', 'Statement[0]: has both Resource and NotResource; use one'],
    ['identity policy without Resource', withStatement({ Effect: 'Allow', Action: 'ecr:*' }), 'identity', 'Statement[0]: needs a Resource or NotResource'],
    ['Resource that is not an ARN', withStatement({ ...allowAll, Resource: 'repository/app' }), 'identity', `Statement[0].Resource: 'repository/app' is not an ARN or "*"`],
    ['Principal in an identity policy', withStatement({ ...allowAll, Principal: '*' }), 'identity', 'Statement[0]: Principal is not allowed in an identity-based policy'],
    ['NotPrincipal in an identity policy', withStatement({ ...allowAll, NotPrincipal: { AWS: ACCOUNT } }), 'identity', 'Statement[0]: NotPrincipal is not allowed in an identity-based policy'],
    ['Condition of the wrong type', withCondition(['StringEquals']), 'identity', 'Statement[0].Condition: must be an object of operators, not a list'],
    ['unknown condition operator', withCondition({ StringEqualz: { 'aws:username': 'x' } }), 'identity', "Statement[0].Condition: unknown operator 'StringEqualz'"],
    ['unknown set qualifier', withCondition({ 'ForSomeValues:StringEquals': { 'aws:TagKeys': 'x' } }), 'identity', "Statement[0].Condition: unknown set qualifier 'ForSomeValues' (expected ForAnyValue or ForAllValues)"],
    ['NullIfExists', withCondition({ NullIfExists: { 'aws:TokenIssueTime': 'true' } }), 'identity', "Statement[0].Condition: operator 'NullIfExists': Null cannot take IfExists"],
    ['a set qualifier on Null', withCondition({ 'ForAnyValue:Null': { 'aws:TagKeys': 'true' } }), 'identity', "Statement[0].Condition: operator 'ForAnyValue:Null': Null cannot take a set qualifier"],
    ['operator body not an object', withCondition({ StringEquals: 'aws:username' }), 'identity', 'Statement[0].Condition.StringEquals: must be an object of condition keys, not a string'],
    ['operator without keys', withCondition({ StringEquals: {} }), 'identity', 'Statement[0].Condition.StringEquals: must name at least one condition key'],
    ['condition key without a prefix', withCondition({ IpAddress: { SourceIp: '10.0.0.0/8' } }), 'identity', /^Statement\[0\]\.Condition\.IpAddress\["SourceIp"\]: 'SourceIp' is not a condition key/],
    ['condition value an object', withCondition({ StringEquals: { 'aws:username': { a: 1 } } }), 'identity', 'Statement[0].Condition.StringEquals["aws:username"]: must be a string, number or boolean, not a object'],
    ['condition value null', withCondition({ StringEquals: { 'aws:username': ['a', null] } }), 'identity', 'Statement[0].Condition.StringEquals["aws:username"][1]: must be a string, number or boolean, not null'],
    ['empty condition value list', withCondition({ StringEquals: { 'aws:username': [] } }), 'identity', 'Statement[0].Condition.StringEquals["aws:username"]: must not be an empty list'],
    ['Numeric value not a number', withCondition({ NumericLessThan: { 's3:max-keys': 'abc' } }), 'identity', 'Statement[0].Condition.NumericLessThan["s3:max-keys"]: "abc" is not a number'],
    ['Numeric value a boolean', withCondition({ NumericEquals: { 's3:max-keys': true } }), 'identity', 'Statement[0].Condition.NumericEquals["s3:max-keys"]: true is not a number'],
    ['policy variables do not apply to Numeric operators', withCondition({ NumericEquals: { 'aws:EpochTime': '${aws:EpochTime}' } }), 'identity', /"\$\{aws:EpochTime\}" is not a number$/],
    ['Date value not a date', withCondition({ DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } }), 'identity', 'Statement[0].Condition.DateGreaterThan["aws:CurrentTime"]: "yesterday" is not an ISO 8601 date or epoch time'],
    ['Date value an impossible date', withCondition({ DateLessThan: { 'aws:CurrentTime': '2025-13-45T00:00:00Z' } }), 'identity', /"2025-13-45T00:00:00Z" is not an ISO 8601 date/],
    ['Bool value not a boolean', withCondition({ Bool: { 'aws:SecureTransport': 'yes' } }), 'identity', 'Statement[0].Condition.Bool["aws:SecureTransport"]: "yes" is not true or false'],
    ['Null value not a boolean', withCondition({ Null: { 'aws:TokenIssueTime': 1 } }), 'identity', 'Statement[0].Condition.Null["aws:TokenIssueTime"]: 1 is not true or false'],
    ['IpAddress prefix too long', withCondition({ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }), 'identity', 'Statement[0].Condition.IpAddress["aws:SourceIp"]: "10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR block'],
    ['NotIpAddress not an address', withCondition({ NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '300.1.1.1'] } }), 'identity', /"300\.1\.1\.1" is not an IPv4 or IPv6 address/],
    ['BinaryEquals value not base64', withCondition({ BinaryEquals: { 'key:name': 'not base64!' } }), 'identity', 'Statement[0].Condition.BinaryEquals["key:name"]: "not base64!" is not base64'],
    [
      'the failing statement is named by its index',
      JSON.stringify({ Statement: [allowAll, allowAll, { ...allowAll, Condition: { StringEqualz: { 'aws:username': 'x' } } }] }),
      'identity',
      "Statement[2].Condition: unknown operator 'StringEqualz'",
    ],
    ['a single statement object is named Statement', JSON.stringify({ Statement: { ...allowAll, Effect: 'Maybe' } }), 'identity', 'Statement.Effect: "Maybe" is not Allow or Deny'],
    // Resource-based and trust policies.
    ['missing Principal in a resource policy', withStatement(allowAll), 'resource', 'Statement[0]: Principal is required in a resource-based policy'],
    ['missing Principal in a trust policy', withStatement({ Effect: 'Allow', Action: 'sts:AssumeRole' }), 'trust', 'Statement[0]: Principal is required in a role trust policy'],
    ['both Principal and NotPrincipal', withStatement({ ...allowAll, Principal: '*', NotPrincipal: { AWS: ACCOUNT } }), 'resource', 'Statement[0]: has both Principal and NotPrincipal; use one'],
    ['resource policy without Resource (not implied)', withStatement({ Effect: 'Allow', Principal: '*', Action: 'ecr:*' }), 'resource', 'Statement[0]: needs a Resource or NotResource'],
    ['Resource in a trust policy', withStatement({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole', Resource: '*' }), 'trust', 'Statement[0]: Resource is not allowed in a role trust policy'],
    ['Principal a bare string other than *', withStatement({ ...allowAll, Principal: ACCOUNT }), 'resource', /^Statement\[0\]\.Principal: must be "\*" or an object/],
    ['Principal a list', withStatement({ ...allowAll, Principal: [ACCOUNT] }), 'resource', /^Statement\[0\]\.Principal: must be "\*" or an object with AWS/],
    ['Principal without entries', withStatement({ ...allowAll, Principal: {} }), 'resource', 'Statement[0].Principal: must name at least one principal'],
    ['unknown principal type', withStatement({ ...allowAll, Principal: { IAM: ACCOUNT } }), 'resource', "Statement[0].Principal: unknown principal type 'IAM' (expected AWS, Service, Federated, CanonicalUser)"],
    ['empty AWS principal list', withStatement({ ...allowAll, Principal: { AWS: [] } }), 'resource', 'Statement[0].Principal.AWS: must be a string or a non-empty list of strings'],
    [
      'wildcard in a principal ARN',
      withStatement({ ...allowAll, Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/*` } }),
      'resource',
      `Statement[0].Principal.AWS: wildcards are not allowed in principal 'arn:aws:iam::${ACCOUNT}:user/*'; use "*" alone or a Condition on aws:PrincipalArn`,
    ],
    ['wildcard in a NotPrincipal ARN', withStatement({ ...allowAll, Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/ci/*` } }), 'resource', /^Statement\[0\]\.NotPrincipal\.AWS: wildcards are not allowed/],
    ['a principal that is no ARN or account', withStatement({ ...allowAll, Principal: { AWS: 'bob' } }), 'resource', "Statement[0].Principal.AWS: invalid principal 'bob' (expected an account id or an IAM user, role or account ARN)"],
    ['an 11-digit account', withStatement({ ...allowAll, Principal: { AWS: '11112222333' } }), 'resource', /invalid principal '11112222333'/],
  ])('%s', (_name, text, kind, message) => {
    const err = parseError(text, kind);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('puts the failing part in detail.path', () => {
    expect(parseError(withCondition({ StringEqualz: { 'aws:username': 'x' } })).detail).toEqual({ path: 'Statement[0].Condition' });
  });

  it('rejects text over maxLength, default 10,240 (ECR)', () => {
    const padded = (n: number): string => {
      const base = JSON.stringify({ Version: '2012-10-17', Statement: allowAll });
      return base.slice(0, -1) + ' '.repeat(n - base.length) + '}';
    };
    expect(DEFAULT_MAX_LENGTH).toBe(10_240);
    expect(() => parsePolicy(padded(10_240), 'identity')).not.toThrow();
    expect(parseError(padded(10_241)).message).toBe('policy text is 10241 characters; the limit is 10240');
    expect(parseError(padded(2_049), 'identity', { maxLength: 2_048 }).message).toBe('policy text is 2049 characters; the limit is 2048');
    // IAM does not count whitespace against its limits.
    expect(() => parsePolicy(padded(6_000), 'identity', { maxLength: 2_048, lengthExcludesWhitespace: true })).not.toThrow();
    expect(parseError(padded(200_000), 'identity', { maxLength: 2_048, lengthExcludesWhitespace: true }).message).toMatch(/^policy text is 200000 characters/);
  });

  it('rejects deep nesting without recursing', () => {
    const deep = (n: number): unknown => {
      let v: unknown = 'x';
      for (let i = 0; i < n; i++) v = [v];
      return v;
    };
    // 10 levels pass the depth check (and fail on type).
    expect(() => parsePolicy(withCondition({ StringEquals: { 'aws:username': deep(5) } }), 'identity')).toThrow(/must be a string, number or boolean, not a list/);
    // policy > Statement > [0] > Condition > StringEquals > 6 lists: 11 levels.
    expect(parseError(withCondition({ StringEquals: { 'aws:username': deep(6) } })).message).toBe('policy nests deeper than 10 levels');
    // 60,000 levels: enough to overflow a recursive walker's stack.
    const text = `{"Id": ${'['.repeat(60_000)}${']'.repeat(60_000)}, "Statement": ${JSON.stringify(allowAll)}}`;
    expect(parseError(text, 'identity', { maxLength: 131_072 }).message).toBe('policy nests deeper than 10 levels');
  });
});

describe('parsePolicy accepts valid policies', () => {
  it('keeps the text and compiles each statement', () => {
    const text = `{
      "Version": "2012-10-17",
      "Id": "team-policy",
      "Statement": [
        {"Sid": "Pull", "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "arn:aws:ecr:*:${ACCOUNT}:repository/team/*"},
        {"Effect": "Deny", "NotAction": "ecr:Describe*", "NotResource": ["arn:aws:ecr:*:${ACCOUNT}:repository/team/*"]}
      ]
    }`;
    const doc = parsePolicy(text, 'identity');
    expect(doc.text).toBe(text);
    expect(doc.kind).toBe('identity');
    expect(doc.statements.map((s) => [s.index, s.sid, s.effect, s.action.negated, s.resource?.negated])).toEqual([
      [0, 'Pull', 'Allow', false, false],
      [1, undefined, 'Deny', true, true],
    ]);
  });

  it('returns the same frozen document for the same text, kind and options', () => {
    const text = JSON.stringify({ Statement: { ...allowAll, Sid: 'Memo' } });
    const doc = parsePolicy(text, 'identity');
    expect(parsePolicy(text, 'identity')).toBe(doc);
    expect(parsePolicy(text, 'identity', { maxLength: 6_144 })).not.toBe(doc);
    expect(Object.isFrozen(doc)).toBe(true);
    expect(Object.isFrozen(doc.statements)).toBe(true);
    // A failed parse is not remembered as a success, and options still apply to a remembered text.
    expect(parseError(text, 'identity', { maxLength: 10 }).message).toMatch(/the limit is 10$/);
  });

  it.each<[string, string, PolicyKind, Parameters<typeof parsePolicy>[2]?]>([
    ['a single statement object, no Version', JSON.stringify({ Statement: allowAll }), 'identity'],
    ['Version 2008-10-17', JSON.stringify({ Version: '2008-10-17', Statement: allowAll }), 'identity'],
    [
      // ECR's documented example: allow pull for another account.
      'ECR repository policy without Resource (resourceImplied)',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowCrossAccountPull',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::444455556666:root' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          },
        ],
      }),
      'resource',
      { resourceImplied: true },
    ],
    ['ECR Sids may contain spaces and repeat', JSON.stringify({ Statement: [{ Sid: 'new statement', Effect: 'Allow', Principal: '*', Action: 'ecr:*' }, { Sid: 'new statement', Effect: 'Allow', Principal: '*', Action: 'ecr:*' }] }), 'resource', { resourceImplied: true }],
    [
      'trust policy with AWS, Service and Federated principals',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: [ACCOUNT, `arn:aws:iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:role/path/ci`] }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } },
          { Effect: 'Allow', Principal: { Service: ['ec2.amazonaws.com'] }, Action: 'sts:AssumeRole' },
          { Effect: 'Allow', Principal: { Federated: 'cognito-identity.amazonaws.com' }, Action: 'sts:AssumeRoleWithWebIdentity' },
        ],
      }),
      'trust',
    ],
    ['assumed-role session and unique id principals', withStatement({ ...allowAll, Principal: { AWS: [`arn:aws:sts::${ACCOUNT}:assumed-role/ci/build`, 'AIDAJQABLZS4A3QDU576Q'] } }), 'resource'],
    ['every operator with IfExists and qualifiers', withCondition({ 'ForAnyValue:StringLikeIfExists': { 'aws:TagKeys': 'a*' }, DateGreaterThanIfExists: { 'aws:TokenIssueTime': 1700000000 }, Null: { 'aws:SourceIp': false } }), 'identity'],
  ])('%s', (_name, text, kind, opts) => {
    expect(parsePolicy(text, kind, opts).statements.length).toBeGreaterThan(0);
  });
});
