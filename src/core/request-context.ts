import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known of the request (or job) that the current code runs for. */
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

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * The request being served, without threading it through every call: the domain stamps events
 * with it, jobs carry its id into their logs. Set by the server for each request (`enterRequest`)
 * and by the job runner for each job (`withRequest`).
 */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

export function withRequest<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Make `context` current for the rest of this asynchronous flow (a Fastify onRequest hook). */
export function enterRequest(context: RequestContext): void {
  storage.enterWith(context);
}

const byRequest = new WeakMap<object, RequestContext>();

/** Remember `context` as the one of `request` (an IncomingMessage), for hooks that run outside its flow (onResponse). */
export function bindRequestContext(request: object, context: RequestContext): void {
  byRequest.set(request, context);
}

/** The context bound to `request` by `bindRequestContext`. */
export function requestContextOf(request: object): RequestContext | undefined {
  return byRequest.get(request);
}
