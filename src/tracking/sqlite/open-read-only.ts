import { existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LoraStudyError } from '../../util/errors.js';
import { databaseError, missingDatabaseError, openConfigured } from './db-errors.js';
import { migrate, SCHEMA_VERSION } from './schema.js';

/** SQLite codes meaning "readable, but SQLite would need to write beside it (-shm) to read". */
const NEEDS_SNAPSHOT = new Set(['SQLITE_READONLY_DIRECTORY', 'SQLITE_CANTOPEN', 'SQLITE_READONLY_CANTINIT']);

/**
 * Opens a tracking database for reading only: the file is opened read-only (no WAL switch, no
 * migration, nothing created). Two cases cannot be read that way, and are read from an in-memory
 * copy instead: a WAL database in a folder where SQLite may not create its `-shm` index (a
 * read-only folder or medium), and a database of an older schema version (the copy is migrated,
 * the file is left untouched). The returned connection refuses writes.
 */
export function openReadOnlyDatabase(path: string, busyTimeoutMs: number): Database.Database {
  if (path === ':memory:' || !existsSync(path)) throw missingDatabaseError(path);
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) return migrateOrClose(db, path); // throws the "newer schema" error
    if (version === SCHEMA_VERSION) return db;
    db.close();
    return snapshot(path);
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code ?? '';
    if (NEEDS_SNAPSHOT.has(code)) return snapshot(path);
    throw databaseError(err, path);
  }
}

function migrateOrClose(db: Database.Database, path: string): never {
  try {
    migrate(db, path);
  } finally {
    db.close();
  }
  throw new Error(`internal assertion failed: migrate accepted a newer schema in ${path}`);
}

/** Reads the database file into memory (a snapshot), migrated in memory, and refuses writes. */
function snapshot(path: string): Database.Database {
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new LoraStudyError(
      `tracking database ${path} cannot be read here: its write-ahead log ${wal} holds changes, and SQLite may not create ${path}-shm beside it to read them`,
      { hint: 'open it once where its folder is writable (any lora-study runs command there checkpoints it), or copy the folder somewhere writable' },
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new LoraStudyError(`cannot read tracking database ${path}: ${(err as Error).message}`, { cause: err });
  }
  // Bytes 18–19 are 2 in a WAL-mode file; an in-memory copy must use the rollback format (1).
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
  return openConfigured(bytes, path, (db) => {
    migrate(db, path);
    db.pragma('query_only = ON');
  });
}
