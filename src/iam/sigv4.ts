import { createHash, createHmac, randomBytes } from 'node:crypto';
import { BerthError, constantTimeEqual } from '../core/index.js';

/**
 * AWS Signature Version 4: verification of incoming requests, and a signer for berth's own calls.
 *
 * Spec: "Create a signed AWS API request" and "Authenticating Requests: Using Query Parameters" in
 * the IAM User Guide / S3 API Reference (SigV4, algorithm AWS4-HMAC-SHA256). Checked against
 * AWS's published signing test suite (awslabs/aws-c-auth tests/aws-signing-test-suite/v4) and
 * the behaviour of the AWS SDK for JavaScript v3 (@smithy/signature-v4) and botocore.
 */

/**
 * Why a request failed to authenticate. Each door maps the kind to its own AWS error name: the
 * JSON 1.1 doors (ECR, Secrets Manager) use MissingAuthenticationTokenException,
 * IncompleteSignatureException, InvalidSignatureException; IAM and STS use
 * SignatureDoesNotMatch for 'mismatch' and 'scope'.
 */
export type SigV4ErrorKind = 'missing' | 'incomplete' | 'mismatch' | 'scope' | 'expired';

/**
 * A request that failed SigV4. It is an UNAUTHENTICATED BerthError, so a door that does not map
 * `kind` still answers with an authentication failure. Messages never carry the secret, the
 * expected signature, or the Authorization header.
 */
export class SigV4Error extends BerthError {
  constructor(
    readonly kind: SigV4ErrorKind,
    message: string,
  ) {
    super('UNAUTHENTICATED', message);
  }
}

/**
 * An incoming request as the wire delivered it.
 *
 * - `path` is the raw request target before '?', still percent-encoded as sent (Fastify's
 *   `req.raw.url`, not a decoded route path).
 * - `query` is the raw query string after '?', without the '?'.
 * - `headers` have lower-case names. Prefer Node's `req.headersDistinct`: `req.headers` joins a
 *   repeated header with ', ' where SigV4 joins with ',', so only the distinct form is exact.
 * - `body` is the raw body bytes (register a Buffer content-type parser for signed doors).
 */
export interface SignedRequest {
  method: string;
  path: string;
  query: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  body: Buffer;
}

/** The signature claims of a request, read without the secret. */
export interface ParsedAuthorization {
  accessKeyId: string;
  /** Credential scope date, yyyymmdd. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** The request timestamp, yyyymmddThhmmssZ (X-Amz-Date). */
  amzDate: string;
  /** X-Amz-Security-Token, header or query; the caller must check it belongs to `accessKeyId`. */
  sessionToken?: string;
  /** Set for presigned (query-string) requests. */
  presigned?: { expiresSeconds: number };
}

/**
 * How a service canonicalizes the path and the payload. Every service except S3 normalizes the
 * path (drops '.', '..' and empty segments) and URI-encodes it a second time; S3 does neither and
 * signs presigned URLs with UNSIGNED-PAYLOAD. Other services sign the body hash even when presigned
 * (the test suite's query vectors, botocore's SigV4QueryAuth).
 */
export interface CanonicalRules {
  normalizePath: boolean;
  /**
   * true: the wire path (already encoded once) is encoded again, as the SDKs do for non-S3
   * services. false: the wire path is decoded and encoded once (S3, and AWS's test-suite vectors,
   * whose request paths are the unencoded paths given to the signer).
   */
  doubleEncodePath: boolean;
  presignedPayload: 'UNSIGNED-PAYLOAD' | 'body';
}

