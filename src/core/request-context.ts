/** What is known of the request (or job) that a piece of work is done for. */
export interface RequestContext {
  readonly requestId: string;
  /** The caller's ARN once authenticated. */
  actor?: string;
  /** The caller's address. */
  readonly sourceIp?: string;
  /** What the door learns of an HTTP request as it handles it, for metrics and the audit trail (absent in jobs). */
  readonly call?: CallFacts;
}

/**
 * Facts of one HTTP call, filled in by the door that handles it (src/oci/, src/ecr/, src/iam-api/)
 * and by the authorizer; read once the response is sent (src/events/capability.ts).
 */
export interface CallFacts {
  /** Which API answered: 'oci', 'ecr', 'iam', 'sts' (unset: another route, e.g. /metrics). */
  door?: string;
  /** The ECR, IAM or STS operation name; for OCI the ECR action the route maps to (PutImage, BatchGetImage, ...). */
  operation?: string;
  /** The authenticated caller. */
  principal?: { kind: string; arn: string; accountId: string; accessKeyId: string; userName?: string; viaSession?: boolean };
  /** The request's parameters as the door parsed them (secrets are scrubbed before they are stored). */
  params?: Record<string, unknown>;
  /** The repository acted on, when there is one. */
  repository?: { accountId: string; name: string };
  /** The authorization decisions taken for the call (the last one decided it). */
  decisions?: { action: string; resource: string; effect: 'Allow' | 'Deny' | 'ImplicitDeny'; reason: string; statement?: string }[];
}

/*
 * The context travels explicitly, not in an AsyncLocalStorage. The server makes one per request
 * (`bindRequestContext`); the doors read it back with `requestContextOf(req.raw)` and hand it on:
 * to the authorizer in `RequestFacts.request`, to the registry on the repository handles they open
 * (`Registry.repository(..., { origin })`), which stamps the events of a change with it. Jobs
 * carry the id of the request that caused them in their row (`job.requestId`).
 *
 * Why not AsyncLocalStorage: on Node 20 and 22 it works through promise hooks, which once enabled
 * run for every promise of the process. Measured on the manifest GET (wrk, c=32, this 2-core
 * host), they cost a fifth of the request rate (2,300 against 2,850 req/s), the whole margin of
 * issue #2's target over CNCF Distribution. Node 24's AsyncContextFrame would make it cheap; we
 * support 20.
 */

const byRequest = new WeakMap<object, RequestContext>();

/** Make `context` the one of `request` (an IncomingMessage): the server's onRequest hook does, once per request. */
export function bindRequestContext(request: object, context: RequestContext): void {
  byRequest.set(request, context);
}

/** The context bound to `request` by `bindRequestContext`. */
export function requestContextOf(request: object): RequestContext | undefined {
  return byRequest.get(request);
}
