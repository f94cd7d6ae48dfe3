import { createHash } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Whether a process with this pid exists on this host (signal 0 only checks). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Six hex digits naming this host in temp names, so a shared folder can tell hosts apart. */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/**
 * Temp names of atomic writes: `.<name>.tmp-<pid>@<host>-<ms>-<random>` (a folder being replaced
 * is moved to the same name plus `.old`). Names without `@<host>` come from older versions.
 */
const TEMP_NAME = /^\.(.+)\.tmp-(\d+)(?:@([0-9a-f]{6}))?-(\d+)-[a-z0-9]+(\.old)?$/;

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}@${HOST_TAG}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
}

/** A legacy temp (no host recorded) of a dead pid is removed once it is this old. */
const LEGACY_MIN_AGE_MS = 10 * 60_000;
/** A temp of another host (whose pids this host cannot check) is removed once it is this old. */
const FOREIGN_MAX_AGE_MS = 24 * 3600_000;

/** Newest mtime of a file, or of a folder and its direct entries (a folder being filled changes). */
function lastChangeMs(path: string): number {
  const st = statSync(path);
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) {
      try {
        newest = Math.max(newest, statSync(join(path, name)).mtimeMs);
      } catch {
        // removed meanwhile
      }
    }
  }
  return newest;
}

/**
 * Whether a temp left by an atomic write may be removed: its writer was this host's process and
 * is gone, or (when the writer's host is unknown or another) it has not changed for long. A temp
 * of a live process on this host is never stale; neither is this process's own.
 */
export function isStaleTemp(path: string, now: number = Date.now()): boolean {
  const m = TEMP_NAME.exec(basename(path));
  if (!m) return false;
  const pid = Number(m[2]);
  const host = m[3];
  if (host === HOST_TAG) return pid !== process.pid && !isPidAlive(pid);
  const age = now - lastChangeMs(path);
  if (host === undefined) return pid !== process.pid && !isPidAlive(pid) && age > LEGACY_MIN_AGE_MS;
  return age > FOREIGN_MAX_AGE_MS;
}

/**
 * Removes the stale temps (see isStaleTemp) that killed processes left in `dir` and, with
 * `depth` > 0, in its sub-folders that many levels down. Returns what it removed. Never throws:
 * a folder it cannot read or an entry another process removed first is skipped.
 */
export function sweepStaleTemps(dir: string, opts: { depth?: number; now?: number } = {}): string[] {
  const removed: string[] = [];
  const visit = (d: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        if (TEMP_NAME.test(name)) {
          if (isStaleTemp(p, opts.now)) {
            rmSync(p, { recursive: true, force: true });
            removed.push(p);
          }
        } else if (depth > 0 && !name.startsWith('.') && statSync(p).isDirectory()) {
          visit(p, depth - 1);
        }
      } catch {
        // gone meanwhile, or not ours to touch
      }
    }
  };
  visit(dir, opts.depth ?? 0);
  return removed;
}
