import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import {
  formatManifestRef,
  isAccountId,
  parseAccountId,
  parseManifestRef,
  parseRepositoryName,
  parseTag,
} from './names.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).code;
  }
  throw new Error('expected the call to throw');
}

/** ECR's pattern, as published, anchored: the oracle the parser must agree with. */
const ECR_PATTERN = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

describe('parseRepositoryName', () => {
  it.each([
    'ab',
    'a1',
    '00',
    'a/b',
    'nginx',
    'library/nginx',
    'team/app/web',
    'a.b',
    'a_b',
    'a__b',
    'a-b',
    'a--b',
    'a---------b',
    'my-org/my_app.v2/x__y',
    'a/b/c/d/e/f',
  ])('accepts %s', (name) => {
    expect(ECR_PATTERN.test(name)).toBe(true);
    expect(parseRepositoryName(name)).toBe(name);
  });

  it.each([
    ['one character', 'a'],
    ['empty', ''],
    ['..', '..'],
    ['a..b', 'a..b'],
    ['a/../b', 'a/../b'],
    ['leading dot', '.ab'],
    ['leading dash', '-ab'],
    ['leading underscore', '_ab'],
    ['leading slash', '/ab'],
    ['trailing dot', 'ab.'],
    ['trailing dash', 'ab-'],
    ['trailing underscore', 'ab_'],
    ['trailing slash', 'ab/'],
    ['uppercase', 'Nginx'],
    ['uppercase component', 'team/App'],
    ['empty path component', 'a//b'],
    ['three underscores', 'a___b'],
    ['only underscores', '___'],
    ['mixed separators', 'a-_b'],
    ['dot then dash', 'a.-b'],
    ['separator before slash', 'a-/b'],
    ['separator after slash', 'a/-b'],
    ['space', 'a b'],
    ['colon', 'a:b'],
    ['at sign', 'a@b'],
    ['percent escape', 'a%2Fb'],
    ['non-ASCII', 'caf\u00e9'],
    ['newline', 'ab\n'],
  ])('rejects %s with NAME_INVALID', (_label, name) => {
    expect(codeOf(() => parseRepositoryName(name))).toBe('NAME_INVALID');
  });

  it('accepts 256 characters and rejects 257', () => {
    const name256 = `${'a'.repeat(127)}/${'b'.repeat(128)}`;
    expect(name256).toHaveLength(256);
    expect(parseRepositoryName(name256)).toBe(name256);
    const name257 = `${name256}c`;
    expect(name257).toHaveLength(257);
    expect(codeOf(() => parseRepositoryName(name257))).toBe('NAME_INVALID');
    expect(codeOf(() => parseRepositoryName('a'.repeat(300)))).toBe('NAME_INVALID');
  });

  it('names the length in the message of a name that is too long', () => {
    expect(() => parseRepositoryName('a'.repeat(257))).toThrow(/257/);
  });
});

describe('parseTag', () => {
  it.each(['latest', 'v1.2.3', '1', 'A', '_', '_private', 'Release-2024_01.rc-1', 'a'.repeat(128), `_${'x'.repeat(127)}`])(
    'accepts %s',
    (tag) => {
      expect(parseTag(tag)).toBe(tag);
    },
  );

  it.each([
    ['empty', ''],
    ['129 characters', 'a'.repeat(129)],
    ['leading dot', '.hidden'],
    ['leading dash', '-rc'],
    ['a colon', 'v1:2'],
    ['a slash', 'v1/2'],
    ['a plus', 'v1+build'],
    ['an at sign', 'v1@x'],
    ['a space', 'v 1'],
    ['non-ASCII', 'v\u00e9'],
    ['a digest', `sha256:${'a'.repeat(64)}`],
  ])('rejects %s with TAG_INVALID', (_label, tag) => {
    expect(codeOf(() => parseTag(tag))).toBe('TAG_INVALID');
  });
});

describe('parseManifestRef', () => {
  const digest = `sha256:${'b'.repeat(64)}`;

  it('reads a reference without a colon as a tag', () => {
    expect(parseManifestRef('latest')).toEqual({ kind: 'tag', tag: 'latest' });
  });

  it('reads a reference with a colon as a digest', () => {
    expect(parseManifestRef(digest)).toEqual({ kind: 'digest', digest });
    expect(parseManifestRef(`sha512:${'c'.repeat(128)}`)).toEqual({ kind: 'digest', digest: `sha512:${'c'.repeat(128)}` });
  });

  it.each([
    ['a bad tag', '-bad', 'TAG_INVALID'],
    ['a 129-character tag', 'a'.repeat(129), 'TAG_INVALID'],
    ['a tag-looking string with a colon', 'latest:1', 'DIGEST_INVALID'],
    ['a short digest', 'sha256:abc', 'DIGEST_INVALID'],
    ['an uppercase digest', `sha256:${'B'.repeat(64)}`, 'DIGEST_INVALID'],
    ['an unknown algorithm', `md5:${'a'.repeat(32)}`, 'DIGEST_INVALID'],
  ])('rejects %s', (_label, raw, code) => {
    expect(codeOf(() => parseManifestRef(raw))).toBe(code);
  });

  it('formats a reference back to what was parsed', () => {
    expect(formatManifestRef(parseManifestRef('v1'))).toBe('v1');
    expect(formatManifestRef(parseManifestRef(digest))).toBe(digest);
  });
});

describe('account ids', () => {
  it.each([
    ['123456789012', true],
    ['000000000000', true],
    ['12345678901', false],
    ['1234567890123', false],
    ['12345678901a', false],
    [' 123456789012', false],
    ['123456789012\n', false],
    ['', false],
    ['\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12', false],
  ])('isAccountId(%j) is %s', (raw, expected) => {
    expect(isAccountId(raw)).toBe(expected);
    if (expected) expect(parseAccountId(raw)).toBe(raw);
    else expect(codeOf(() => parseAccountId(raw))).toBe('NAME_INVALID');
  });
});
