import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { writeDirAtomic, writeFileAtomic } from '../../src/util/atomic-write.js';
import { LoraStudyError } from '../../src/util/errors.js';
import { runUnprivileged, unprivilegedReason } from '../helpers/unprivileged.js';

const WRITE_INTO = fileURLToPath(new URL('../fixtures/write-into.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fs-errors-'));
afterAll(() => {
  chmodSync(root, 0o755);
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!existsSync('/dev/full'))('a full disk names what was being written', () => {
  test('ENOSPC while filling a folder names the folder (Node names none)', async () => {
    const dir = join(root, 'full', 'adapter');
    const err = await writeDirAtomic(dir, (tmp) => writeFile('/dev/full', `${tmp}`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoraStudyError);
    expect((err as Error).message).toContain(`cannot write ${dir}: no space left on the device`);
    expect((err as LoraStudyError).hint).toMatch(/free disk space/);
  });
});

describe.skipIf(unprivilegedReason !== null)(`a results folder this user may not write${unprivilegedReason ? ` (skipped: ${unprivilegedReason})` : ''}`, () => {
  test('is reported as not writable, naming the path, for files, folders and folders to create', () => {
    const results = join(root, 'results');
    mkdirSync(join(results, 'runs', 'r'), { recursive: true });
    chmodSync(join(results, 'runs', 'r'), 0o555);
    chmodSync(join(results, 'runs'), 0o555);
    for (const [target, kind] of [
      [join(results, 'runs', 'r', 'run.json'), 'file'],
      [join(results, 'runs', 'r', 'adapter'), 'dir'],
      [join(results, 'runs', 'new', 'adapter'), 'dir'],
    ] as const) {
      const r = runUnprivileged(WRITE_INTO, [target, kind]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`cannot write ${target}: permission denied at`);
      expect(r.stderr).not.toMatch(/ENOENT/);
    }
  });
});

/** A tiny tmpfs (root only, where mounting is allowed): a real full disk and a real read-only one. */
function mountTmpfs(dir: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a tmpfs';
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount -t tmpfs failed here (${r.stderr.trim() || r.error})`;
}
const small = join(root, 'small');
const mountReason = mountTmpfs(small);

describe.skipIf(mountReason !== null)(`a real small and read-only file system${mountReason ? ` (skipped: ${mountReason})` : ''}`, () => {
  afterAll(() => spawnSync('umount', [small]));

  test('ENOSPC names the folder being written; EROFS says read-only file system', async () => {
    const dir = join(small, 'merged');
    const err = await writeDirAtomic(dir, (tmp) => writeFile(join(tmp, 'model.safetensors'), new Uint8Array(1 << 20))).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`cannot write ${dir}: no space left on the device holding ${small}`);
    expect(spawnSync('mount', ['-o', 'remount,ro', small]).status).toBe(0);
    const file = join(small, 'runs', 'r', 'run.json');
    await expect(writeFileAtomic(file, '{}')).rejects.toThrow(`cannot write ${file}: ${small} is on a read-only file system`);
    await expect(writeDirAtomic(join(small, 'adapter'), async () => {})).rejects.toThrow(/is on a read-only file system/);
  });
});
