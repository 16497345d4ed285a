import { randomUUID } from 'node:crypto';
import type { RegistryEvent } from '../events/index.js';

/**
 * An event in the shape Amazon EventBridge delivers ECR's events in (ECR User Guide, "Amazon ECR
 * events and EventBridge"): `detail-type`, `source: aws.ecr`, and a `detail` with kebab-case keys.
 */
export interface EcrEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: 'aws.ecr';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** The detail-types berth sends. The lifecycle one is berth's own (ECR reports lifecycle expiries as image DELETE actions, which berth sends too). */
export const DETAIL_TYPES = ['ECR Image Action', 'ECR Image Scan', 'ECR Replication Action', 'ECR Pull Through Cache Action', 'ECR Lifecycle Action'] as const;

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The capability's own detail fields, kebab-cased, under the fixed ones. */
function extra(detail: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail ?? {})) out[key.includes('-') ? key : kebab(key)] = value;
  return out;
}

/**
 * The ECR event of a registry event, or undefined for those ECR does not announce (pulls,
 * repository changes). Image actions: PUSH for every push (a tag moved onto an existing manifest
 * too), DELETE for every manifest or tag deleted, whoever deleted it (a lifecycle rule too).
 */
export function toEcrEvent(event: RegistryEvent, region: string): EcrEvent | undefined {
  const base = {
    version: '0' as const,
    id: randomUUID(),
    source: 'aws.ecr' as const,
    account: event.accountId,
    time: new Date(event.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
  };
  const repoArn = `arn:aws:ecr:${region}:${event.accountId}:repository/${event.repository}`;
  switch (event.type) {
    case 'image.pushed':
      return {
        ...base,
        'detail-type': 'ECR Image Action',
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': event.repository,
          'image-digest': event.digest,
          'action-type': 'PUSH',
          ...(event.tag ? { 'image-tag': event.tag } : {}),
          'manifest-media-type': event.mediaType,
          ...(event.artifactType ? { 'artifact-media-type': event.artifactType } : {}),
        },
      };
    case 'image.deleted':
      return {
        ...base,
        'detail-type': 'ECR Image Action',
        resources: [],
        detail: {
          result: 'SUCCESS',
          'repository-name': event.repository,
          'image-digest': event.digest,
          'action-type': 'DELETE',
          ...(event.tags.length > 0 ? { 'image-tag': event.tags[0] } : {}),
        },
      };
    case 'tag.deleted':
      return {
        ...base,
        'detail-type': 'ECR Image Action',
        resources: [],
        detail: { result: 'SUCCESS', 'repository-name': event.repository, 'image-digest': event.digest, 'action-type': 'DELETE', 'image-tag': event.tag },
      };
    default:
      break;
  }
  if (!('detail' in event)) return undefined;
  const detail = event.detail ?? {};
  const digest = event.digest ?? (detail['imageDigest'] as string | undefined);
  const [capability, outcome = ''] = event.type.split('.');
  const failed = /fail|error/.test(outcome) || detail['result'] === 'FAILURE';
  switch (capability) {
    case 'scan':
      return {
        ...base,
        'detail-type': 'ECR Image Scan',
        resources: [repoArn],
        detail: {
          'scan-status': failed ? 'FAILED' : 'COMPLETE',
          'repository-name': event.repository,
          ...(digest ? { 'image-digest': digest } : {}),
          'image-tags': detail['imageTags'] ?? [],
          'finding-severity-counts': detail['findingSeverityCounts'] ?? {},
          ...extra(omit(detail, ['imageTags', 'findingSeverityCounts', 'imageDigest'])),
        },
      };
    case 'replication':
      return {
        ...base,
        'detail-type': 'ECR Replication Action',
        resources: [repoArn],
        detail: {
          result: failed ? 'FAILURE' : 'SUCCESS',
          'repository-name': event.repository,
          ...(digest ? { 'image-digest': digest } : {}),
          'action-type': 'REPLICATE',
          ...extra(omit(detail, ['imageDigest', 'result'])),
        },
      };
    case 'cache':
      return {
        ...base,
        'detail-type': 'ECR Pull Through Cache Action',
        resources: [repoArn],
        detail: {
          'sync-status': failed ? 'FAILED' : 'SUCCESS',
          'repository-name': event.repository,
          ...(digest ? { 'image-digest': digest } : {}),
          ...extra(omit(detail, ['imageDigest'])),
        },
      };
    case 'lifecycle':
      return {
        ...base,
        'detail-type': 'ECR Lifecycle Action',
        resources: [repoArn],
        detail: {
          result: failed ? 'FAILURE' : 'SUCCESS',
          'repository-name': event.repository,
          ...(digest ? { 'image-digest': digest } : {}),
          'action-type': String(detail['actionType'] ?? detail['action'] ?? outcome).toUpperCase(),
          ...extra(omit(detail, ['imageDigest', 'actionType', 'action', 'result'])),
        },
      };
    default:
      return undefined;
  }
}

function omit(detail: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([k]) => !keys.includes(k)));
}
