import type { PoolClient } from 'pg';
import { LoraStudyError } from '../../util/errors.js';

/**
 * The Postgres schema, migration for migration the same as sqlite/schema.ts (same tables,
 * columns and meaning; SQLite types mapped: INTEGER PRIMARY KEY → SERIAL, REAL → DOUBLE
 * PRECISION, byte counts → BIGINT). Timestamps stay ISO 8601 text and JSON stays text, so a row
 * reads back identically from either database. `schema_version` holds what SQLite keeps in
 * PRAGMA user_version. Append migrations; never edit a released one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE suites (
    id            SERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    config_hash   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running','completed','failed','interrupted')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    hostname      TEXT,
    pid           INTEGER,
    invocation_id TEXT
  );
  CREATE INDEX suites_name ON suites(name);

  CREATE TABLE runs (
    id                    SERIAL PRIMARY KEY,
    suite_id              INTEGER REFERENCES suites(id) ON DELETE SET NULL,
    name                  TEXT NOT NULL,
    experiment_type       TEXT NOT NULL,
    variant               TEXT,
    rank                  INTEGER,
    target_modules        TEXT,
    quantization          TEXT,
    model                 TEXT,
    dataset               TEXT,
    config_json           TEXT NOT NULL,
    config_hash           TEXT NOT NULL,
    seed                  INTEGER,
    status                TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','interrupted')),
    created_at            TEXT NOT NULL,
    started_at            TEXT,
    finished_at           TEXT,
    wall_time_s           DOUBLE PRECISION,
    error                 TEXT,
    backend               TEXT,
    device                TEXT,
    package_versions_json TEXT,
    git_commit            TEXT,
    hostname              TEXT,
    pid                   INTEGER,
    invocation_id         TEXT
  );
  CREATE INDEX runs_suite ON runs(suite_id);
  CREATE INDEX runs_hash_status ON runs(config_hash, status);
  CREATE INDEX runs_status ON runs(status);

  CREATE TABLE step_metrics (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step         INTEGER NOT NULL,
    loss         DOUBLE PRECISION,
    lr           DOUBLE PRECISION,
    grad_norm    DOUBLE PRECISION,
    tokens_per_s DOUBLE PRECISION,
    elapsed_s    DOUBLE PRECISION,
    eval_loss    DOUBLE PRECISION,
    extra_json   TEXT,
    PRIMARY KEY (run_id, step)
  );

  CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  DOUBLE PRECISION,
    unit   TEXT,
    PRIMARY KEY (run_id, name)
  );

  CREATE TABLE artifacts (
    id         SERIAL PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,
    bytes      BIGINT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX artifacts_run ON artifacts(run_id);
  `,
  // 2: the study's varied config path and its value
  `
  ALTER TABLE runs ADD COLUMN varied_path TEXT;
  ALTER TABLE runs ADD COLUMN varied_value_json TEXT;
  `,
  // 3: the host an artifact was written on
  `
  ALTER TABLE artifacts ADD COLUMN hostname TEXT;
  `,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Any constant both sides agree on: serialises concurrent migrations across processes. */
const MIGRATION_LOCK = 0x6c6f7261; // 'lora'

/**
 * Brings the database to PG_SCHEMA_VERSION inside one transaction that holds an advisory lock,
 * so workers starting at once migrate once; refuses a database newer than this code.
 */
export async function migratePg(client: PoolClient, location: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = (await client.query('SELECT version FROM schema_version')).rows[0] as { version: number } | undefined;
    const from = row?.version ?? 0;
    if (from > PG_SCHEMA_VERSION) {
      throw new LoraStudyError(
        `tracking database ${location} has schema version ${from}, newer than this lora-study understands (${PG_SCHEMA_VERSION})`,
        { hint: 'upgrade lora-study, or point --db at another database' },
      );
    }
    for (let v = from; v < PG_SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]);
    if (!row) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    else if (from !== PG_SCHEMA_VERSION) await client.query('UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
