import type { EcrOperation } from '../../operation.js';
import { describeImageReplicationStatus } from './describe-image-replication-status.js';
import { describeReplicationBackfillResults } from './describe-replication-backfill-results.js';
import { listReplicationBackfills } from './list-replication-backfills.js';
import { putReplicationConfiguration } from './put-replication-configuration.js';
import { startReplicationBackfill } from './start-replication-backfill.js';
import { stopReplicationBackfill } from './stop-replication-backfill.js';

/** The replication operations: PutReplicationConfiguration, DescribeImageReplicationStatus, StartReplicationBackfill, StopReplicationBackfill, ListReplicationBackfills, DescribeReplicationBackfillResults. */
export const REPLICATION_OPERATIONS: Record<string, EcrOperation<any>> = {
  PutReplicationConfiguration: putReplicationConfiguration,
  DescribeImageReplicationStatus: describeImageReplicationStatus,
  StartReplicationBackfill: startReplicationBackfill,
  StopReplicationBackfill: stopReplicationBackfill,
  ListReplicationBackfills: listReplicationBackfills,
  DescribeReplicationBackfillResults: describeReplicationBackfillResults,
};
