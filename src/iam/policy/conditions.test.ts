import { describe, expect, it } from 'vitest';
import { evaluatePolicy, parsePolicy, type RequestContext } from './index.js';

const ACCOUNT = '111122223333';
type Keys = RequestContext['keys'];
type Principal = RequestContext['principal'];

const alice: Principal = { arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT, type: 'User', userName: 'alice', userId: 'AIDAALICEEXAMPLE0001' };
const ciSession: Principal = {
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ci/build-42`,
  accountId: ACCOUNT,
  type: 'AssumedRole',
  userId: 'AROACIEXAMPLE0000001:build-42',
  roleArn: `arn:aws:iam::${ACCOUNT}:role/ci`,
};
const root: Principal = { arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, type: 'Account' };

/** Does an Allow statement with this Condition apply to a request with these keys? */
function holds(condition: object, keys: Keys, opts: { principal?: Principal; version?: string | null } = {}): boolean {
  const version = opts.version === undefined ? '2012-10-17' : opts.version;
  const policy = { ...(version !== null ? { Version: version } : {}), Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*', Condition: condition }] };
  const doc = parsePolicy(JSON.stringify(policy), 'identity');
  const ctx: RequestContext = {
    principal: opts.principal ?? alice,
    action: 'ecr:BatchGetImage',
    resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app`,
    resourceAccount: ACCOUNT,
    keys,
  };
  return evaluatePolicy(doc, ctx, 'test policy').effect === 'Allow';
}

type Row = [name: string, condition: object, keys: Keys, expected: boolean];

