import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Logger } from '../../util/logger.js';

interface Holder {
  host: string;
  pid: number;
}

function holderOf(lock: string): Holder | null {
  try {
    return JSON.parse(readFileSync(lock, 'utf8')) as Holder;
  } catch {
    return null;
  }
}

/** A holder on this machine whose process is gone left the lock behind. */
function isStale(h: Holder | null): boolean {
  if (!h || h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Runs `fn` holding `lock` (a file created exclusively, naming host and pid), so that two
 * lora-study processes sharing a cache (suite workers) never append to the same `.incomplete`
 * file: the second waits, then finds the blob downloaded. A lock left by a dead process on this
 * machine is taken over.
 */
export async function withDownloadLock<T>(lock: string, what: string, logger: Logger, fn: () => Promise<T>, pollMs = 250): Promise<T> {
  await mkdir(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      await writeFile(lock, JSON.stringify({ host: hostname(), pid: process.pid }), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = holderOf(lock);
      if (isStale(h)) {
        logger.warn({ lock, pid: h?.pid }, 'taking over a download lock left by a process that is gone');
        await rm(lock, { force: true });
        continue;
      }
      if (!told) logger.info({ lock, holder: h }, `waiting for another process downloading ${what}`);
      told = true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
