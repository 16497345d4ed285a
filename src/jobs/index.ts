export { JobRunner, PermanentJobError, type JobHandler, type JobControl, type JobLogger, type PeriodicTask } from './runner.js';
