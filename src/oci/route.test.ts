import { describe, expect, it } from 'vitest';
import { BerthError, type AccountId, type RepositoryName } from '../core/index.js';
import { parseOciPath, type OciRoute, type RepoTarget } from './route.js';

const DEFAULT = '000000000000' as AccountId;
const OTHER = '123456789012';
const DIGEST = `sha256:${'a'.repeat(64)}`;

function parse(path: string, host?: string): OciRoute | undefined {
  return parseOciPath(path, host, DEFAULT);
}

function target(name: string, accountId: string = DEFAULT, pathName: string = name): RepoTarget {
  return { accountId: accountId as AccountId, name: name as RepositoryName, pathName };
}

function nameInvalid(path: string, host?: string): BerthError {
  try {
    parse(path, host);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('NAME_INVALID');
    return err as BerthError;
  }
  throw new Error(`expected NAME_INVALID for ${path}`);
}

describe('route kinds', () => {
  it.each<[string, OciRoute]>([
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/app/blobs/uploads/', { kind: 'uploads', target: target('app') }],
    ['/v2/app/blobs/uploads', { kind: 'uploads', target: target('app') }],
    ['/v2/app/blobs/uploads/0f6c1e9a-1b2c-4d5e-8f90-123456789abc', { kind: 'upload', target: target('app'), id: '0f6c1e9a-1b2c-4d5e-8f90-123456789abc' }],
    [`/v2/app/blobs/${DIGEST}`, { kind: 'blob', target: target('app'), reference: DIGEST }],
    ['/v2/app/manifests/latest', { kind: 'manifest', target: target('app'), reference: 'latest' }],
    [`/v2/app/manifests/${DIGEST}`, { kind: 'manifest', target: target('app'), reference: DIGEST }],
    ['/v2/app/tags/list', { kind: 'tags', target: target('app') }],
    [`/v2/app/referrers/${DIGEST}`, { kind: 'referrers', target: target('app'), reference: DIGEST }],
  ])('%s', (path, expected) => {
    expect(parse(path)).toEqual(expected);
  });
});

describe('names with slashes', () => {
  it.each<[string, OciRoute]>([
    ['/v2/team/app/manifests/v1', { kind: 'manifest', target: target('team/app'), reference: 'v1' }],
    ['/v2/a/b/c/d/tags/list', { kind: 'tags', target: target('a/b/c/d') }],
    ['/v2/org/app/blobs/uploads/', { kind: 'uploads', target: target('org/app') }],
    ['/v2/org/app/blobs/uploads/session-0001', { kind: 'upload', target: target('org/app'), id: 'session-0001' }],
    [`/v2/org/app/blobs/${DIGEST}`, { kind: 'blob', target: target('org/app'), reference: DIGEST }],
    [`/v2/org/app/referrers/${DIGEST}`, { kind: 'referrers', target: target('org/app'), reference: DIGEST }],
    // Route words inside a name: the last one decides.
    ['/v2/manifests/tags/list', { kind: 'tags', target: target('manifests') }],
    ['/v2/blobs/manifests/latest', { kind: 'manifest', target: target('blobs'), reference: 'latest' }],
    ['/v2/x/manifests/y/manifests/z', { kind: 'manifest', target: target('x/manifests/y'), reference: 'z' }],
    ['/v2/x/blobs/uploads/tags/list', { kind: 'tags', target: target('x/blobs/uploads') }],
  ])('%s', (path, expected) => {
    expect(parse(path)).toEqual(expected);
  });
});

