import type { FastifyBaseLogger } from 'fastify';
import type { Authenticator, Principal, SecretBox } from '../iam/index.js';
import type { MetadataStore, UserRow } from '../storage/metadata/index.js';
import { QueryError, noSuchEntity } from './errors.js';
import type { IdentityTarget } from './identities.js';
import type { QueryParams } from './params.js';
import type { XmlObject } from './xml.js';

/** What every IAM and STS operation can use: the caller and the stores. */
export interface QueryContext {
  readonly principal: Principal;
  readonly meta: MetadataStore;
  readonly box: SecretBox;
  readonly auth: Authenticator;
  readonly now: () => number;
  /** The caller's address (`aws:SourceIp`) and whether the request came over TLS (`aws:SecureTransport`). */
  readonly sourceIp: string;
  readonly isSecureTransport: boolean;
  /** The request's logger, for decisions an operation makes itself (AssumeRole's trust evaluation). */
  readonly log: FastifyBaseLogger;
}

/**
 * One Query operation: the action a policy names it by, what it acts on (decided from the
 * validated parameters before anything is read), and what it does. The dispatcher authenticates,
 * validates, authorizes `action` on `target`, then calls `run`, whose result becomes the
 * `<ActionResult>` element (none when it returns undefined).
 */
export interface QueryOperation<T = unknown> {
  readonly action: string;
  /** Changes state: logged at info, with the caller and the target. */
  readonly mutates: boolean;
  /**
   * Read the parameters (failures are collected in `params`) and name the target; `null` for a
   * call that needs no permission (STS GetCallerIdentity, which AWS answers even when every
   * action is denied).
   */
  prepare(params: QueryParams, ctx: QueryContext): T & { target: IdentityTarget | null };
  run(prepared: T & { target: IdentityTarget | null }, ctx: QueryContext): Promise<XmlObject | undefined>;
}

/** Helper for type inference at definition sites. */
export function operation<T>(op: QueryOperation<T>): QueryOperation<T> {
  return op;
}

/**
 * The identity an optional `UserName` names: that user, or, without one, the caller itself (AWS:
 * "IAM determines the user name implicitly based on the access key ID signing the request").
 */
export function targetOf(userName: string | undefined, principal: Principal): IdentityTarget {
  const accountId = principal.accountId;
  if (userName !== undefined) return { kind: 'user', accountId, userName };
  if (principal.kind === 'root') return { kind: 'root', accountId };
  if (principal.kind === 'user' && principal.userName !== undefined) return { kind: 'user', accountId, userName: principal.userName };
  throw new QueryError('ValidationError', 'Must specify userName when calling with non-User credentials');
}

/**
 * The stored identity of a target: the user (NoSuchEntity when there is none) and the name its
 * keys are stored under, or the root (`userName: null`).
 */
export async function loadIdentity(
  meta: MetadataStore,
  target: IdentityTarget,
): Promise<{ userName: string | null; user?: UserRow }> {
  if (target.kind === 'root') return { userName: null };
  if (target.kind !== 'user') throw new Error(`loadIdentity needs one identity, not ${target.kind}`);
  const user = await meta.users.get(target.accountId, target.userName);
  if (!user) throw noSuchEntity(`The user with name ${target.userName} cannot be found.`);
  return { userName: user.userName, user };
}

/** Timestamps as IAM writes them: ISO 8601 in UTC, to the second. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Opaque `Marker`s: the base64url of the last key returned. Anything that does not decode to a
 * plausible key is refused rather than silently restarting the listing.
 */
export function encodeMarker(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeMarker(marker: string, isKey: (key: string) => boolean): string {
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (encodeMarker(key) !== marker || !isKey(key)) throw new QueryError('ValidationError', 'Invalid Marker.');
  return key;
}
