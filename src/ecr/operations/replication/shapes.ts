import type { BackfillError, BackfillRow, ReplicationDestination } from '../../../replication/index.js';
import { epochSeconds } from '../../operation.js';
import { AwsJsonError } from '../../errors.js';
import { constraint, invalid, type Input } from '../../validate.js';

/** ECR's ReplicationDestination input (`destination` of StartReplicationBackfill). */
export function readDestination(input: Input, member: string): ReplicationDestination {
  const d = input.object(member);
  const region = d.string('region');
  if (region.length < 2 || region.length > 25) throw constraint(`${member}.region`, region, 'Member must have length between 2 and 25');
  if (!/^[0-9a-z-]{2,25}$/.test(region)) throw constraint(`${member}.region`, region, 'Member must satisfy regular expression pattern: [0-9a-z-]{2,25}');
  const registryId = d.string('registryId');
  if (!/^[0-9]{12}$/.test(registryId)) throw constraint(`${member}.registryId`, registryId, 'Member must satisfy regular expression pattern: [0-9]{12}');
  return { region, registryId };
}

/** `replicationBackfillId` as berth issues them (UUIDs); anything else names no backfill. */
export function readBackfillId(input: Input): string {
  const id = input.string('replicationBackfillId', { min: 1, max: 256 });
  return id;
}

/** ECR's ReplicationBackfillProgress; absent while PREPARING. */
export function progressOf(row: BackfillRow): Record<string, unknown> | undefined {
  if (row.status === 'PREPARING' || row.total === null) return undefined;
  return {
    totalReplicationCount: row.total,
    completedReplicationCount: row.completed,
    failedReplicationCount: row.failed,
    failureCodes: row.failureCodes,
  };
}

/** ECR's ReplicationBackfillSummary. */
export function summaryOf(row: BackfillRow): Record<string, unknown> {
  const progress = progressOf(row);
  return {
    replicationBackfillId: row.id,
    destination: row.destination,
    status: row.status,
    ...(row.failureCode ? { failureCode: row.failureCode } : {}),
    ...(progress ? { progress } : {}),
    startedAt: epochSeconds(row.startedAt),
    ...(row.endedAt !== null ? { endedAt: epochSeconds(row.endedAt) } : {}),
  };
}

/** The backfill operations' own exception types, as ECR names them. */
export function backfillException(err: unknown): unknown {
  if (err instanceof Error && 'type' in err && typeof (err as BackfillError).type === 'string' && (err as BackfillError).type.startsWith('ReplicationBackfill')) {
    return new AwsJsonError((err as BackfillError).type, err.message);
  }
  return err;
}

/** Page tokens of these operations carry a JSON key. */
export function tokenKey<T>(raw: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (check(v)) return v;
  } catch {
    // fall through
  }
  throw invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: the token was not issued by this API");
}
