import Database from 'better-sqlite3';
import { existsSync, readdirSync, statSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LoraStudyError } from '../../util/errors.js';
import { isWritable } from '../../util/fs-errors.js';

export function missingDatabaseError(path: string): LoraStudyError {
  return new LoraStudyError(`no tracking database at ${path}`, {
    hint: 'run a suite first (lora-study run-suite …), or point --db at an existing experiments.db',
  });
}

/** Refuses a database path that names a folder (SQLite would say only "unable to open"). */
export function refuseFolderAsDatabase(path: string): void {
  if (path !== ':memory:' && existsSync(path) && statSync(path).isDirectory()) {
    throw new LoraStudyError(`tracking database ${path} is a folder, not a database file`, {
      hint: `name the file, e.g. --db ${join(path, 'experiments.db')}`,
    });
  }
}

/** A database this process may read but not write (a read-only file, folder or medium). */
export class ReadOnlyDatabaseError extends LoraStudyError {
  constructor(readonly path: string, reason: string, cause?: unknown) {
    super(`tracking database ${path} is read-only (${reason})`, {
      hint: 'read-only commands (runs, generate-report, evaluate-model --run) can still read it; to record runs, make the file and its folder writable, or pass --db with another path',
      cause,
    });
  }
}

/** The other local processes that have this database file open (Linux /proc; empty elsewhere). */
export function processesHolding(path: string): { pid: number; command: string }[] {
  if (process.platform !== 'linux') return [];
  let target: string;
  try {
    target = realpathSync(path);
  } catch {
    return [];
  }
  const found: { pid: number; command: string }[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return [];
  }
  for (const pid of pids) {
    try {
      const fds = readdirSync(`/proc/${pid}/fd`);
      if (!fds.some((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`) === target)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      found.push({ pid: Number(pid), command: command.length > 120 ? `${command.slice(0, 117)}...` : command });
    } catch {
      // gone, or not ours to look at
    }
  }
  return found;
}

function safeReadlink(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

/**
 * Turns a SQLite error into a LoraStudyError that names the database file and says what to do:
 * a lock names the other processes holding the file, a read-only file or folder says so.
 * A LoraStudyError passes through unchanged.
 */
export function databaseError(err: unknown, path: string): Error {
  if (err instanceof LoraStudyError) return err;
  const e = err as Error & { code?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (!code.startsWith('SQLITE_')) return err as Error;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    const holders = processesHolding(path);
    const who = holders.length
      ? `held by ${holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ')}`
      : 'held by another process';
    return new LoraStudyError(`tracking database ${path} is locked: ${who}`, {
      hint: 'wait for that process to finish, or point --db at another database',
      cause: err,
    });
  }
  if (code.startsWith('SQLITE_READONLY') || (code === 'SQLITE_CANTOPEN' && !isWritable(dirname(path)))) {
    return new ReadOnlyDatabaseError(path, e.message, err);
  }
  if (code.startsWith('SQLITE_FULL')) {
    return new LoraStudyError(`tracking database ${path}: no space left on device`, {
      hint: 'free disk space, or point --db at a database on another disk',
      cause: err,
    });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new LoraStudyError(`${path} is not a usable SQLite database (${e.message})`, {
      hint: 'point --db at a lora-study experiments.db, or move this file away so a new one is created',
      cause: err,
    });
  }
  return new LoraStudyError(`tracking database ${path}: ${e.message}`, { cause: err });
}

/**
 * Makes every method of `target` (its class's prototype methods) rethrow SQLite errors through
 * `databaseError`, so a lock or a full disk met by any query names the database file.
 */
export function withDatabaseErrors<T extends object>(target: T, path: string): T {
  const proto = Object.getPrototypeOf(target) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const fn = proto[name];
    if (name === 'constructor' || typeof fn !== 'function') continue;
    Object.defineProperty(target, name, {
      configurable: true,
      writable: true,
      value: function (this: T, ...args: unknown[]) {
        try {
          return (fn as (...a: unknown[]) => unknown).apply(this, args);
        } catch (err) {
          throw databaseError(err, path);
        }
      },
    });
  }
  return target;
}

/**
 * Opens a SQLite database (a file, or a byte image held in memory) and runs `configure` on it;
 * any failure closes it and becomes a databaseError naming `path`.
 */
export function openConfigured(source: string | Buffer, path: string, configure: (db: Database.Database) => void, options?: Database.Options): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(source, options);
  } catch (err) {
    throw databaseError(err, path);
  }
  try {
    configure(db);
  } catch (err) {
    db.close();
    throw databaseError(err, path);
  }
  return db;
}
