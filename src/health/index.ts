export { StatusStore, type AccountSummary, type FailedJob } from './status-store.js';
export { collectStatus, formatStatus, berthVersion, type DeploymentStatus } from './status.js';
