import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SigV4Error,
  canonicalQueryString,
  canonicalUri,
  parseAuthorization,
  presignRequest,
  signRequest,
  verifySignature,
  type ParsedAuthorization,
  type SignedRequest,
  type SigningInput,
  type VerifyOptions,
} from './sigv4.js';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function catchSigV4(fn: () => unknown): SigV4Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SigV4Error);
    return err as SigV4Error;
  }
  throw new Error('expected a SigV4Error');
}

// ---------------------------------------------------------------------------------------------
// AWS's signing test suite (awslabs/aws-c-auth, tests/aws-signing-test-suite/v4, Apache-2.0):
// every vector, in both forms (Authorization header and presigned query), verified and re-signed.

const SUITE_KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_NOW = new Date('2015-08-30T12:36:00Z');

/**
 * A request of the suite as it would arrive: the suite writes request targets unencoded (a space,
 * raw UTF-8), which a client percent-encodes on the wire.
 */
function parseSuiteRequest(text: string): SignedRequest {
  const blank = text.indexOf('\n\n');
  const [requestLine, ...lines] = (blank < 0 ? text : text.slice(0, blank)).split('\n');
  const m = /^(\S+) (.*) HTTP\/1\.1$/.exec(requestLine!);
  if (!m) throw new Error(`bad request line ${requestLine}`);
  const target = m[2]!.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  const q = target.indexOf('?');
  const headers: Record<string, string[]> = {};
  let last: string[] = [];
  for (const line of lines) {
    if (/^\s/.test(line)) {
      last[last.length - 1] += `\n${line}`; // obsolete line folding: a continuation of the value
      continue;
    }
    const colon = line.indexOf(':');
    last = headers[line.slice(0, colon).toLowerCase()] ??= [];
    last.push(line.slice(colon + 1));
  }
  return {
    method: m[1]!,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
    body: Buffer.from(blank < 0 ? '' : text.slice(blank + 2), 'utf8'),
  };
}

function suiteVerify(req: SignedRequest, normalize: boolean, secret = SUITE_KEY.secretAccessKey): ParsedAuthorization {
  const parsed = parseAuthorization(req);
  verifySignature(req, parsed, secret, {
    now: SUITE_NOW,
    expectedRegion: 'us-east-1',
    expectedServices: ['service'],
    canonical: { normalizePath: normalize, doubleEncodePath: false },
  });
  return parsed;
}

