export { BerthMetrics, type MetricSources } from './metrics.js';