describe('string operators', () => {
  it.each<Row>([
    ['StringEquals matches exactly', { StringEquals: { 'aws:RequestTag/env': 'prod' } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['StringEquals is case-sensitive', { StringEquals: { 'aws:RequestTag/env': 'prod' } }, { 'aws:RequestTag/env': 'Prod' }, false],
    ['StringEquals ORs its values', { StringEquals: { 'aws:RequestTag/env': ['dev', 'prod'] } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['StringEquals: a missing key is false', { StringEquals: { 'aws:RequestTag/env': 'prod' } }, {}, false],
    ['StringEquals: * is a literal character', { StringEquals: { 'aws:RequestTag/env': '*' } }, { 'aws:RequestTag/env': 'prod' }, false],
    ['StringEquals compares a boolean context value as text', { StringEquals: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
    ['StringEquals accepts a JSON number in the policy', { StringEquals: { 'ecr:count': 5 } }, { 'ecr:count': '5' }, true],
    ['StringNotEquals: a value outside the list', { StringNotEquals: { 'aws:RequestTag/env': ['dev', 'test'] } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['StringNotEquals is NOR over its values', { StringNotEquals: { 'aws:RequestTag/env': ['dev', 'prod'] } }, { 'aws:RequestTag/env': 'prod' }, false],
    ['StringNotEquals: a missing key is true (AWS: negated operators)', { StringNotEquals: { 'aws:RequestTag/env': 'prod' } }, {}, true],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:RequestTag/env': 'PROD' } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['StringEqualsIgnoreCase still compares the whole string', { StringEqualsIgnoreCase: { 'aws:RequestTag/env': 'PROD' } }, { 'aws:RequestTag/env': 'production' }, false],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'aws:RequestTag/env': 'PROD' } }, { 'aws:RequestTag/env': 'prod' }, false],
    ['StringNotEqualsIgnoreCase, different value', { StringNotEqualsIgnoreCase: { 'aws:RequestTag/env': 'PROD' } }, { 'aws:RequestTag/env': 'dev' }, true],
    ['StringLike with *', { StringLike: { 'aws:RequestTag/team': 'platform-*' } }, { 'aws:RequestTag/team': 'platform-infra' }, true],
    ['StringLike with ?', { StringLike: { 'aws:RequestTag/team': 'team-?' } }, { 'aws:RequestTag/team': 'team-a' }, true],
    ['StringLike ? is exactly one character', { StringLike: { 'aws:RequestTag/team': 'team-?' } }, { 'aws:RequestTag/team': 'team-ab' }, false],
    ['StringLike is case-sensitive', { StringLike: { 'aws:RequestTag/team': 'Platform-*' } }, { 'aws:RequestTag/team': 'platform-infra' }, false],
    ['StringLike without a wildcard is exact', { StringLike: { 'aws:RequestTag/team': 'platform' } }, { 'aws:RequestTag/team': 'platform-infra' }, false],
    ['StringNotLike', { StringNotLike: { 'aws:RequestTag/team': 'platform-*' } }, { 'aws:RequestTag/team': 'data' }, true],
    ['StringNotLike, matching value', { StringNotLike: { 'aws:RequestTag/team': ['data', 'platform-*'] } }, { 'aws:RequestTag/team': 'platform-x' }, false],
    ['StringNotLike: a missing key is true', { StringNotLike: { 'aws:RequestTag/team': 'platform-*' } }, {}, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('ARN operators', () => {
  const repo = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/app`;
  it.each<Row>([
    ['ArnEquals exact', { ArnEquals: { 'aws:SourceArn': repo } }, { 'aws:SourceArn': repo }, true],
    ['ArnEquals takes wildcards like ArnLike (AWS documents them alike)', { ArnEquals: { 'aws:SourceArn': 'arn:aws:ecr:*:*:repository/team/*' } }, { 'aws:SourceArn': repo }, true],
    ['ArnLike per-segment wildcards', { ArnLike: { 'aws:SourceArn': `arn:aws:ecr:us-east-?:${ACCOUNT}:repository/*` } }, { 'aws:SourceArn': repo }, true],
    ['ArnLike other account', { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*:444455556666:repository/*' } }, { 'aws:SourceArn': repo }, false],
    ['ArnLike is case-sensitive', { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*:*:repository/Team/*' } }, { 'aws:SourceArn': repo }, false],
    ['ArnLike: a missing key is false', { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*' } }, {}, false],
    ['ArnNotEquals', { ArnNotEquals: { 'aws:SourceArn': 'arn:aws:ecr:*:*:repository/other' } }, { 'aws:SourceArn': repo }, true],
    ['ArnNotLike, matching value', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:ecr:*:*:repository/team/*' } }, { 'aws:SourceArn': repo }, false],
    ['ArnNotLike: a missing key is true', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:ecr:*' } }, {}, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('numeric operators', () => {
  it.each<Row>([
    ['NumericEquals', { NumericEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': 10 }, true],
    ['NumericEquals compares numbers, not text', { NumericEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '10.0' }, true],
    ['NumericEquals, different number', { NumericEquals: { 's3:max-keys': 10 } }, { 's3:max-keys': 11 }, false],
    ['NumericEquals, non-numeric context value', { NumericEquals: { 's3:max-keys': 10 } }, { 's3:max-keys': 'ten' }, false],
    ['NumericNotEquals', { NumericNotEquals: { 's3:max-keys': ['10', '20'] } }, { 's3:max-keys': 15 }, true],
    ['NumericNotEquals is NOR', { NumericNotEquals: { 's3:max-keys': ['10', '20'] } }, { 's3:max-keys': 20 }, false],
    ['NumericLessThan (AWS example: s3:max-keys < 10)', { NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': 9 }, true],
    ['NumericLessThan, equal', { NumericLessThan: { 's3:max-keys': '10' } }, { 's3:max-keys': 10 }, false],
    ['NumericLessThanEquals, equal', { NumericLessThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': 10 }, true],
    ['NumericGreaterThan', { NumericGreaterThan: { 's3:max-keys': '10' } }, { 's3:max-keys': '10.5' }, true],
    ['NumericGreaterThan, equal', { NumericGreaterThan: { 's3:max-keys': '10' } }, { 's3:max-keys': 10 }, false],
    ['NumericGreaterThanEquals', { NumericGreaterThanEquals: { 's3:max-keys': '-1' } }, { 's3:max-keys': -1 }, true],
    ['NumericLessThan: a missing key is false', { NumericLessThan: { 's3:max-keys': '10' } }, {}, false],
    ['NumericNotEquals: a missing key is true', { NumericNotEquals: { 's3:max-keys': '10' } }, {}, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('date operators', () => {
  const now = { 'aws:CurrentTime': '2025-06-01T12:00:00Z', 'aws:EpochTime': 1748779200 };
  it.each<Row>([
    ['DateLessThan (ISO 8601)', { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, now, true],
    ['DateLessThan, in the past', { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }, now, false],
    ['DateGreaterThan with epoch seconds in the policy', { DateGreaterThan: { 'aws:CurrentTime': '1700000000' } }, now, true],
    ['DateGreaterThan on aws:EpochTime', { DateGreaterThan: { 'aws:EpochTime': '2025-01-01T00:00:00Z' } }, now, true],
    ['DateEquals across formats', { DateEquals: { 'aws:CurrentTime': 1748779200 } }, now, true],
    ['DateEquals with a date only (UTC midnight)', { DateEquals: { 'aws:CurrentTime': '2025-06-01' } }, { 'aws:CurrentTime': '2025-06-01T00:00:00Z' }, true],
    ['DateEquals with an offset', { DateEquals: { 'aws:CurrentTime': '2025-06-01T14:00:00+02:00' } }, now, true],
    ['DateEquals with fractional seconds', { DateEquals: { 'aws:CurrentTime': '2025-06-01T12:00:00.000Z' } }, now, true],
    ['a zone-less time is UTC', { DateEquals: { 'aws:CurrentTime': '2025-06-01T12:00:00' } }, now, true],
    ['DateNotEquals', { DateNotEquals: { 'aws:CurrentTime': '2025-06-02T00:00:00Z' } }, now, true],
    ['DateLessThanEquals, equal', { DateLessThanEquals: { 'aws:CurrentTime': '2025-06-01T12:00:00Z' } }, now, true],
    ['DateGreaterThanEquals, equal', { DateGreaterThanEquals: { 'aws:EpochTime': '1748779200' } }, now, true],
    ['DateGreaterThan, equal', { DateGreaterThan: { 'aws:EpochTime': '1748779200' } }, now, false],
    ['Date, unparseable context value', { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:CurrentTime': 'tomorrow' }, false],
    ['DateGreaterThan: a missing key is false (AWS: aws:TokenIssueTime only with temporary credentials)', { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } }, now, false],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('Bool, BinaryEquals, IP addresses and Null', () => {
  it.each<Row>([
    ['Bool true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
    ['Bool false vs true', { Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': true }, false],
    ['Bool with a JSON boolean and a string context value', { Bool: { 'aws:SecureTransport': false } }, { 'aws:SecureTransport': 'false' }, true],
    ['Bool, case-insensitive text', { Bool: { 'aws:SecureTransport': 'TRUE' } }, { 'aws:SecureTransport': 'True' }, true],
    ['Bool: a missing key is false', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, false],
    ['BinaryEquals (AWS example value)', { BinaryEquals: { 'key:name': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'key:name': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' }, true],
    ['BinaryEquals, other bytes', { BinaryEquals: { 'key:name': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'key:name': 'b3RoZXI=' }, false],
    ['IpAddress (AWS example 203.0.113.0/24)', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.9' }, true],
    ['IpAddress outside the block', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '198.51.100.1' }, false],
    ['IpAddress ORs IPv4 and IPv6 blocks', { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64'] } }, { 'aws:SourceIp': '2001:db8:1234:5678::42' }, true],
    ['IpAddress with a bare address', { IpAddress: { 'aws:SourceIp': '192.0.2.7' } }, { 'aws:SourceIp': '192.0.2.7' }, true],
    ['IpAddress: an IPv4-mapped client address matches the IPv4 block', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '::ffff:10.1.2.3' }, true],
    ['IpAddress: garbage context value', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:SourceIp': 'unknown' }, false],
    ['NotIpAddress', { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] } }, { 'aws:SourceIp': '198.51.100.1' }, true],
    ['NotIpAddress inside a block', { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] } }, { 'aws:SourceIp': '203.0.113.1' }, false],
    ['NotIpAddress: a missing key is true', { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }, {}, true],
    ['Null true: key absent', { Null: { 'aws:TokenIssueTime': 'true' } }, {}, true],
    ['Null true: key present', { Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': '2025-01-01T00:00:00Z' }, false],
    ['Null false: key present', { Null: { 'aws:RequestTag/env': false } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['Null false: key absent', { Null: { 'aws:RequestTag/env': 'false' } }, {}, false],
    ['Null: an empty list is absent', { Null: { 'aws:TagKeys': 'true' } }, { 'aws:TagKeys': [] }, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('...IfExists', () => {
  it.each<Row>([
    ['StringEqualsIfExists: key absent', { StringEqualsIfExists: { 'aws:RequestTag/env': 'prod' } }, {}, true],
    ['StringEqualsIfExists: key present and equal', { StringEqualsIfExists: { 'aws:RequestTag/env': 'prod' } }, { 'aws:RequestTag/env': 'prod' }, true],
    ['StringEqualsIfExists: key present, other value', { StringEqualsIfExists: { 'aws:RequestTag/env': 'prod' } }, { 'aws:RequestTag/env': 'dev' }, false],
    ['StringNotLikeIfExists: key present and matching', { StringNotLikeIfExists: { 'aws:RequestTag/env': 'p*' } }, { 'aws:RequestTag/env': 'prod' }, false],
    ['NumericLessThanIfExists: key absent', { NumericLessThanIfExists: { 's3:max-keys': 10 } }, {}, true],
    ['NumericLessThanIfExists: key present', { NumericLessThanIfExists: { 's3:max-keys': 10 } }, { 's3:max-keys': 20 }, false],
    ['DateLessThanIfExists: key absent', { DateLessThanIfExists: { 'aws:TokenIssueTime': '2020-01-01T00:00:00Z' } }, {}, true],
    ['BoolIfExists: key absent', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, true],
    ['BoolIfExists: key present, false', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:MultiFactorAuthPresent': false }, false],
    ['IpAddressIfExists: key absent', { IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    ['ArnLikeIfExists: key absent', { ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:ecr:*' } }, {}, true],
    ['BinaryEqualsIfExists: key absent', { BinaryEqualsIfExists: { 'key:name': 'QQ==' } }, {}, true],
    ['the IfExists suffix is case-insensitive', { StringEqualsifexists: { 'aws:RequestTag/env': 'prod' } }, {}, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('set qualifiers on multivalued keys', () => {
  // AWS's aws:TagKeys examples: ForAllValues restricts which tag keys may be sent; ForAnyValue requires one.
  const allowedKeys = ['environment', 'cost-center'];
  it.each<Row>([
    ['ForAllValues: every value in the set', { 'ForAllValues:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['environment'] }, true],
    ['ForAllValues: one value outside the set', { 'ForAllValues:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['environment', 'owner'] }, false],
    ['ForAllValues: a missing key is true', { 'ForAllValues:StringEquals': { 'aws:TagKeys': allowedKeys } }, {}, true],
    ['ForAllValues: an empty list is true', { 'ForAllValues:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': [] }, true],
    ['ForAllValues:StringLike', { 'ForAllValues:StringLike': { 'aws:TagKeys': ['team-*', 'env'] } }, { 'aws:TagKeys': ['team-a', 'env'] }, true],
    ['ForAllValues:StringNotEquals: none of the values in the set', { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } }, { 'aws:TagKeys': ['a', 'b'] }, true],
    ['ForAllValues:StringNotEquals: one value in the set', { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } }, { 'aws:TagKeys': ['a', 'secret'] }, false],
    ['ForAnyValue: one value in the set', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['owner', 'environment'] }, true],
    ['ForAnyValue: no value in the set', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['owner'] }, false],
    ['ForAnyValue: a missing key is false', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': allowedKeys } }, {}, false],
    ['ForAnyValue: an empty list is false', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': [] }, false],
    ['ForAnyValue:StringNotEquals: one value outside the set', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['environment', 'owner'] }, true],
    ['ForAnyValue:StringNotEquals: all values in the set', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['environment'] }, false],
    ['ForAnyValue:StringEqualsIfExists: a missing key is true', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': allowedKeys } }, {}, true],
    ['ForAnyValue on a single-valued key', { 'ForAnyValue:StringEquals': { 'aws:RequestTag/env': ['prod', 'dev'] } }, { 'aws:RequestTag/env': 'dev' }, true],
    ['the qualifier is case-insensitive', { 'forallvalues:StringEquals': { 'aws:TagKeys': allowedKeys } }, { 'aws:TagKeys': ['owner'] }, false],
    ['unqualified on a list: any value matching', { StringEquals: { 'aws:TagKeys': 'owner' } }, { 'aws:TagKeys': ['env', 'owner'] }, true],
    ['unqualified negated on a list: true only if no value matches', { StringNotEquals: { 'aws:TagKeys': 'owner' } }, { 'aws:TagKeys': ['env', 'owner'] }, false],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('combining conditions', () => {
  it.each<Row>([
    ['keys under one operator are AND-ed (both match)', { StringEquals: { 'aws:RequestTag/env': 'prod', 'aws:RequestTag/team': 'web' } }, { 'aws:RequestTag/env': 'prod', 'aws:RequestTag/team': 'web' }, true],
    ['keys under one operator are AND-ed (one missing)', { StringEquals: { 'aws:RequestTag/env': 'prod', 'aws:RequestTag/team': 'web' } }, { 'aws:RequestTag/env': 'prod' }, false],
    [
      'operators are AND-ed',
      { StringEquals: { 'aws:RequestTag/env': 'prod' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
      { 'aws:RequestTag/env': 'prod', 'aws:SourceIp': '192.0.2.1' },
      false,
    ],
    [
      'operators are AND-ed (all true)',
      { StringEquals: { 'aws:RequestTag/env': 'prod' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' }, Bool: { 'aws:SecureTransport': 'true' } },
      { 'aws:RequestTag/env': 'prod', 'aws:SourceIp': '10.9.8.7', 'aws:SecureTransport': true },
      true,
    ],
    ['condition keys in the policy are case-insensitive', { IpAddress: { 'AWS:SOURCEIP': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.1.1' }, true],
    ['condition keys in the request are case-insensitive', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'Aws:sourceip': '10.1.1.1' }, true],
    ['operator names are case-insensitive', { stringequals: { 'aws:RequestTag/env': 'prod' } }, { 'aws:RequestTag/env': 'prod' }, true],
  ])('%s', (_name, condition, keys, expected) => {
    expect(holds(condition, keys)).toBe(expected);
  });
});

describe('policy variables in conditions and the principal keys the engine fills', () => {
  it.each<[string, object, Keys, Principal, boolean]>([
    ['${aws:username} in StringEquals', { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'alice' }, alice, true],
    ['${aws:username} is the caller, not anyone', { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'bob' }, alice, false],
    ['${aws:username} inside StringLike', { StringLike: { 's3:prefix': 'home/${aws:username}/*' } }, { 's3:prefix': 'home/alice/docs' }, alice, true],
    ['${aws:PrincipalAccount} in ArnLike', { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*:${aws:PrincipalAccount}:repository/*' } }, { 'aws:SourceArn': `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/x` }, alice, true],
    ['${aws:PrincipalTag/team} from the request', { StringEquals: { 'aws:ResourceTag/team': '${aws:PrincipalTag/team}' } }, { 'aws:ResourceTag/team': 'web', 'aws:PrincipalTag/team': 'web' }, alice, true],
    ["a default value: ${aws:PrincipalTag/team, 'none'}", { StringEquals: { 'aws:ResourceTag/team': "${aws:PrincipalTag/team, 'none'}" } }, { 'aws:ResourceTag/team': 'none' }, alice, true],
    ['an unresolvable variable sets the statement aside (a role session has no aws:username)', { StringNotEquals: { 'aws:ResourceTag/owner': '${aws:username}' } }, { 'aws:ResourceTag/owner': 'x' }, ciSession, false],
    ['${*} in a condition value is a literal *', { StringLike: { 'aws:RequestTag/pattern': 'a${*}' } }, { 'aws:RequestTag/pattern': 'a*' }, alice, true],
    ['${*} is not a wildcard', { StringLike: { 'aws:RequestTag/pattern': 'a${*}' } }, { 'aws:RequestTag/pattern': 'ab' }, alice, false],
    ['aws:PrincipalArn of a user', { StringEquals: { 'aws:PrincipalArn': alice.arn } }, {}, alice, true],
    ['aws:PrincipalArn of a role session is the role ARN', { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/ci` } }, {}, ciSession, true],
    ['aws:PrincipalArn of a role session is not the session ARN', { StringEquals: { 'aws:PrincipalArn': ciSession.arn } }, {}, ciSession, false],
    ['aws:PrincipalArn of the root user (AWS: arn:aws:iam::*:root)', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:root' } }, {}, root, true],
    ['aws:PrincipalType Account', { StringEquals: { 'aws:PrincipalType': 'Account' } }, {}, root, true],
    ['aws:PrincipalType AssumedRole', { StringEquals: { 'aws:PrincipalType': 'AssumedRole' } }, {}, ciSession, true],
    ['aws:PrincipalAccount', { StringEquals: { 'aws:PrincipalAccount': ACCOUNT } }, {}, alice, true],
    ['aws:userid of a role session', { StringLike: { 'aws:userid': 'AROACIEXAMPLE0000001:*' } }, {}, ciSession, true],
    ['aws:userid of the root user is its account id', { StringEquals: { 'aws:userid': ACCOUNT } }, {}, root, true],
    ['aws:username is absent for a role session', { Null: { 'aws:username': 'true' } }, {}, ciSession, true],
    ['a caller cannot supply principal keys', { StringEquals: { 'aws:PrincipalAccount': '444455556666' } }, { 'aws:PrincipalAccount': '444455556666' }, alice, false],
    ['nor spoof aws:username for a role session', { Null: { 'aws:username': 'true' } }, { 'aws:username': 'alice' }, ciSession, true],
  ])('%s', (_name, condition, keys, principal, expected) => {
    expect(holds(condition, keys, { principal })).toBe(expected);
  });

  it('treats variables literally without Version 2012-10-17', () => {
    const cond = { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } };
    expect(holds(cond, { 'aws:ResourceTag/owner': 'alice' }, { version: null })).toBe(false);
    expect(holds(cond, { 'aws:ResourceTag/owner': '${aws:username}' }, { version: null })).toBe(true);
    expect(holds(cond, { 'aws:ResourceTag/owner': 'alice' }, { version: '2008-10-17' })).toBe(false);
  });
});
