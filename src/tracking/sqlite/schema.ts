import type Database from 'better-sqlite3';
import { LoraStudyError } from '../../util/errors.js';

/**
 * The schema, as an ordered list of migrations; PRAGMA user_version holds how many have run.
 * Never edit a released migration: append a new one (ALTER TABLE …), so old databases upgrade
 * in place. docs/tracking-schema.md documents every column and must change with this file.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE IF NOT EXISTS suites (
    id            INTEGER PRIMARY KEY,
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
  CREATE INDEX IF NOT EXISTS suites_name ON suites(name);

  CREATE TABLE IF NOT EXISTS runs (
    id                    INTEGER PRIMARY KEY,
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
    wall_time_s           REAL,
    error                 TEXT,
    backend               TEXT,
    device                TEXT,
    package_versions_json TEXT,
    git_commit            TEXT,
    hostname              TEXT,
    pid                   INTEGER,
    invocation_id         TEXT
  );
  CREATE INDEX IF NOT EXISTS runs_suite ON runs(suite_id);
  CREATE INDEX IF NOT EXISTS runs_hash_status ON runs(config_hash, status);
  CREATE INDEX IF NOT EXISTS runs_status ON runs(status);

  CREATE TABLE IF NOT EXISTS step_metrics (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step         INTEGER NOT NULL,
    loss         REAL,
    lr           REAL,
    grad_norm    REAL,
    tokens_per_s REAL,
    elapsed_s    REAL,
    eval_loss    REAL,
    extra_json   TEXT,
    PRIMARY KEY (run_id, step)
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  REAL,
    unit   TEXT,
    PRIMARY KEY (run_id, name)
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS artifacts (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,
    bytes      INTEGER,
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS artifacts_run ON artifacts(run_id);
  `,
  // 2: the study's varied config path and its value, generic for every study (studies as data)
  `
  ALTER TABLE runs ADD COLUMN varied_path TEXT;
  ALTER TABLE runs ADD COLUMN varied_value_json TEXT;
  `,
  // 3: the host an artifact was written on (runs spread over machines by the queue)
  `
  ALTER TABLE artifacts ADD COLUMN hostname TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to SCHEMA_VERSION. Runs inside an IMMEDIATE transaction so that two
 * processes opening a fresh database at once do not both run a migration: the second waits
 * (busy_timeout) and then sees the new user_version.
 */
export function migrate(db: Database.Database, path: string): void {
  const check = (v: number): void => {
    if (v > SCHEMA_VERSION) {
      throw new LoraStudyError(
        `tracking database ${path} has schema version ${v}, newer than this lora-study understands (${SCHEMA_VERSION})`,
        { hint: 'upgrade lora-study, or point --db at another database' },
      );
    }
  };
  check(userVersion(db));
  if (userVersion(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = userVersion(db);
    check(from);
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