export interface VerifyOptions {
  now: Date;
  expectedRegion: string;
  /** Signing names accepted, e.g. ['ecr']. The first one is named in the error message. */
  expectedServices: readonly string[];
  /** Allowed clock difference for header-signed requests; default 15 minutes, as AWS. */
  maxSkewMs?: number;
  /**
   * Headers that must be signed besides 'host' (which always must be), e.g. ['x-amz-target'] for a
   * JSON door, so a captured request can't be replayed as another operation.
   */
  requireSignedHeaders?: readonly string[];
  /**
   * Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` on header-signed requests. Off by default: for
   * an API whose body is the operation's input, an unsigned body could be swapped in a replay.
   */
  allowUnsignedPayload?: boolean;
  /** Override the per-service rules (see `canonicalRulesFor`). */
  canonical?: Partial<CanonicalRules>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const DEFAULT_SKEW_MS = 15 * 60_000;
/** AWS's limit on X-Amz-Expires: seven days. */
const MAX_PRESIGN_SECONDS = 604_800;
const MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method.';
const SIGNED_HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The rules AWS applies for a signing name (see `CanonicalRules`). */
export function canonicalRulesFor(service: string): CanonicalRules {
  return service === 's3'
    ? { normalizePath: false, doubleEncodePath: false, presignedPayload: UNSIGNED_PAYLOAD }
    : { normalizePath: true, doubleEncodePath: true, presignedPayload: 'body' };
}

/**
 * Reads the signature claims of a request: the `Authorization` header, or the presigned query
 * parameters (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
 * X-Amz-Signature). Throws SigV4Error 'missing' when neither is present and 'incomplete' when
 * they are malformed. Checks shape only: verifySignature checks scope, time and signature.
 */
export function parseAuthorization(req: SignedRequest): ParsedAuthorization {
  const authorization = singleHeader(req.headers, 'authorization');
  const query = parseQuery(req.query);
  const presigned = query.some(([key]) => key === 'X-Amz-Algorithm' || key === 'X-Amz-Credential' || key === 'X-Amz-Signature');
  if (authorization !== undefined && presigned) {
    throw new SigV4Error(
      'incomplete',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.',
    );
  }
  if (presigned) return parsePresigned(query);
  if (authorization === undefined || authorization.trim() === '') {
    throw new SigV4Error('missing', 'Missing Authentication Token');
  }
  return parseHeader(authorization, req.headers);
}

function parseHeader(authorization: string, headers: SignedRequest['headers']): ParsedAuthorization {
  const match = /^AWS4-HMAC-SHA256(?:\s+(.*))?$/s.exec(authorization.trim());
  if (!match) {
    // The value is never echoed: it may be some other scheme's credential.
    throw new SigV4Error('incomplete', `Unsupported authorization type: only ${ALGORITHM} is accepted.`);
  }
  const fields = new Map<string, string>();
  for (const part of (match[1] ?? '').split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq).trim();
    if (fields.has(key)) throw new SigV4Error('incomplete', `Authorization header has a duplicate '${safeName(key)}' parameter.`);
    fields.set(key, eq < 0 ? '' : item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const amzDate = singleHeader(headers, 'x-amz-date');
  const problems: string[] = [];
  if (!credential) problems.push("Authorization header requires 'Credential' parameter.");
  if (!signature) problems.push("Authorization header requires 'Signature' parameter.");
  if (!signedHeaders) problems.push("Authorization header requires 'SignedHeaders' parameter.");
  if (!amzDate) problems.push("Authorization header requires existence of a 'X-Amz-Date' header.");
  if (problems.length > 0) throw new SigV4Error('incomplete', problems.join(' '));
  const token = singleHeader(headers, 'x-amz-security-token');
  return {
    ...parseCredential(credential!),
    signedHeaders: parseSignedHeaders(signedHeaders!),
    signature: signature!,
    amzDate: checkAmzDate(amzDate!),
    ...(token !== undefined ? { sessionToken: token } : {}),
  };
}

function parsePresigned(query: readonly (readonly [string, string])[]): ParsedAuthorization {
  const params = new Map<string, string>();
  for (const [key, value] of query) {
    if (!key.startsWith('X-Amz-')) continue;
    if (params.has(key)) throw new SigV4Error('incomplete', `Query-string authentication has a duplicate '${safeName(key)}' parameter.`);
    params.set(key, decodeComponent(value));
  }
  const algorithm = params.get('X-Amz-Algorithm');
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new SigV4Error('incomplete', `X-Amz-Algorithm only supports "${ALGORITHM}".`);
  }
  const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires'];
  const missing = required.filter((name) => !params.get(name));
  if (missing.length > 0) {
    throw new SigV4Error('incomplete', `Query-string authentication requires the ${missing.join(', ')} parameter${missing.length > 1 ? 's' : ''}.`);
  }
  const expires = params.get('X-Amz-Expires')!;
  const expiresSeconds = /^\d{1,7}$/.test(expires) ? Number(expires) : NaN;
  if (!(expiresSeconds >= 1 && expiresSeconds <= MAX_PRESIGN_SECONDS)) {
    throw new SigV4Error('incomplete', `X-Amz-Expires must be between 1 and ${MAX_PRESIGN_SECONDS} seconds (a week).`);
  }
  const token = params.get('X-Amz-Security-Token');
  return {
    ...parseCredential(params.get('X-Amz-Credential')!),
    signedHeaders: parseSignedHeaders(params.get('X-Amz-SignedHeaders')!),
    signature: params.get('X-Amz-Signature')!,
    amzDate: checkAmzDate(params.get('X-Amz-Date')!),
    ...(token !== undefined ? { sessionToken: token } : {}),
    presigned: { expiresSeconds },
  };
}

function parseCredential(credential: string): Pick<ParsedAuthorization, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((part) => part === '')) {
    throw new SigV4Error(
      'incomplete',
      "Credential must have the form '<access key id>/<yyyymmdd>/<region>/<service>/aws4_request'.",
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (terminator !== TERMINATOR) {
    throw new SigV4Error('incomplete', `Credential should be scoped with a valid terminator: '${TERMINATOR}'.`);
  }
  if (!/^\d{8}$/.test(date)) throw new SigV4Error('incomplete', 'Credential should be scoped to a date of the form yyyymmdd.');
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(list: string): string[] {
  const names = list.split(';').map((name) => name.toLowerCase());
  if (names.some((name) => !SIGNED_HEADER_NAME.test(name))) {
    throw new SigV4Error('incomplete', "SignedHeaders must be a ';'-separated list of header names.");
  }
  return names;
}

function checkAmzDate(value: string): string {
  if (parseAmzDate(value) === undefined) {
    throw new SigV4Error('incomplete', "X-Amz-Date must be in ISO-8601 'basic format' (yyyymmddThhmmssZ).");
  }
  return value;
}

/** Milliseconds since the epoch of a yyyymmddThhmmssZ stamp, or undefined if it isn't a real instant. */
function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return formatAmzDate(new Date(ms)) === value ? ms : undefined;
}

/** yyyymmddThhmmssZ, the X-Amz-Date format. */
export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Verifies a request's signature against the secret of `parsed.accessKeyId`: scope (region,
 * service, date), time (±maxSkewMs for header signing, X-Amz-Expires for presigned URLs), that
 * 'host' and `requireSignedHeaders` are signed, the declared payload hash, and finally the
 * signature, compared in constant time. Throws SigV4Error; returns nothing on success.
 */
