export { openTracker, Tracker, DEFAULT_DB_PATH, type OpenTrackerOptions } from './sqlite/tracker.js';
export { SqliteRunStore, openSqliteStore } from './sqlite/sqlite-store.js';
export { openRunStore, parseDbSpec, DEFAULT_DB, type DbSpec, type OpenStoreOptions } from './open-store.js';
export type { RunStore, RunSink } from './run-store.js';
export { hashConfig, canonicalJson } from './config-hash.js';
export { KNOWN_METRICS, metricInfo, type KnownMetricName, type MetricInfo } from './metric-names.js';
export { SCHEMA_VERSION } from './sqlite/schema.js';
export { isPidAlive } from './process-info.js';
export * from './types.js';
