import { LoraStudyError } from '../util/errors.js';
import type { QueueOptions, RunQueue } from './run-queue.js';
import type { PostgresRunStore } from './postgres/pg-store.js';
import type { RunStore } from './run-store.js';

export const DEFAULT_DB = 'results/experiments.db';

/** Which database `--db` names. */
export type DbSpec = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * `--db` → a database: `postgres://…` / `postgresql://…` is PostgreSQL; `sqlite:<path>` or any
 * other text is a SQLite file. Without `--db`, LORA_STUDY_DB is read the same way, and then the
 * default results/experiments.db.
 */
export function parseDbSpec(db?: string, env: NodeJS.ProcessEnv = process.env): DbSpec {
  const text = db ?? (env.LORA_STUDY_DB || undefined) ?? DEFAULT_DB;
  if (/^postgres(ql)?:\/\//i.test(text)) return { kind: 'postgres', url: text };
  const path = text.startsWith('sqlite:') ? text.slice('sqlite:'.length) : text;
  if (!path) throw new LoraStudyError(`--db ${text} names no file`, { hint: 'use --db sqlite:results/experiments.db or --db postgres://user@host/db' });
  return { kind: 'sqlite', path };
}

export interface OpenStoreOptions {
  /** Refuse to create a SQLite database that does not exist. */
  mustExist?: boolean;
  /**
   * For commands that only read (runs, generate-report, evaluate-model --run): SQLite opens the
   * file read-only (no WAL switch, no migration written, works on a read-only file or folder).
   * Postgres needs nothing special: reading writes nothing.
   */
  readonly?: boolean;
}

/**
 * Opens (creating and migrating as needed) the run store `--db` names. Each implementation is
 * imported only when asked for, so SQLite users never load `pg`.
 */
export async function openRunStore(db: string | DbSpec | undefined, opts: OpenStoreOptions = {}): Promise<RunStore> {
  const spec = typeof db === 'object' ? db : parseDbSpec(db);
  if (spec.kind === 'postgres') {
    const { PostgresRunStore } = await import('./postgres/pg-store.js');
    return PostgresRunStore.open(spec.url);
  }
  const { openSqliteStore } = await import('./sqlite/sqlite-store.js');
  return openSqliteStore(spec.path, { mustExist: opts.mustExist, readonly: opts.readonly });
}

/** The error for `--enqueue` / `worker` on a SQLite database, raised before anything is created. */
export function queueNeedsPostgres(location: string): LoraStudyError {
  return new LoraStudyError(`the run queue needs a PostgreSQL tracking database; ${location} is SQLite`, {
    hint: 'pass --db postgres://user@host/db (or set LORA_STUDY_DB); on one machine, run-suite without --enqueue works on SQLite',
  });
}

/**
 * The run queue of a store's database (`--enqueue`, `lora-study worker`): pg-boss on Postgres.
 * SQLite has no queue; several machines cannot share a SQLite file safely anyway.
 */
export async function openRunQueue(store: RunStore, options: QueueOptions, onError?: (err: Error) => void): Promise<RunQueue> {
  if (store.kind !== 'postgres') throw queueNeedsPostgres(store.location);
  const { PgRunQueue } = await import('./postgres/pg-queue.js');
  return PgRunQueue.open(store as PostgresRunStore, options, onError);
}
