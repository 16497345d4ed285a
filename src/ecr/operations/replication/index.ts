import type { EcrOperation } from '../../operation.js';

/** The replication operations: PutReplicationConfiguration, DescribeImageReplicationStatus, StartReplicationBackfill, StopReplicationBackfill, ListReplicationBackfills, DescribeReplicationBackfillResults. */
export const REPLICATION_OPERATIONS: Record<string, EcrOperation<any>> = {};