export function verifySignature(req: SignedRequest, parsed: ParsedAuthorization, secretAccessKey: string, opts: VerifyOptions): void {
  const rules = { ...canonicalRulesFor(parsed.service), ...opts.canonical };

  if (parsed.region !== opts.expectedRegion) {
    throw new SigV4Error('scope', `Credential should be scoped to a valid region, not '${safeName(parsed.region)}'.`);
  }
  if (!opts.expectedServices.includes(parsed.service)) {
    throw new SigV4Error('scope', `Credential should be scoped to correct service: '${opts.expectedServices[0] ?? ''}'.`);
  }
  if (parsed.date !== parsed.amzDate.slice(0, 8)) {
    throw new SigV4Error('scope', 'Invalid credential date. Date is not the same as X-Amz-Date.');
  }
  if (!parsed.signedHeaders.includes('host')) {
    throw new SigV4Error('mismatch', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const name of opts.requireSignedHeaders ?? []) {
    if (!parsed.signedHeaders.includes(name.toLowerCase())) {
      throw new SigV4Error('mismatch', `'${safeName(name)}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  checkTime(parsed, opts.now, opts.maxSkewMs ?? DEFAULT_SKEW_MS);

  const payloadHash = payloadHashOf(req, parsed, rules, opts.allowUnsignedPayload ?? false);
  const canonicalRequest = buildCanonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query,
    headers: req.headers,
    signedHeaders: parsed.signedHeaders,
    payloadHash,
    rules,
    dropSignatureParam: parsed.presigned !== undefined,
  });
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/${TERMINATOR}`;
  const expected = hmacHex(signingKey(secretAccessKey, parsed.date, parsed.region, parsed.service), stringToSign(parsed.amzDate, scope, canonicalRequest));
  if (!constantTimeEqual(expected, parsed.signature)) throw new SigV4Error('mismatch', MISMATCH_MESSAGE);
}

function checkTime(parsed: ParsedAuthorization, now: Date, skewMs: number): void {
  const signedAt = parseAmzDate(parsed.amzDate)!;
  const nowMs = now.getTime();
  if (parsed.presigned) {
    if (signedAt - nowMs > skewMs) throw new SigV4Error('expired', 'Request is not yet valid.');
    if (nowMs > signedAt + parsed.presigned.expiresSeconds * 1000) throw new SigV4Error('expired', 'Request has expired.');
    return;
  }
  const minutes = `${skewMs / 60_000} min.`;
  if (nowMs - signedAt > skewMs) {
    throw new SigV4Error(
      'expired',
      `Signature expired: ${parsed.amzDate} is now earlier than ${formatAmzDate(new Date(nowMs - skewMs))} (${formatAmzDate(now)} - ${minutes})`,
    );
  }
  if (signedAt - nowMs > skewMs) {
    throw new SigV4Error(
      'expired',
      `Signature not yet current: ${parsed.amzDate} is still later than ${formatAmzDate(new Date(nowMs + skewMs))} (${formatAmzDate(now)} + ${minutes})`,
    );
  }
}

/**
 * The payload hash of the canonical request. A declared `x-amz-content-sha256` is what the client
 * signed; a hex declaration is also checked against the body, or a captured signature could carry
 * another body.
 */
function payloadHashOf(req: SignedRequest, parsed: ParsedAuthorization, rules: CanonicalRules, allowUnsigned: boolean): string {
  const declared = singleHeader(req.headers, 'x-amz-content-sha256');
  if (declared === undefined) {
    return parsed.presigned && rules.presignedPayload === UNSIGNED_PAYLOAD ? UNSIGNED_PAYLOAD : sha256Hex(req.body);
  }
  if (declared === UNSIGNED_PAYLOAD) {
    if (parsed.presigned || allowUnsigned) return UNSIGNED_PAYLOAD;
    throw new SigV4Error('mismatch', "This service requires a signed payload; 'x-amz-content-sha256: UNSIGNED-PAYLOAD' is not accepted.");
  }
  if (!HEX_SHA256.test(declared)) {
    throw new SigV4Error('incomplete', "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the hex SHA-256 of the payload.");
  }
  if (declared !== sha256Hex(req.body)) {
    throw new SigV4Error('mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return declared;
}

// ---------------------------------------------------------------------------------------------
// Signing

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An outgoing request. `path` and `query` are as they will be sent (already percent-encoded). */
export interface SigningInput {
  method: string;
  path: string;
  query?: string;
  /** Must include `host`. Every header given is signed, except hop-by-hop ones and user-agent. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  body?: Buffer | string;
  credentials: SigningCredentials;
  region: string;
  service: string;
  date: Date;
  /** Send `x-amz-content-sha256`: the body's hash ('body', as S3 requires) or UNSIGNED-PAYLOAD. */
  contentSha256?: 'body' | 'UNSIGNED-PAYLOAD';
  canonical?: Partial<CanonicalRules>;
}

export interface SigningResult {
  /** Headers to add to the request: authorization, x-amz-date, and x-amz-security-token / x-amz-content-sha256 when used. */
  headers: Record<string, string>;
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
}

export interface PresignInput extends Omit<SigningInput, 'contentSha256'> {
  /** Lifetime of the URL, 1 to 604800 seconds. */
  expiresSeconds: number;
}

export interface PresignResult {
  /** The full query string to send (without '?'): the original query plus the X-Amz-* parameters. */
  query: string;
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
}

/** Headers a proxy or client may add, change or drop after signing (as the AWS SDKs skip them). */
const UNSIGNABLE = new Set([
  'authorization',
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

/** Signs `input` with the Authorization header, as the AWS SDKs do. */
export function signRequest(input: SigningInput): SigningResult {
  const rules = { ...canonicalRulesFor(input.service), ...input.canonical };
  const amzDate = formatAmzDate(input.date);
  const date = amzDate.slice(0, 8);
  const body = toBuffer(input.body);
  const payloadHash = input.contentSha256 === UNSIGNED_PAYLOAD ? UNSIGNED_PAYLOAD : sha256Hex(body);

  const added: Record<string, string> = { 'x-amz-date': amzDate };
  if (input.credentials.sessionToken !== undefined) added['x-amz-security-token'] = input.credentials.sessionToken;
  if (input.contentSha256 !== undefined) added['x-amz-content-sha256'] = payloadHash;
  const headers = mergeHeaders(input.headers, added);
  const signedHeaders = signableNames(headers);

  const canonicalRequest = buildCanonicalRequest({
    method: input.method,
    path: input.path,
    query: input.query ?? '',
    headers,
    signedHeaders,
    payloadHash,
    rules,
    dropSignatureParam: false,
  });
  const scope = `${date}/${input.region}/${input.service}/${TERMINATOR}`;
  const toSign = stringToSign(amzDate, scope, canonicalRequest);
  const signature = hmacHex(signingKey(input.credentials.secretAccessKey, date, input.region, input.service), toSign);
  added['authorization'] =
    `${ALGORITHM} Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { headers: added, signature, canonicalRequest, stringToSign: toSign };
}

/** Signs `input` in the query string (a presigned URL), as the AWS SDKs' presign does. */
export function presignRequest(input: PresignInput): PresignResult {
  if (!Number.isInteger(input.expiresSeconds) || input.expiresSeconds < 1 || input.expiresSeconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`);
  }
  const rules = { ...canonicalRulesFor(input.service), ...input.canonical };
  const amzDate = formatAmzDate(input.date);
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/${TERMINATOR}`;
  const headers = mergeHeaders(input.headers, {});
  const signedHeaders = signableNames(headers);
  const params: [string, string][] = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${input.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(input.expiresSeconds)],
    ['X-Amz-SignedHeaders', signedHeaders.join(';')],
  ];
  if (input.credentials.sessionToken !== undefined) params.push(['X-Amz-Security-Token', input.credentials.sessionToken]);
  const added = params.map(([key, value]) => `${key}=${uriEncode(value)}`).join('&');
  const query = input.query ? `${input.query}&${added}` : added;

  const payloadHash =
    singleHeader(headers, 'x-amz-content-sha256') ??
    (rules.presignedPayload === UNSIGNED_PAYLOAD ? UNSIGNED_PAYLOAD : sha256Hex(toBuffer(input.body)));
  const canonicalRequest = buildCanonicalRequest({
    method: input.method,
    path: input.path,
    query,
    headers,
    signedHeaders,
    payloadHash,
    rules,
    dropSignatureParam: false,
  });
  const toSign = stringToSign(amzDate, scope, canonicalRequest);
  const signature = hmacHex(signingKey(input.credentials.secretAccessKey, date, input.region, input.service), toSign);
  return { query: `${query}&X-Amz-Signature=${signature}`, signature, canonicalRequest, stringToSign: toSign };
}

function mergeHeaders(
  given: SigningInput['headers'],
  added: Readonly<Record<string, string>>,
): Record<string, string | readonly string[]> {
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  Object.assign(headers, added);
  if (headers['host'] === undefined) throw new TypeError('a SigV4-signed request needs a host header');
  return headers;
}

function signableNames(headers: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(headers)
    .filter((name) => !UNSIGNABLE.has(name))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Canonical request

function buildCanonicalRequest(parts: {
  method: string;
  path: string;
  query: string;
  headers: SignedRequest['headers'];
  signedHeaders: readonly string[];
  payloadHash: string;
  rules: CanonicalRules;
  dropSignatureParam: boolean;
}): string {
  const canonicalHeaders = parts.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(parts.headers, name)}\n`).join('');
  return [
    parts.method.toUpperCase(),
    canonicalUri(parts.path, parts.rules),
    canonicalQueryString(parts.query, parts.dropSignatureParam ? ['X-Amz-Signature'] : []),
    canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
}

function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/**
 * The canonical URI of a wire path (see `CanonicalRules`). '/' separators are kept; each segment
 * is encoded with RFC 3986's unreserved set (A-Z a-z 0-9 - _ . ~) left alone.
 */
export function canonicalUri(path: string, rules: Pick<CanonicalRules, 'normalizePath' | 'doubleEncodePath'>): string {
  let segments = path.split('/');
  if (rules.normalizePath) {
    // As @smithy/signature-v4 and botocore: drop empty and '.' segments, let '..' pop one, keep
    // the leading and (if anything is left) trailing slash.
    const kept: string[] = [];
    for (const segment of segments) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') kept.pop();
      else kept.push(segment);
    }
    const lead = path.startsWith('/') ? [''] : [];
    const trail = kept.length > 0 && path.endsWith('/') ? [''] : [];
    segments = [...lead, ...kept, ...trail];
  }
  const encoded = segments.map(rules.doubleEncodePath ? uriEncode : reencode).join('/');
  return encoded === '' ? '/' : encoded;
}

/**
 * The canonical query string of a raw query: pairs split on '&' and the first '=', each key and
 * value decoded and re-encoded strictly (so `%7E` and `~`, `%2f` and `%2F` agree), sorted by key
 * then value. A key without '=' gets an empty value. '+' is a literal plus (RFC 3986), not a space.
 */
export function canonicalQueryString(query: string, exclude: readonly string[] = []): string {
  return parseQuery(query)
    .map(([key, value]) => [reencode(key), reencode(value)] as const)
    .filter(([key]) => !exclude.includes(key))
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** Raw (still encoded) key/value pairs of a query string. */
function parseQuery(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    pairs.push(eq < 0 ? [piece, ''] : [piece.slice(0, eq), piece.slice(eq + 1)]);
  }
  return pairs;
}

/** Values joined with ',' (repeated headers, in order), each trimmed with whitespace runs collapsed. */
function canonicalHeaderValue(headers: SignedRequest['headers'], name: string): string {
  // HTTP/2 carries the host as ':authority'.
  const value = headers[name] ?? (name === 'host' ? headers[':authority'] : undefined);
  if (value === undefined) return '';
  const values: readonly string[] = typeof value === 'string' ? [value] : value;
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

// ---------------------------------------------------------------------------------------------
// Percent-encoding, byte by byte so malformed input (a stray '%', invalid UTF-8) never throws.

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') UNRESERVED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += UNRESERVED[b] ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

/** RFC 3986 encoding of the UTF-8 bytes of `s`, unreserved characters left alone. */
function uriEncode(s: string): string {
  return encodeBytes(Buffer.from(s, 'utf8'));
}

/** The bytes a percent-encoded string stands for; a '%' not followed by two hex digits is literal. */
function decodeBytes(s: string): Buffer {
  if (!s.includes('%')) return Buffer.from(s, 'utf8');
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.from([parseInt(s.slice(i + 1, i + 3), 16)]));
      i += 2;
      start = i + 1;
    }
  }
  out.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(out);
}

function reencode(s: string): string {
  return encodeBytes(decodeBytes(s));
}

function decodeComponent(s: string): string {
  return decodeBytes(s).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Crypto

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}

const KEY_CACHE_MAX = 1024;
/** Derived signing keys by (keyed hash of the secret, date, region, service), least recently used first. */
const keyCache = new Map<string, Buffer>();
/** Keys the cache's secret hash, so the map holds nothing an offline guess could be checked against. */
const cacheSalt = randomBytes(32);

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${createHmac('sha256', cacheSalt).update(secret, 'utf8').digest('base64')}/${date}/${region}/${service}`;
  const hit = keyCache.get(id);
  if (hit) {
    keyCache.delete(id);
    keyCache.set(id, hit);
    return hit;
  }
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), TERMINATOR);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}


function singleHeader(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || typeof value === 'string') return value;
  if (value.length > 1) throw new SigV4Error('incomplete', `The ${safeName(name)} header must appear once.`);
  return value[0];
}

function toBuffer(body: Buffer | string | undefined): Buffer {
  return body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** A client-supplied name, fit to quote in a message: printable, short. */
function safeName(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