describe('accounts', () => {
  it('takes a leading 12-digit path component as the account', () => {
    expect(parse(`/v2/${OTHER}/team/app/manifests/latest`)).toEqual({
      kind: 'manifest',
      target: target('team/app', OTHER, `${OTHER}/team/app`),
      reference: 'latest',
    });
    expect(parse(`/v2/${OTHER}/app/blobs/uploads/`)).toEqual({ kind: 'uploads', target: target('app', OTHER, `${OTHER}/app`) });
    expect(parse(`/v2/${OTHER}/app/tags/list`)).toEqual({ kind: 'tags', target: target('app', OTHER, `${OTHER}/app`) });
  });

  it('reads a lone 12-digit name as a repository of the default account', () => {
    expect(parse(`/v2/${OTHER}/manifests/latest`)).toEqual({ kind: 'manifest', target: target(OTHER), reference: 'latest' });
  });

  it.each(['12345678901', '1234567890123', '12345678901a'])('treats %s as a name component, not an account', (first) => {
    const route = parse(`/v2/${first}/app/tags/list`);
    expect(route).toEqual({ kind: 'tags', target: target(`${first}/app`) });
  });

  it.each([
    `${OTHER}.dkr.ecr.us-east-1.amazonaws.com`,
    `${OTHER}.registry.example`,
    `${OTHER}.registry.example:5000`,
  ])('takes the account from the host %s', (host) => {
    expect(parse('/v2/team/app/manifests/latest', host)).toEqual({
      kind: 'manifest',
      target: target('team/app', OTHER),
      reference: 'latest',
    });
  });

  it.each([undefined, 'localhost:5000', '127.0.0.1:5000', `${OTHER}`, `x${OTHER}.registry.example`, `${OTHER}0.registry.example`, 'registry.example'])(
    'uses the default account for host %s',
    (host) => {
      const route = parse('/v2/app/tags/list', host);
      expect(route).toEqual({ kind: 'tags', target: target('app') });
    },
  );

  it('lets the path account win over the host account', () => {
    const route = parse(`/v2/${OTHER}/app/tags/list`, '999999999999.registry.example');
    expect(route).toEqual({ kind: 'tags', target: target('app', OTHER, `${OTHER}/app`) });
  });

  it('does not apply to routes without a repository', () => {
    expect(parse('/v2/_catalog', `${OTHER}.registry.example`)).toEqual({ kind: 'catalog' });
  });
});

describe('refused names', () => {
  it.each([
    '/v2/team%2Fapp/manifests/latest',
    '/v2/team%2fapp/tags/list',
    '/v2/%61pp/tags/list',
    '/v2/app%20x/blobs/uploads/',
    `/v2/${OTHER}%2Fapp/tags/list`,
    `/v2/${OTHER}/a%2e%2e/tags/list`,
  ])('refuses the percent-encoded %s', (path) => {
    expect(nameInvalid(path).message).toMatch(/percent/);
  });

  it.each([
    '/v2/../manifests/latest',
    '/v2/a/../b/manifests/latest',
    '/v2/team/../../etc/tags/list',
    `/v2/${OTHER}/../tags/list`,
    `/v2/${OTHER}/a/../../b/blobs/uploads/`,
    '/v2/./app/tags/list',
  ])('refuses the traversal %s', (path) => {
    nameInvalid(path);
  });

  it.each([
    ['uppercase', '/v2/App/tags/list'],
    ['an empty component', '/v2/a//b/tags/list'],
    ['a leading slash', '/v2//app/tags/list'],
    ['an empty name after the account', `/v2/${OTHER}//app/tags/list`],
    ['a one-character name', '/v2/a/tags/list'],
    ['a one-character name after the account', `/v2/${OTHER}/a/tags/list`],
    ['a trailing separator', '/v2/app-/manifests/latest'],
  ])('refuses %s', (_label, path) => {
    nameInvalid(path);
  });
});

describe('references', () => {
  it.each([
    ['%3A', `/v2/app/manifests/sha256%3A${'a'.repeat(64)}`],
    ['%3a', `/v2/app/manifests/sha256%3a${'a'.repeat(64)}`],
  ])('decodes %s in a manifest digest', (_label, path) => {
    expect(parse(path)).toEqual({ kind: 'manifest', target: target('app'), reference: DIGEST });
  });

  it('decodes %3A in blob and referrers digests', () => {
    const encoded = DIGEST.replace(':', '%3A');
    expect(parse(`/v2/app/blobs/${encoded}`)).toEqual({ kind: 'blob', target: target('app'), reference: DIGEST });
    expect(parse(`/v2/app/referrers/${encoded}`)).toEqual({ kind: 'referrers', target: target('app'), reference: DIGEST });
  });

  it('decodes nothing else in a reference', () => {
    expect(parse('/v2/app/manifests/v1%2E0')).toEqual({ kind: 'manifest', target: target('app'), reference: 'v1%2E0' });
  });

  it('does not decode an upload id', () => {
    expect(parse('/v2/app/blobs/uploads/abc%3Adef')).toEqual({ kind: 'upload', target: target('app'), id: 'abc%3Adef' });
  });
});

describe('paths that are not OCI routes', () => {
  it.each([
    '/',
    '',
    '/v1/app/manifests/latest',
    '/v2x/app/tags/list',
    '/V2/app/tags/list',
    '/v2/_catalog/',
    '/v2/app',
    '/v2/app/',
    '/v2/app/manifests',
    '/v2/app/manifests/',
    '/v2/app/manifests/a/b',
    '/v2/app/tags',
    '/v2/app/tags/list/',
    '/v2/app/blobs',
    '/v2/app/blobs/',
    '/v2/app/referrers',
    '/v2/app/unknown/thing',
    '/v2/manifests/latest',
    '/v2/tags/list',
  ])('%j is undefined', (path) => {
    expect(parse(path)).toBeUndefined();
  });
});
