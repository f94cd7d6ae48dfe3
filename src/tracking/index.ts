export { openTracker, Tracker, DEFAULT_DB_PATH, type OpenTrackerOptions } from './tracker.js';
export { hashConfig, canonicalJson } from './config-hash.js';
export { KNOWN_METRICS, metricInfo, type KnownMetricName, type MetricInfo } from './metric-names.js';
export { SCHEMA_VERSION } from './schema.js';
export { isPidAlive } from './process-info.js';
export * from './types.js';
