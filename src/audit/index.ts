export { AuditTrail } from './trail.js';
export { AuditStore, type AuditQuery } from './store.js';
export { isAudited, isReadOnly, recordOfCall, recordOfEvent, scrub, type AuditRecord, type CallOutcome, type UserIdentity } from './record.js';
