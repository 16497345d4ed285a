export { LifecycleService, type RunReport, type AppliedAction, type EvaluatedPlan, type StorageClassResult } from './service.js';
export { parseLifecyclePolicy, type LifecyclePolicy, type LifecycleRule } from './policy.js';
export { evaluate, comparePlans, type Plan, type PlannedAction, type LifecycleImage, type PlanDifference, type ImageStatus } from './evaluate.js';
export type { PreviewResultRow, PreviewSummary } from './store.js';
