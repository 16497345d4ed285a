export { GarbageCollector, type CollectOptions, type GcReport, type RemovedItem } from './collector.js';
export { checkIntegrity, type Finding, type FindingKind, type FsckOptions, type FsckProgress, type FsckReport } from './fsck.js';
export { GcSchedule, type GcLogger } from './schedule.js';
export { formatBytes } from './format.js';
