import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { LoraStudyError } from './errors.js';

/** The nearest existing ancestor of `path` (itself when it exists). */
export function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** Why this process may not write `path` (access(2) W_OK: EACCES, EROFS, …), or null when it may. */
function writeAccessProblem(path: string): string | null {
  try {
    accessSync(path, constants.W_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}

/** Whether this process may write `path` (access(2) W_OK). */
export function isWritable(path: string): boolean {
  return writeAccessProblem(path) === null;
}

/**
 * Turns a Node file-system error met while trying to `action` at `path` into a LoraStudyError
 * that names the path and says what to do. A read-only folder is reported as read-only even
 * when the call that failed said ENOENT (a file that could not be created), and a full disk
 * names the file being written (Node's ENOSPC from a write names none).
 * Anything that is not an errno error passes through unchanged.
 */
export function describeFsError(err: unknown, path: string, action: string): Error {
  if (err instanceof LoraStudyError) return err;
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string') return err as Error;
  const where = nearestExisting(path);
  switch (e.code) {
    case 'EROFS':
      return new LoraStudyError(`cannot ${action}: ${where} is on a read-only file system (${path})`, {
        hint: 'write somewhere writable: pass another output folder (e.g. --out-dir/-o), or remount it read-write',
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
      return new LoraStudyError(`cannot ${action}: permission denied at ${where} (${e.code}, ${path})`, {
        hint: 'make that folder writable for this user, or pass another output folder',
        cause: err,
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new LoraStudyError(`cannot ${action}: no space left on the device holding ${where} (${e.code}, writing ${path})`, {
        hint: 'free disk space there (old adapters and merged models in results/ are the large files), or write elsewhere',
        cause: err,
      });
    case 'ENOENT': {
      // mkdir -p on a read-only or unwritable folder can report ENOENT; say what it really is.
      const problem = existsSync(where) ? writeAccessProblem(where) : null;
      if (problem) return describeFsError(Object.assign(new Error(e.message), { code: problem }), path, action);
      return new LoraStudyError(`cannot ${action}: ${path} does not exist (${e.message})`, { cause: err });
    }
    case 'EISDIR':
      return new LoraStudyError(`cannot ${action}: ${path} is a folder, not a file`, {
        hint: 'name the file inside it',
        cause: err,
      });
    case 'ENOTDIR':
      return new LoraStudyError(`cannot ${action}: a part of ${path} is a file, not a folder`, { cause: err });
    default:
      return new LoraStudyError(`cannot ${action}: ${path}: ${e.message}`, { cause: err });
  }
}

/** A file that could not be read (missing, a folder, not readable for this user, …); names the file. */
export class FileReadError extends LoraStudyError {
  constructor(readonly file: string, readonly code: string, message: string, opts: { hint?: string; cause?: unknown }) {
    super(`cannot read ${file}: ${message}`, opts);
  }
}

/**
 * Turns a Node file-system error met while reading the file `path` into a FileReadError that names
 * it and says what to do (describeFsError is for writes: its hints are about writable folders).
 * Anything that is not an errno error passes through unchanged.
 */
export function describeReadError(err: unknown, path: string): Error {
  if (err instanceof LoraStudyError) return err;
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string') return err as Error;
  const fail = (message: string, hint?: string) => new FileReadError(path, e.code!, message, { hint, cause: err });
  switch (e.code) {
    case 'ENOENT':
      return fail(`no such file (the nearest existing folder is ${nearestExisting(path)})`, `check the path; a relative path is taken from the current folder, ${process.cwd()}`);
    case 'EISDIR':
      return fail('it is a folder, not a file', 'name the file inside it');
    case 'ENOTDIR':
      return fail('a part of the path is a file, not a folder', 'check the path');
    case 'EACCES':
    case 'EPERM':
      return fail(`permission denied (${e.code})`, 'make it readable for this user (chmod a+r on the file, a+x on the folders above it), or run as a user who may read it');
    default:
      return fail(`${e.message}`);
  }
}

const WRITE_CODES = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);

/**
 * For errors met while writing `path` (an output file or folder): a read-only, permission or
 * full-disk error becomes a LoraStudyError naming `path` (see describeFsError); so does an ENOENT
 * that really means the folder is not writable. Anything else (e.g. a missing input read while
 * filling a folder) passes through unchanged.
 */
export function describeWriteError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || err instanceof LoraStudyError) return err;
  const notWritable = code === 'ENOENT' && existsSync(nearestExisting(dirname(path))) && !isWritable(nearestExisting(dirname(path)));
  return WRITE_CODES.has(code) || notWritable ? describeFsError(err, path, `write ${path}`) : err;
}
