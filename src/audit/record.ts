import { randomUUID } from 'node:crypto';
import type { CallFacts, RequestContext } from '../core/index.js';
import type { RegistryEvent } from '../events/index.js';

/**
 * One audit record, in the shape of a CloudTrail record (CloudTrail User Guide, "CloudTrail record
 * contents"), plus berth's own fields: the authorization decision and its reason.
 */
export interface AuditRecord {
  eventVersion: '1.08';
  /** ISO 8601, UTC. */
  eventTime: string;
  /** `ecr.amazonaws.com`, `iam.amazonaws.com`, `sts.amazonaws.com`, or `webhooks.berth` for event deliveries. */
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  userIdentity: UserIdentity;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources: { ARN: string; accountId: string; type: string }[];
  /** `AwsApiCall` for requests; `AwsServiceEvent` for what berth did by itself (lifecycle, scans, replication, deliveries). */
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent: true;
  recipientAccountId: string;
  /** For service events: what happened (the registry event, or the delivery). */
  serviceEventDetails?: Record<string, unknown>;
  /** berth: the authorization decision, when one was taken. */
  decision?: 'allow' | 'deny';
  /** berth: why (the matched statement, or the absence of an allowing one). */
  decisionReason?: string;
  /** berth: the statement that decided (`<policy>#<Sid or index>`). */
  matchedStatement?: string;
  /** berth: the HTTP status of the response. */
  httpStatus?: number;
}

export interface UserIdentity {
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'AWSService' | 'Unknown';
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
}

const SOURCES: Record<string, string> = { oci: 'ecr.amazonaws.com', ecr: 'ecr.amazonaws.com', iam: 'iam.amazonaws.com', sts: 'sts.amazonaws.com' };

/** Calls that change nothing but are recorded anyway: pulls, and those that hand out credentials. */
const ALWAYS_AUDITED = new Set(['BatchGetImage', 'GetAuthorizationToken', 'GetSessionToken', 'AssumeRole', 'GetDownloadUrlForLayer']);

/** Read-only by CloudTrail's definition: the call changes nothing. */
export function isReadOnly(operation: string): boolean {
  return /^(Get|List|Describe|BatchGet|BatchCheck|Ping|Simulate)/.test(operation);
}

/**
 * Whether a call goes into the audit trail: every mutating call of every door, every pull (a
 * manifest GET through OCI is BatchGetImage; HEAD is not a pull), every credential handed out,
 * and every denied call.
 */
export function isAudited(call: CallFacts, method: string, status: number): boolean {
  if (!call.door || !call.operation || !call.principal) return false;
  if (status === 403 || call.decisions?.some((d) => d.effect !== 'Allow')) return true;
  if (call.door === 'oci') {
    if (method === 'HEAD') return false;
    // Blob GETs are the layers of a pull; the manifest GET already records the pull.
    if (call.operation === 'GetDownloadUrlForLayer') return false;
  }
  return !isReadOnly(call.operation) || ALWAYS_AUDITED.has(call.operation);
}

/** Keys whose values are never stored: secrets, and bulky payloads. */
const SECRET_KEY = /(secret|password|passwd|token|signature|credential|privatekey|authorization)/i;
const NOT_SECRET = new Set(['nextToken', 'NextToken', 'Marker', 'maxResults']);
const BULKY_KEY = /^(layerPartBlob)$/;
const MAX_STRING = 2048;

/** A copy of `value` without secrets or bulky fields, for requestParameters and responseElements. */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return value.length > MAX_STRING ? `[${value.length} characters]` : value;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrub(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (SECRET_KEY.test(key) && !NOT_SECRET.has(key)) out[key] = 'HIDDEN_DUE_TO_SECURITY_REASONS';
      else if (BULKY_KEY.test(key)) out[key] = typeof v === 'string' ? `[${v.length} characters]` : '[omitted]';
      else out[key] = scrub(v, depth + 1);
    }
    return out;
  }
  return value;
}

function identityOf(call: CallFacts): UserIdentity {
  const p = call.principal;
  if (!p) return { type: 'Unknown' };
  const type = p.kind === 'root' ? 'Root' : p.kind === 'user' ? 'IAMUser' : p.kind === 'assumed-role' ? 'AssumedRole' : 'Unknown';
  return {
    type,
    principalId: p.kind === 'root' ? p.accountId : p.userName ?? p.arn.split('/').slice(1).join(':'),
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
    ...(p.userName ? { userName: p.userName } : {}),
  };
}

