export { ReplicationService, BackfillError, COPY_JOB, BACKFILL_JOB, type CopyJob } from './service.js';
export { TERMINAL_BACKFILL, type BackfillRow, type BackfillCursor, type BackfillStatus, type ImageReplicationStatusRow } from './store.js';
export type { ReplicationConfiguration, ReplicationDestination, ReplicationRule } from './rules.js';
export { ReplicationFailure, type ReplicationFailureCode } from './copier.js';