describe('AWS SigV4 test suite', () => {
  it('get-vanilla: canonical request hash and signature as published', () => {
    const signed = signRequest({
      method: 'GET',
      path: '/',
      headers: { Host: 'example.amazonaws.com' },
      credentials: SUITE_KEY,
      region: 'us-east-1',
      service: 'service',
      date: SUITE_NOW,
    });
    expect(signed.canonicalRequest).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' +
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(signed.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
        'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
    expect(signed.signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
    expect(signed.headers).toEqual({
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    });
  });

  describe.each(awsSuiteVectors())('$name', (vector) => {
    it('verifies the header-signed request', () => {
      const req = parseSuiteRequest(vector.header);
      const parsed = suiteVerify(req, vector.normalize);
      expect(parsed).toMatchObject({ accessKeyId: 'AKIDEXAMPLE', date: '20150830', region: 'us-east-1', service: 'service' });
      expect(parsed.presigned).toBeUndefined();
    });

    it('rejects the header-signed request under another secret', () => {
      const req = parseSuiteRequest(vector.header);
      expect(catchSigV4(() => suiteVerify(req, vector.normalize, 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ')).kind).toBe('mismatch');
    });

    it('signs to the published canonical request and signature', () => {
      const req = parseSuiteRequest(vector.header);
      const parsed = parseAuthorization(req);
      const headers = { ...req.headers };
      for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) delete headers[name];
      const signsToken = parsed.signedHeaders.includes('x-amz-security-token');
      const signed = signRequest({
        method: req.method,
        path: req.path,
        query: req.query,
        headers,
        body: req.body,
        credentials: { ...SUITE_KEY, ...(signsToken ? { sessionToken: parsed.sessionToken! } : {}) },
        region: 'us-east-1',
        service: 'service',
        date: SUITE_NOW,
        ...(parsed.signedHeaders.includes('x-amz-content-sha256') ? { contentSha256: 'body' as const } : {}),
        canonical: { normalizePath: vector.normalize, doubleEncodePath: false },
      });
      expect(sha256(signed.canonicalRequest)).toBe(vector.headerCanonicalHash);
      expect(signed.signature).toBe(parsed.signature);
    });

    // post-sts-header-after adds the token to the query after presigning, unsigned; a verifier
    // that signs every query parameter (as AWS's services do) refuses that form.
    if (vector.name === 'post-sts-header-after') {
      it('refuses the presigned request, whose token was added after signing', () => {
        const req = parseSuiteRequest(vector.query);
        expect(() => suiteVerify(req, vector.normalize)).toThrow(SigV4Error);
      });
      return;
    }

    it('verifies the presigned request', () => {
      const req = parseSuiteRequest(vector.query);
      const parsed = suiteVerify(req, vector.normalize);
      expect(parsed.presigned).toEqual({ expiresSeconds: 3600 });
    });

    it('presigns to the published canonical request and signature', () => {
      const req = parseSuiteRequest(vector.query);
      const parsed = parseAuthorization(req);
      const original = req.query
        .split('&')
        .filter((pair) => !pair.startsWith('X-Amz-'))
        .join('&');
      const presigned = presignRequest({
        method: req.method,
        path: req.path,
        query: original,
        headers: req.headers,
        body: req.body,
        credentials: { ...SUITE_KEY, ...(parsed.sessionToken !== undefined ? { sessionToken: parsed.sessionToken } : {}) },
        region: 'us-east-1',
        service: 'service',
        date: SUITE_NOW,
        expiresSeconds: 3600,
        canonical: { normalizePath: vector.normalize, doubleEncodePath: false },
      });
      expect(sha256(presigned.canonicalRequest)).toBe(vector.queryCanonicalHash);
      expect(presigned.signature).toBe(parsed.signature);
      // And what the presigner produced verifies.
      suiteVerify({ ...req, query: presigned.query }, vector.normalize);
    });
  });
});

describe('canonicalization', () => {
  const aws = { normalizePath: true, doubleEncodePath: true };
  const s3 = { normalizePath: false, doubleEncodePath: false };

  it('encodes a non-S3 path a second time (the SigV4 docs: /documents%2520and%2520settings/)', () => {
    expect(canonicalUri('/documents%20and%20settings/', aws)).toBe('/documents%2520and%2520settings/');
    expect(canonicalUri('/%E1%88%B4', aws)).toBe('/%25E1%2588%25B4');
    expect(canonicalUri('/a:b/c@d', aws)).toBe('/a%3Ab/c%40d');
  });

  it('encodes an S3 path once, whatever encoding the client chose for it', () => {
    expect(canonicalUri('/documents%20and%20settings/', s3)).toBe('/documents%20and%20settings/');
    expect(canonicalUri('/a%7eb/c~d/%2f', s3)).toBe('/a~b/c~d/%2F');
    expect(canonicalUri('/a:b/c!d', s3)).toBe('/a%3Ab/c%21d');
    expect(canonicalUri('//x/./../y', s3)).toBe('//x/./../y');
  });

  it('normalizes dot segments and repeated slashes for non-S3 services', () => {
    expect(canonicalUri('/a/./b/../c//d/', aws)).toBe('/a/c/d/');
    expect(canonicalUri('/a/..', aws)).toBe('/');
    expect(canonicalUri('', aws)).toBe('/');
    expect(canonicalUri('', s3)).toBe('/');
    expect(canonicalUri('/', aws)).toBe('/');
  });

  it('sorts the query by key, then value, with strict RFC 3986 encoding', () => {
    expect(canonicalQueryString('b=2&a=3&a=1&A=0')).toBe('A=0&a=1&a=3&b=2');
    expect(canonicalQueryString('Param=x&Param-3=y')).toBe('Param=x&Param-3=y');
    expect(canonicalQueryString('k=%7e%2f&j=a+b&i=%20&flag')).toBe('flag=&i=%20&j=a%2Bb&k=~%2F');
    expect(canonicalQueryString('x=%zz&y=%E1%88%B4&z=%')).toBe('x=%25zz&y=%E1%88%B4&z=%25');
    expect(canonicalQueryString('')).toBe('');
    expect(canonicalQueryString('a=1&&b=2')).toBe('a=1&b=2');
    expect(canonicalQueryString('X-Amz-Signature=abc&a=1', ['X-Amz-Signature'])).toBe('a=1');
  });
});

// ---------------------------------------------------------------------------------------------
// berth's doors: an ECR JSON 1.1 call, signed by berth's signer and verified.

const REGION = 'eu-west-1';
const KEY = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'test/Secret+Value0123456789abcdefABCDEF' };
const NOW = new Date('2026-11-27T00:30:00Z');
const HOST = 'api.ecr.eu-west-1.amazonaws.com';
const TARGET = 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories';
const BODY = Buffer.from(JSON.stringify({ repositoryNames: ['team/app'] }));

function ecrRequest(overrides: Partial<SigningInput> = {}): SignedRequest {
  const input: SigningInput = {
    method: 'POST',
    path: '/',
    headers: { host: HOST, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET },
    body: BODY,
    credentials: KEY,
    region: REGION,
    service: 'ecr',
    date: NOW,
    ...overrides,
  };
  const signed = signRequest(input);
  const headers: Record<string, string | readonly string[] | undefined> = {};
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
  return {
    method: input.method,
    path: input.path,
    query: input.query ?? '',
    headers: { ...headers, ...signed.headers },
    body: typeof input.body === 'string' ? Buffer.from(input.body) : (input.body ?? Buffer.alloc(0)),
  };
}

function verify(req: SignedRequest, secret = KEY.secretAccessKey, opts: Partial<VerifyOptions> = {}): ParsedAuthorization {
  const parsed = parseAuthorization(req);
  verifySignature(req, parsed, secret, { now: NOW, expectedRegion: REGION, expectedServices: ['ecr'], ...opts });
  return parsed;
}

function withAuthorization(req: SignedRequest, edit: (value: string) => string): SignedRequest {
  return { ...req, headers: { ...req.headers, authorization: edit(req.headers['authorization'] as string) } };
}

describe('verifySignature', () => {
  it('accepts a request signed by berth\'s signer and names its key and scope', () => {
    expect(verify(ecrRequest())).toEqual({
      accessKeyId: KEY.accessKeyId,
      date: '20261127',
      region: REGION,
      service: 'ecr',
      signedHeaders: ['content-type', 'host', 'x-amz-date', 'x-amz-target'],
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
      amzDate: '20261127T003000Z',
    });
  });

  it('accepts any of several services and a path and query of any shape', () => {
    const req = ecrRequest({ service: 'sts', path: '/a%20b/./c/', query: 'Version=2011-06-15&Action=GetCallerIdentity&x=%7e' });
    expect(verify(req, KEY.secretAccessKey, { expectedServices: ['iam', 'sts'] }).service).toBe('sts');
  });

  it('accepts headers a client or proxy adds after signing', () => {
    const req = ecrRequest();
    verify({ ...req, headers: { ...req.headers, 'user-agent': 'aws-cli/2', 'x-forwarded-for': '10.0.0.1' } });
  });

  it('rejects a wrong secret with AWS\'s message, revealing neither secret nor expected signature', () => {
    const req = ecrRequest();
    const good = parseAuthorization(req).signature;
    const err = catchSigV4(() => verify(req, 'another/Secret+Value0123456789abcdefABCD'));
    expect(err.kind).toBe('mismatch');
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
    expect(err.message).not.toContain(good);
    expect(err.message).not.toContain(KEY.secretAccessKey);
  });

  it('keeps signing keys apart per secret (the derived-key cache)', () => {
    const req = ecrRequest();
    verify(req);
    expect(catchSigV4(() => verify(req, `${KEY.secretAccessKey}x`)).kind).toBe('mismatch');
    verify(req);
    // Many scopes and secrets: more than the cache holds, all still correct.
    for (let i = 0; i < 1100; i++) {
      const other = { accessKeyId: KEY.accessKeyId, secretAccessKey: `secret-${i}` };
      verify(ecrRequest({ credentials: other }), other.secretAccessKey);
    }
    verify(req);
  });

  it.each<[string, (req: SignedRequest) => SignedRequest]>([
    ['a tampered body', (req) => ({ ...req, body: Buffer.from(JSON.stringify({ repositoryNames: ['team/other'] })) })],
    ['a tampered signed header', (req) => ({ ...req, headers: { ...req.headers, 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DeleteRepository' } })],
    ['a dropped signed header', (req) => ({ ...req, headers: { ...req.headers, 'content-type': undefined } })],
    ['another method', (req) => ({ ...req, method: 'PUT' })],
    ['another path', (req) => ({ ...req, path: '/x' })],
    ['an added query parameter', (req) => ({ ...req, query: 'a=1' })],
    ['another X-Amz-Date in the same minute window', (req) => ({ ...req, headers: { ...req.headers, 'x-amz-date': '20261127T003001Z' } })],
    ['a signature one digit off', (req) => withAuthorization(req, (a) => a.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`))],
    ['a signature in upper case', (req) => withAuthorization(req, (a) => a.replace(/Signature=(\w+)/, (_m, s: string) => `Signature=${s.toUpperCase()}`))],
    ['a truncated signature', (req) => withAuthorization(req, (a) => a.slice(0, -1))],
    ['an over-long signature', (req) => withAuthorization(req, (a) => `${a}0`)],
    ['a signed header list that omits a header', (req) => withAuthorization(req, (a) => a.replace('content-type;', ''))],
  ])('rejects %s as a mismatch', (_label, edit) => {
    expect(catchSigV4(() => verify(edit(ecrRequest()))).kind).toBe('mismatch');
  });

  it('rejects a credential scoped to another region', () => {
    const err = catchSigV4(() => verify(ecrRequest({ region: 'us-east-1' })));
    expect(err.kind).toBe('scope');
    expect(err.message).toBe("Credential should be scoped to a valid region, not 'us-east-1'.");
  });

  it('rejects a credential scoped to another service', () => {
    const err = catchSigV4(() => verify(ecrRequest({ service: 'sts' })));
    expect(err.kind).toBe('scope');
    expect(err.message).toBe("Credential should be scoped to correct service: 'ecr'.");
  });

  it('rejects a scope date that is not the X-Amz-Date day', () => {
    const req = withAuthorization(ecrRequest(), (a) => a.replace('/20261127/', '/20261126/'));
    const err = catchSigV4(() => verify(req));
    expect(err.kind).toBe('scope');
    expect(err.message).toBe('Invalid credential date. Date is not the same as X-Amz-Date.');
  });

  it('rejects a request signed more than 15 minutes ago, as AWS words it', () => {
    const err = catchSigV4(() => verify(ecrRequest({ date: new Date('2026-11-27T00:00:00Z') })));
    expect(err.kind).toBe('expired');
    expect(err.message).toBe('Signature expired: 20261127T000000Z is now earlier than 20261127T001500Z (20261127T003000Z - 15 min.)');
    expect(catchSigV4(() => verify(ecrRequest({ date: new Date(NOW.getTime() - 16 * 60_000) }))).kind).toBe('expired');
  });

  it('accepts a request exactly 15 minutes old or ahead', () => {
    verify(ecrRequest({ date: new Date(NOW.getTime() - 15 * 60_000) }));
    verify(ecrRequest({ date: new Date(NOW.getTime() + 15 * 60_000) }));
    verify(ecrRequest({ date: new Date(NOW.getTime() - 16 * 60_000) }), KEY.secretAccessKey, { maxSkewMs: 20 * 60_000 });
  });

  it('rejects a request dated more than 15 minutes ahead', () => {
    const err = catchSigV4(() => verify(ecrRequest({ date: new Date('2026-11-27T00:46:00Z') })));
    expect(err.kind).toBe('expired');
    expect(err.message).toBe(
      'Signature not yet current: 20261127T004600Z is still later than 20261127T004500Z (20261127T003000Z + 15 min.)',
    );
  });

  it('rejects a request with neither an Authorization header nor a presigned query as missing', () => {
    const req = ecrRequest();
    const err = catchSigV4(() => verify({ ...req, headers: { ...req.headers, authorization: undefined } }));
    expect(err.kind).toBe('missing');
    expect(err.message).toBe('Missing Authentication Token');
    expect(catchSigV4(() => verify({ ...req, headers: { ...req.headers, authorization: '' } })).kind).toBe('missing');
  });

  it.each<[string, (a: string) => string, RegExp]>([
    ['a credential without a terminator', (a) => a.replace('/aws4_request', ''), /Credential must have the form/],
    ['a credential with an extra part', (a) => a.replace('/aws4_request', '/x/aws4_request'), /Credential must have the form/],
    ['a credential with an empty part', (a) => a.replace(`/${REGION}/`, '//'), /Credential must have the form/],
    ['a wrong terminator', (a) => a.replace('/aws4_request', '/aws5_request'), /valid terminator: 'aws4_request'/],
    ['a malformed scope date', (a) => a.replace('/20261127/', '/2026-11-27/'), /yyyymmdd/],
    ['no Credential', (a) => a.replace(/Credential=[^,]*, /, ''), /requires 'Credential' parameter/],
    ['no SignedHeaders', (a) => a.replace(/SignedHeaders=[^,]*, /, ''), /requires 'SignedHeaders' parameter/],
    ['no Signature', (a) => a.replace(/, Signature=\w+/, ''), /requires 'Signature' parameter/],
    ['an empty Signature', (a) => a.replace(/Signature=\w+/, 'Signature='), /requires 'Signature' parameter/],
    ['a duplicate parameter', (a) => `${a}, Signature=00`, /duplicate 'Signature'/],
    ['an empty signed header name', (a) => a.replace('SignedHeaders=', 'SignedHeaders=;'), /SignedHeaders must be/],
    ['another algorithm', (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'), /only AWS4-HMAC-SHA256/],
    ['HTTP Basic', () => `Basic ${Buffer.from('AWS:token').toString('base64')}`, /only AWS4-HMAC-SHA256/],
  ])('rejects %s as incomplete', (_label, edit, message) => {
    const err = catchSigV4(() => verify(withAuthorization(ecrRequest(), edit)));
    expect(err.kind).toBe('incomplete');
    expect(err.message).toMatch(message);
  });

  it('names every missing part at once, as AWS does', () => {
    const err = catchSigV4(() => verify({ method: 'POST', path: '/', query: '', headers: { host: HOST, authorization: 'AWS4-HMAC-SHA256 ' }, body: BODY }));
    expect(err.kind).toBe('incomplete');
    expect(err.message).toBe(
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
        "Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of a 'X-Amz-Date' header.",
    );
  });

  it('never echoes a foreign Authorization header', () => {
    const err = catchSigV4(() => verify(withAuthorization(ecrRequest(), () => 'Bearer s3cr3t-t0ken')));
    expect(err.message).not.toContain('s3cr3t');
  });

  it.each([['missing', undefined], ['malformed', '2026-11-27T00:30:00Z'], ['impossible', '20261331T003000Z']])(
    'rejects a %s X-Amz-Date as incomplete',
    (_label, value) => {
      const req = ecrRequest();
      expect(catchSigV4(() => verify({ ...req, headers: { ...req.headers, 'x-amz-date': value } })).kind).toBe('incomplete');
    },
  );

  it('requires host to be signed', () => {
    const req = withAuthorization(ecrRequest(), (a) => a.replace('host;', ''));
    const err = catchSigV4(() => verify(req));
    expect(err.kind).toBe('mismatch');
    expect(err.message).toBe("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('requires the headers a door names to be signed', () => {
    // x-amz-target added after signing: the signature holds, but the operation isn't covered.
    const req = ecrRequest({ headers: { host: HOST, 'content-type': 'application/x-amz-json-1.1' } });
    const unsigned = { ...req, headers: { ...req.headers, 'x-amz-target': TARGET } };
    verify(unsigned);
    const err = catchSigV4(() => verify(unsigned, KEY.secretAccessKey, { requireSignedHeaders: ['X-Amz-Target'] }));
    expect(err.kind).toBe('mismatch');
    expect(err.message).toContain("'X-Amz-Target' must be a 'SignedHeader'");
    verify(ecrRequest(), KEY.secretAccessKey, { requireSignedHeaders: ['x-amz-target'] });
  });

  it('accepts a signed session token and reports it', () => {
    const req = ecrRequest({ credentials: { ...KEY, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDOk4x4HIZ8j4' } });
    const parsed = verify(req);
    expect(parsed.signedHeaders).toContain('x-amz-security-token');
    expect(parsed.sessionToken).toBe('FwoGZXIvYXdzEJr//////////wEaDOk4x4HIZ8j4');
    const swapped = { ...req, headers: { ...req.headers, 'x-amz-security-token': 'FwoGZXIvYXdzEJr//////////wEaDOk4x4HIZ8j5' } };
    expect(catchSigV4(() => verify(swapped)).kind).toBe('mismatch');
  });

  it('checks a declared x-amz-content-sha256 against the body', () => {
    const req = ecrRequest({ contentSha256: 'body' });
    expect(req.headers['x-amz-content-sha256']).toBe(sha256(BODY));
    verify(req);
    const err = catchSigV4(() => verify({ ...req, body: Buffer.from('{}') }));
    expect(err.kind).toBe('mismatch');
    expect(err.message).toBe("The provided 'x-amz-content-sha256' header does not match what was computed.");
    const bad = { ...req, headers: { ...req.headers, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } };
    expect(catchSigV4(() => verify(bad)).kind).toBe('incomplete');
  });

  it('accepts UNSIGNED-PAYLOAD only when the door allows it', () => {
    const req = ecrRequest({ contentSha256: 'UNSIGNED-PAYLOAD' });
    expect(catchSigV4(() => verify(req)).kind).toBe('mismatch');
    verify(req, KEY.secretAccessKey, { allowUnsignedPayload: true });
    verify({ ...req, body: Buffer.from('anything') }, KEY.secretAccessKey, { allowUnsignedPayload: true });
  });

  it('joins repeated headers with "," (pass Node\'s headersDistinct, not its ", "-joined headers)', () => {
    const req = ecrRequest({ headers: { host: HOST, 'x-amz-target': TARGET, 'x-repeated': ['a', 'b  c'] } });
    expect(signRequest({ method: 'POST', path: '/', headers: { host: HOST, 'x-repeated': ['a', ' b  c '] }, credentials: KEY, region: REGION, service: 'ecr', date: NOW }).canonicalRequest).toContain('x-repeated:a,b c\n');
    verify(req);
    expect(catchSigV4(() => verify({ ...req, headers: { ...req.headers, 'x-repeated': 'a, b  c' } })).kind).toBe('mismatch');
  });

  it('rejects a header that must appear once but is repeated', () => {
    const req = ecrRequest();
    expect(catchSigV4(() => verify({ ...req, headers: { ...req.headers, 'x-amz-date': ['20261127T003000Z', '20261127T003000Z'] } })).kind).toBe(
      'incomplete',
    );
  });

  it('takes the host from :authority under HTTP/2', () => {
    const req = ecrRequest();
    verify({ ...req, headers: { ...req.headers, host: undefined, ':authority': HOST } });
  });

});

describe('presigned requests', () => {
  const BLOB_HOST = 'registry.example.com';
  const PATH = '/v2/team/app/blobs/sha256:' + 'a'.repeat(64);

  function presigned(service: string, expiresSeconds: number, extra: { query?: string; date?: Date; sessionToken?: string } = {}): SignedRequest {
    const { query } = presignRequest({
      method: 'GET',
      path: PATH,
      query: extra.query ?? '',
      headers: { host: BLOB_HOST },
      credentials: { ...KEY, ...(extra.sessionToken ? { sessionToken: extra.sessionToken } : {}) },
      region: REGION,
      service,
      date: extra.date ?? NOW,
      expiresSeconds,
    });
    return { method: 'GET', path: PATH, query, headers: { host: BLOB_HOST }, body: Buffer.alloc(0) };
  }

  const at = (ms: number) => ({ now: new Date(NOW.getTime() + ms), expectedServices: ['s3', 'ecr'] });

  it('round-trips for S3 (UNSIGNED-PAYLOAD) and for other services (body hash)', () => {
    const s3 = verify(presigned('s3', 900), KEY.secretAccessKey, at(0));
    expect(s3.presigned).toEqual({ expiresSeconds: 900 });
    expect(s3.signedHeaders).toEqual(['host']);
    verify(presigned('ecr', 900), KEY.secretAccessKey, at(0));
    // A request body can't change what a non-S3 presigned URL allows.
    expect(catchSigV4(() => verify({ ...presigned('ecr', 900), body: Buffer.from('x') }, KEY.secretAccessKey, at(0))).kind).toBe('mismatch');
  });

  it('keeps the original query parameters signed', () => {
    const req = presigned('s3', 900, { query: 'digest=sha256%3Aabc&n=1' });
    verify(req, KEY.secretAccessKey, at(0));
    expect(catchSigV4(() => verify({ ...req, query: req.query.replace('n=1', 'n=2') }, KEY.secretAccessKey, at(0))).kind).toBe('mismatch');
  });

  it('is valid until X-Amz-Date + X-Amz-Expires, then expired', () => {
    const req = presigned('s3', 60);
    verify(req, KEY.secretAccessKey, at(60_000));
    const err = catchSigV4(() => verify(req, KEY.secretAccessKey, at(60_001)));
    expect(err.kind).toBe('expired');
    expect(err.message).toBe('Request has expired.');
    // Presigned URLs live past the 15-minute skew window when asked to.
    verify(presigned('s3', 604_800), KEY.secretAccessKey, at(6 * 86_400_000));
  });

  it('is not valid long before its date', () => {
    const req = presigned('s3', 60, { date: new Date(NOW.getTime() + 16 * 60_000) });
    expect(catchSigV4(() => verify(req, KEY.secretAccessKey, at(0))).kind).toBe('expired');
  });

  it.each([['604801'], ['0'], ['-1'], ['1e3'], ['']])('rejects X-Amz-Expires=%s as incomplete', (value) => {
    const req = presigned('s3', 60);
    const query = req.query.replace('X-Amz-Expires=60', `X-Amz-Expires=${value}`);
    expect(catchSigV4(() => verify({ ...req, query }, KEY.secretAccessKey, at(0))).kind).toBe('incomplete');
  });

  it.each(['X-Amz-Credential', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-Algorithm'])('rejects a presigned query without %s', (name) => {
    const req = presigned('s3', 60);
    const query = req.query
      .split('&')
      .filter((pair) => !pair.startsWith(`${name}=`))
      .join('&');
    const err = catchSigV4(() => verify({ ...req, query }, KEY.secretAccessKey, at(0)));
    expect(err.kind).toBe('incomplete');
    expect(err.message).toContain(name);
  });

  it('rejects another algorithm, a duplicate parameter, and both mechanisms at once', () => {
    const req = presigned('s3', 60);
    const other = { ...req, query: req.query.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256') };
    expect(catchSigV4(() => verify(other, KEY.secretAccessKey, at(0))).kind).toBe('incomplete');
    const dup = { ...req, query: `${req.query}&X-Amz-Date=20261127T003000Z` };
    expect(catchSigV4(() => verify(dup, KEY.secretAccessKey, at(0))).kind).toBe('incomplete');
    const both = { ...req, headers: { ...req.headers, authorization: ecrRequest().headers['authorization'] } };
    expect(catchSigV4(() => verify(both, KEY.secretAccessKey, at(0))).message).toMatch(/Only one auth mechanism/);
  });

  it('signs a session token into the query', () => {
    const req = presigned('s3', 60, { sessionToken: 'tok/en+=' });
    expect(req.query).toContain('X-Amz-Security-Token=tok%2Fen%2B%3D');
    expect(verify(req, KEY.secretAccessKey, at(0)).sessionToken).toBe('tok/en+=');
    const swapped = { ...req, query: req.query.replace('tok%2Fen%2B%3D', 'tok%2Fen%2B%3E') };
    expect(catchSigV4(() => verify(swapped, KEY.secretAccessKey, at(0))).kind).toBe('mismatch');
  });

  it('refuses to presign for longer than a week', () => {
    expect(() => presigned('s3', 604_801)).toThrow(RangeError);
  });
});

describe('over a real Node HTTP server', () => {
  let server: Server;
  let base: string;
  let host: string;

  function fromNode(req: IncomingMessage, body: Buffer): SignedRequest {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      headers: req.headersDistinct,
      body,
    };
  }

  /** What the server concluded about each request, newest last. */
  const verdicts: { parsed?: ParsedAuthorization; kind?: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const parsed = verify(fromNode(req, Buffer.concat(chunks)), KEY.secretAccessKey, {
            now: new Date(),
            expectedServices: ['ecr', 's3', 'sts'],
            requireSignedHeaders: req.headers['x-amz-target'] ? ['x-amz-target'] : [],
          });
          verdicts.push({ parsed });
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
        } catch (err) {
          verdicts.push({ kind: err instanceof SigV4Error ? err.kind : String(err) });
          res.writeHead(403).end(err instanceof SigV4Error ? err.kind : 'error');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    base = `http://${host}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verifies a signed POST with an encoded path and query, and rejects a tampered one', async () => {
    const path = '/team%20a/./x/';
    const query = 'b=2&a=%7E1&c';
    const headers = { host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET };
    const signed = signRequest({ method: 'POST', path, query, headers, body: BODY, credentials: KEY, region: REGION, service: 'ecr', date: new Date() });
    const send = (body: Buffer) =>
      fetch(`${base}${path}?${query}`, { method: 'POST', headers: { ...headers, ...signed.headers }, body }).then(async (r) => [r.status, await r.text()]);
    expect(await send(BODY)).toEqual([200, '{}']);
    expect(await send(Buffer.from('{}'))).toEqual([403, 'mismatch']);
  });

  it('verifies what the real @aws-sdk/client-ecr and client-sts send', async () => {
    const [ecr, sts]: any[] = await Promise.all([import('@aws-sdk/client-ecr'), import('@aws-sdk/client-sts')]);
    const config = { region: REGION, endpoint: base, credentials: { ...KEY, sessionToken: 'token/with+chars=' }, maxAttempts: 1 };

    verdicts.length = 0;
    await new ecr.ECRClient(config).send(new ecr.DescribeRepositoriesCommand({ repositoryNames: ['team/app'] }));
    expect(verdicts).toEqual([{ parsed: expect.objectContaining({ service: 'ecr', region: REGION, sessionToken: 'token/with+chars=' }) }]);

    // The Query protocol: a form-encoded body. The reply isn't STS XML, so the client's parse may fail.
    verdicts.length = 0;
    await new sts.STSClient(config).send(new sts.GetCallerIdentityCommand({})).catch(() => undefined);
    expect(verdicts).toEqual([{ parsed: expect.objectContaining({ service: 'sts', region: REGION }) }]);
  });

  it('verifies a presigned GET', async () => {
    const path = '/v2/team/app/blobs/sha256:abc';
    const { query } = presignRequest({ method: 'GET', path, headers: { host }, credentials: KEY, region: REGION, service: 's3', date: new Date(), expiresSeconds: 60 });
    const res = await fetch(`${base}${path}?${query}`);
    expect([res.status, await res.text()]).toEqual([200, '{}']);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip with the AWS SDK's own signer, which @aws-sdk/client-ecr (a dev dependency) brings in.
// berth itself never imports it.

/** The `sha256` constructor SignatureV4 wants (as @smithy/hash-node's Hash): a hash, or an HMAC under `secret`. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | Uint8Array) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

const smithy: { SignatureV4: any } = await import(/* @vite-ignore */ '@smithy/signature-v4');

describe('with @smithy/signature-v4', () => {
  const strict = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

  function toSigned(request: { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string> }, body: Buffer): SignedRequest {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    const query = Object.entries(request.query ?? {})
      .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => (v === null ? strict(key) : `${strict(key)}=${strict(v)}`)))
      .join('&');
    return { method: request.method, path: request.path, query, headers, body };
  }

  function signer(service: string, sessionToken?: string) {
    return new smithy!.SignatureV4({
      credentials: { ...KEY, ...(sessionToken ? { sessionToken } : {}) },
      region: REGION,
      service,
      sha256: NodeSha256,
    });
  }

  function request(path: string, query: Record<string, string>, body: string) {
    return {
      method: 'POST',
      protocol: 'https:',
      hostname: HOST,
      path,
      query,
      headers: { host: HOST, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET },
      body,
    };
  }

  it('verifies what the SDK signs, with a session token, an encoded path and a query', async () => {
    const body = JSON.stringify({ repositoryNames: ['team/app'] });
    const signed = await signer('ecr', 'session/token+1').sign(request('/a%20b/c', { 'x y': 'v~1', a: '' }, body), { signingDate: NOW });
    const parsed = verify(toSigned(signed, Buffer.from(body)), KEY.secretAccessKey, { requireSignedHeaders: ['x-amz-target'] });
    expect(parsed.sessionToken).toBe('session/token+1');
    expect(catchSigV4(() => verify(toSigned(signed, Buffer.from('{}')))).kind).toBe('mismatch');
  });

  it('produces the signature the SDK produces', async () => {
    const body = JSON.stringify({ maxResults: 5 });
    const sdk = await signer('ecr').sign(request('/', {}, body), { signingDate: NOW });
    const ours = signRequest({
      method: 'POST',
      path: '/',
      headers: { host: HOST, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET },
      body,
      credentials: KEY,
      region: REGION,
      service: 'ecr',
      date: NOW,
      ...(sdk.headers['x-amz-content-sha256'] ? { contentSha256: 'body' as const } : {}),
    });
    expect(ours.headers['authorization']).toBe(sdk.headers['authorization']);
  });

  it('verifies what the SDK presigns', async () => {
    const presigned = await signer('ecr').presign(
      { method: 'GET', protocol: 'https:', hostname: HOST, path: '/v2/x', query: { a: 'b c' }, headers: { host: HOST } },
      { expiresIn: 300, signingDate: NOW },
    );
    expect(verify(toSigned(presigned, Buffer.alloc(0))).presigned).toEqual({ expiresSeconds: 300 });
  });
});

// ---------------------------------------------------------------------------------------------

interface SuiteVector {
  name: string;
  /** context.json "normalize": false means S3-style paths, kept as they are. */
  normalize: boolean;
  /** header-signed-request.txt */
  header: string;
  /** sha256 of header-canonical-request.txt (the last line of header-string-to-sign.txt) */
  headerCanonicalHash: string;
  /** query-signed-request.txt */
  query: string;
  /** sha256 of query-canonical-request.txt */
  queryCanonicalHash: string;
}

/**
 * awslabs/aws-c-auth tests/aws-signing-test-suite/v4, every vector. All share context.json's
 * credentials (AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY), region us-east-1, service
 * "service", timestamp 2015-08-30T12:36:00Z and a 3600 s presign expiry.
 */
function awsSuiteVectors(): SuiteVector[] {
  return [
    { name: "get-header-key-duplicate", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea\n\n", headerCanonicalHash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&X-Amz-Expires=3600&X-Amz-Signature=3349ee0b81b4b589da0ff28a395c3591e04de515651dd74f298fa992d1507a97 HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\n\n", queryCanonicalHash: "fe8b58fb44117d598520befc07c144a5699c661a8db78f9ce4caee1655dec813" },
    { name: "get-header-value-multiline", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd\n\n", headerCanonicalHash: "e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&X-Amz-Expires=3600&X-Amz-Signature=e6f5def831211aca02987a44b96826706278c7bc078112ae0263659c5b2f2d56 HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\n\n", queryCanonicalHash: "0e73c10e35324b4d215da4bb70be61d13a3d30d569be4ed6e8fd8948965341ca" },
    { name: "get-header-value-order", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01\n\n", headerCanonicalHash: "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&X-Amz-Expires=3600&X-Amz-Signature=313720e71ca6202fdcfa9b20f88de01a4eb0638a83c833b1c184359a4eda864e HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\n\n", queryCanonicalHash: "f4d3f13084ba7664111670ce26458291d3e0c620acd9384f8cd6b60d8e83423e" },
    { name: "get-header-value-trim", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736\n\n", headerCanonicalHash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2&X-Amz-Expires=3600&X-Amz-Signature=e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4 HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\n\n", queryCanonicalHash: "84c9e353b6161b689210977f93b93e6a7182f9ecb2ceae8af8c3d86b080a88ae" },
    { name: "get-relative-normalized", normalize: true, header: "GET /example/.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET /example/..?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "get-relative-relative-normalized", normalize: true, header: "GET /example1/example2/../.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET /example1/example2/../..?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "get-relative-relative-unnormalized", normalize: false, header: "GET /example1/example2/../.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b\n\n", headerCanonicalHash: "76115030c0f3ff06c20fdff5ceb6d5e0b835a1743e00b94fea7c7f381269437b", query: "GET /example1/example2/../..?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=b45db0bfd1cf15003493b733e33aa208dd981bd0e63037a6ed953f71d2118a16 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "13b7758115ec070fe36a7ae9d754154ad73f6ee9a5eac022494857d0e7effc18" },
    { name: "get-relative-unnormalized", normalize: false, header: "GET /example/.. HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eca7ead57bb5aa5c8e28007acd4ff04e1ff9a0ff3b237ec1554a184887ff9282\n\n", headerCanonicalHash: "0511f456aa502b456d135fcb9d749374a55228f9dbeedda1eacf659e05b0615b", query: "GET /example/..?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=cbcb213b928a077e43275df47b500f1dfaa864ab3f5a18f6b95f4ff0938167ee HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "6e02e2dba21d6f269bae339b86ff27a4b7bbc9d88c482abccbfbf8a49d602482" },
    { name: "get-slash-dot-slash-normalized", normalize: true, header: "GET /./ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET /./?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "get-slash-dot-slash-unnormalized", normalize: false, header: "GET /./ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=68714168e6557f8f2de0ef956fc24dc2593a4bd2961f8df51898d8a134695145\n\n", headerCanonicalHash: "d67825e2268bd77a97c7688b8d72c31a3c1855b309808505ba0a9747d2465aa7", query: "GET /./?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=a9b13e8f3484d9505bf1a6f347219f8f35b0fe8f128ceea597efc146a3dfe90c HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "21b2da17873f30c1a7410efdc271738b318ccc2c9c6fbe1289fc242aeb1a8ae1" },
    { name: "get-slash-normalized", normalize: true, header: "GET // HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET //?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "get-slash-pointless-dot-normalized", normalize: true, header: "GET /./example HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5\n\n", headerCanonicalHash: "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702", query: "GET /./example?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=35034b1a0bdd969f346975386daf8aedfd4976573b8348cf4f67eaa41c5857de HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "88dd73bb06de69cb042dbb82cadbb4fce1a2623615d94520c271614abf94e738" },
    { name: "get-slash-pointless-dot-unnormalized", normalize: false, header: "GET /./example HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=beb03f223f7deae4146464f06e29eebbee9c8afbe15c290cf07aa8b119e14cff\n\n", headerCanonicalHash: "73895e0e829507e28e39fd24669aedc2434a8e179e547e3c075b42921f952cdb", query: "GET /./example?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=72b11f16d9530b18204bfb71f2d6ab085894c0ed8d352730a6e76234c58b5e10 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "cb23444939471187ac1f0fb25d437337af0d5f48b5ae0ede5baa3727c8c6af92" },
    { name: "get-slash-unnormalized", normalize: false, header: "GET // HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=c88bcd3d312d75078c0cd961d6deae3f4c754924b01669efcfcb439fd5e5b76e\n\n", headerCanonicalHash: "80cb39203d058af815de2b79250ff56e1b73eb9b4718c86556cdc6f150c5d209", query: "GET //?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=b2a9542809db687769200f56a844a03f2bd0291d6eb90232d5101c6a579446cd HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "e10a01494cafa1f2207c4de80c69b7a36d6f2d282aa63ee64a5ca50e175cf730" },
    { name: "get-slashes-normalized", normalize: true, header: "GET //example// HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84\n\n", headerCanonicalHash: "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015", query: "GET //example//?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=c1834e8fb0307243711f0f907f6ab7311ed300d87f13792d7ee4da89ab93e082 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "1a3e3fe19998c62136ed2ff9c8531973a46d4a21b336f58e8fcad185ec64d642" },
    { name: "get-slashes-unnormalized", normalize: false, header: "GET //example// HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5\n\n", headerCanonicalHash: "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240", query: "GET //example//?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=822a5a9ba28072c5ab2bb4a6307d0c88276d40e49fec6b724c03fb4d4ba60fc2 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "82241114f9a6320f054333c890952474aa7a0069d28a4326c3a8d95bbecc69ee" },
    { name: "get-space-normalized", normalize: true, header: "GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\n\n", headerCanonicalHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86", query: "GET /example space/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "cc3dd817bd405e51225826ec4934a96d065d6af5b6b0163c7a5abbd26a84519e" },
    { name: "get-space-unnormalized", normalize: false, header: "GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\n\n", headerCanonicalHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86", query: "GET /example space/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "cc3dd817bd405e51225826ec4934a96d065d6af5b6b0163c7a5abbd26a84519e" },
    { name: "get-unreserved", normalize: true, header: "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f\n\n", headerCanonicalHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9", query: "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "3134f2fbc6ef58f34b74b01643a159bfccbc121ea4288a4b75e65bc805d08219" },
    { name: "get-utf8", normalize: true, header: "GET /ሴ HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85\n\n", headerCanonicalHash: "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102", query: "GET /ሴ?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "d8f78e05d0d9bb1c16ae1e60ed405de76cfb8fdcd3e414ffe65fad563b996d66" },
    { name: "get-vanilla-empty-query-key", normalize: true, header: "GET /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb\n\n", headerCanonicalHash: "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab", query: "GET /?Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "74828b608f939673ed5a839190452a943b0178760f258da766209b21f8ca3f86" },
    { name: "get-vanilla-query-order-encoded", normalize: true, header: "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac\n\n", headerCanonicalHash: "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71", query: "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "9808d6cdc8245c74e705c68350fc6a62b91778cdd613890e5d177998c02c6f53" },
    { name: "get-vanilla-query-order-key-case", normalize: true, header: "GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\n\n", headerCanonicalHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0", query: "GET /?Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "b82878ecb2ab7ad194b9fe79b2946c2a36ee1627a219408089b2d774c1a0cedb" },
    { name: "get-vanilla-query-unreserved", normalize: true, header: "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197\n\n", headerCanonicalHash: "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177", query: "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "c77f27ef2b499fbfee3f0b3c88bba7057b2b31ee9b62047078a5e0d6be91fd58" },
    { name: "get-vanilla-query", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "get-vanilla-utf8-query", normalize: true, header: "GET /?ሴ=bar HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04\n\n", headerCanonicalHash: "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073", query: "GET /?ሴ=bar&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "b2e8ae8e48ec880defebc6f6dc1d9fbc9f1856b33146f2943060ca71a50a7a77" },
    { name: "get-vanilla-with-session-token", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8\n\n", headerCanonicalHash: "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267&X-Amz-Signature=7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "cb30434103085aa9e73780fc60dc9a9df818fd2a7b1de12a9f6f4d791f898761" },
    { name: "get-vanilla", normalize: true, header: "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n", headerCanonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", query: "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5" },
    { name: "post-header-key-case", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n\n", headerCanonicalHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "d27fc6fe1afc1d88b248c5ae9194ec0943a693dd6d81d8d815c88a369eb0471e" },
    { name: "post-header-key-sort", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c\n\n", headerCanonicalHash: "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&X-Amz-Expires=3600&X-Amz-Signature=c09d07e0d55871f10f2a6d350d994acf6825a3cae70673d7def55616e6119dd7 HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n\n", queryCanonicalHash: "1295ed77e4ef8b18b32815e493e0b0f78ee47615c0ecbebfec7c75709eb58c88" },
    { name: "post-header-value-case", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:VALUE1\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d\n\n", headerCanonicalHash: "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&X-Amz-Expires=3600&X-Amz-Signature=0698bc9e4f7f9139065ba2909c0e99da257e8e2a42492a097bcd46d792391fed HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:VALUE1\n\n", queryCanonicalHash: "9d4d1de88f0149695a91a01275fc72dc00fb50bdc78e424f012ec860d5f8c41d" },
    { name: "post-sts-header-after", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n\n", headerCanonicalHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-Signature=2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "d27fc6fe1afc1d88b248c5ae9194ec0943a693dd6d81d8d815c88a369eb0471e" },
    { name: "post-sts-header-before", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead\n\n", headerCanonicalHash: "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-Signature=46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "37f7ba7a2ec89e8b29a0d637bcc70d8e8d0fdba854ddfc5bc06a12398cfe8605" },
    { name: "post-vanilla-empty-query-value", normalize: true, header: "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n\n", headerCanonicalHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd", query: "POST /?Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "98241d1c6f938789d34b92e16e08b7fc8fdaa774c5437ba30d505eedae43dd2b" },
    { name: "post-vanilla-query", normalize: true, header: "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n\n", headerCanonicalHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd", query: "POST /?Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682 HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "98241d1c6f938789d34b92e16e08b7fc8fdaa774c5437ba30d505eedae43dd2b" },
    { name: "post-vanilla", normalize: true, header: "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n\n", headerCanonicalHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b HTTP/1.1\nHost:example.amazonaws.com\n\n", queryCanonicalHash: "d27fc6fe1afc1d88b248c5ae9194ec0943a693dd6d81d8d815c88a369eb0471e" },
    { name: "post-x-www-form-urlencoded-parameters", normalize: true, header: "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded; charset=utf-8\nHost:example.amazonaws.com\nContent-Length:13\nX-Amz-Date:20150830T123600Z\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422\n\nParam1=value1", headerCanonicalHash: "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600&X-Amz-Signature=0dbeb9b026c7b6675f266b8427efec9b4fa8b1f6ef1477d717aea231106eab4d HTTP/1.1\nContent-Type:application/x-www-form-urlencoded; charset=utf-8\nHost:example.amazonaws.com\nContent-Length:13\n\nParam1=value1", queryCanonicalHash: "32192353b8ae6d857fac1c71cda066e6af2d3a3127ea7ac1fee22621ab4f05dc" },
    { name: "post-x-www-form-urlencoded", normalize: true, header: "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nContent-Length:13\nX-Amz-Date:20150830T123600Z\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n\nParam1=value1", headerCanonicalHash: "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb", query: "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600&X-Amz-Signature=89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9 HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\nHost:example.amazonaws.com\nContent-Length:13\n\nParam1=value1", queryCanonicalHash: "ee5059a7c437165a28d0e775e6498be428761255d657d8c04cb1baa41de6514c" },
  ];
}