/** What the response told: the status and, for errors, AWS's error code and message. */
export interface CallOutcome {
  status: number;
  errorCode?: string;
  errorMessage?: string;
  responseElements?: Record<string, unknown> | null;
  userAgent?: string;
}

/** The audit record of an HTTP call. */
export function recordOfCall(context: RequestContext, call: CallFacts, outcome: CallOutcome, region: string, at: number): AuditRecord {
  const identity = identityOf(call);
  const operation = call.operation!;
  const decided = call.decisions?.at(-1);
  const denied = outcome.status === 403 || (decided !== undefined && decided.effect !== 'Allow') || outcome.errorCode === 'AccessDenied' || outcome.errorCode === 'AccessDeniedException';
  const account = call.repository?.accountId ?? call.principal?.accountId ?? '';
  const resources = call.repository
    ? [{ ARN: `arn:aws:ecr:${region}:${call.repository.accountId}:repository/${call.repository.name}`, accountId: call.repository.accountId, type: 'AWS::ECR::Repository' }]
    : [];
  const decisionReason = decided?.reason ?? (denied ? outcome.errorMessage : undefined);
  return {
    eventVersion: '1.08',
    eventTime: new Date(at).toISOString(),
    eventSource: SOURCES[call.door!] ?? `${call.door}.berth`,
    eventName: operation,
    awsRegion: call.door === 'iam' ? 'us-east-1' : region,
    sourceIPAddress: context.sourceIp ?? '',
    userAgent: (outcome.userAgent ?? '').slice(0, 512),
    userIdentity: identity,
    requestParameters: call.params ? (scrub(call.params) as Record<string, unknown>) : null,
    responseElements: outcome.responseElements ? (scrub(outcome.responseElements) as Record<string, unknown>) : null,
    ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}),
    ...(outcome.errorMessage ? { errorMessage: outcome.errorMessage.slice(0, 1024) } : {}),
    requestID: context.requestId,
    eventID: randomUUID(),
    readOnly: isReadOnly(operation),
    resources,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    ...(decided || denied ? { decision: denied ? ('deny' as const) : ('allow' as const) } : {}),
    ...(decisionReason ? { decisionReason } : {}),
    ...(decided?.statement ? { matchedStatement: decided.statement } : {}),
    httpStatus: outcome.status,
  };
}

/** CloudTrail's names for what berth's capabilities do by themselves. */
function serviceEventName(type: string): string {
  if (type.startsWith('lifecycle.')) return 'PolicyExecutionEvent';
  if (type.startsWith('scan.')) return 'ImageScan';
  if (type.startsWith('replication.')) return 'ReplicateImage';
  if (type.startsWith('cache.')) return 'PullThroughCacheSync';
  switch (type) {
    case 'image.deleted':
    case 'tag.deleted':
      return 'BatchDeleteImage';
    case 'image.pushed':
      return 'PutImage';
    case 'repository.created':
      return 'CreateRepository';
    case 'repository.deleted':
      return 'DeleteRepository';
    default:
      return type;
  }
}

/** The audit record of something a background capability did (a lifecycle expiry, a scan, a replication). */
export function recordOfEvent(event: RegistryEvent, region: string): AuditRecord {
  // The capability that acted; registry changes made by a job (a delete, a replicated push) are the job runner's.
  const prefix = event.type.split('.')[0]!;
  const capability = ['scan', 'replication', 'lifecycle', 'cache'].includes(prefix) ? prefix : 'jobs';
  const failed = /\.(failed|failure|error)$/.test(event.type) || (event as { detail?: { result?: string } }).detail?.result === 'FAILURE';
  const { at, requestId, accountId, repository, ...rest } = event;
  return {
    eventVersion: '1.08',
    eventTime: new Date(at).toISOString(),
    eventSource: 'ecr.amazonaws.com',
    eventName: serviceEventName(event.type),
    awsRegion: region,
    sourceIPAddress: 'ecr.amazonaws.com',
    userAgent: 'ecr.amazonaws.com',
    userIdentity: { type: 'AWSService', invokedBy: `berth.${capability}`, accountId },
    requestParameters: null,
    responseElements: null,
    ...(failed ? { errorCode: 'Failed', errorMessage: String((event as { detail?: { reason?: unknown } }).detail?.reason ?? event.type) } : {}),
    requestID: requestId ?? randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    resources: repository ? [{ ARN: `arn:aws:ecr:${region}:${accountId}:repository/${repository}`, accountId, type: 'AWS::ECR::Repository' }] : [],
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: accountId,
    serviceEventDetails: scrub({ repositoryName: repository, ...rest }) as Record<string, unknown>,
  };
}
