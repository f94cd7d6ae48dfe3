import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Permission checks do not apply to root, so a test of a read-only file or folder runs its child
 * process as `nobody` (uid/gid 65534) when the tests run as root (CI), and as the current user
 * otherwise. `reason` is null when that works here, else why the test must skip.
 */
export const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

export function unprivilegedSpawnOptions(): SpawnSyncOptions {
  return asRoot ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: '/tmp' } } : {};
}

function probe(): string | null {
  if (process.platform === 'win32') return 'no POSIX permissions on Windows';
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', 'process.exit(0)'], {
    ...unprivilegedSpawnOptions(),
    cwd: resolve('.'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 0) return null;
  return `the repository cannot be run as uid ${NOBODY} here (${(r.stderr || String(r.error)).split('\n')[0]})`;
}

export const unprivilegedReason: string | null = probe();

/** Runs `node --import tsx <script> ...args` as the unprivileged user. */
export function runUnprivileged(script: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    ...unprivilegedSpawnOptions(),
    cwd: resolve('.'),
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
