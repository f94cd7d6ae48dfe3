import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { installThreadShim, removeStaleScratchDirs, SCRATCH_PREFIX } from '../../src/engine/wasm-node-threads.js';

/** Starts a worker from `file` and resolves with what it reported: 'ok', or why it did not. */
function runWorker(file: string): Promise<string> {
  return new Promise((resolve) => {
    const w = new Worker(file);
    let answer: string | null = null;
    w.on('message', (m) => (answer = String(m)));
    w.on('error', (e) => (answer ??= `error: ${e.message}`));
    w.on('exit', () => resolve(answer ?? 'exited without reporting'));
  });
}

describe('wasm thread shim', () => {
  it('gives every worker a complete script while more workers are being created', async () => {
    // Emscripten asks for the pthread worker script once per worker (8 at start-up) while the
    // workers already started are reading it; a worker that reads a half-written file never reports.
    const padding = `/*${'x'.repeat(1 << 20)}*/\n`;
    const script = `${padding}require('node:worker_threads').parentPort.postMessage('ok');\n`;
    const shim = installThreadShim(2);
    const runs: Promise<string>[] = [];
    try {
      for (let i = 0; i < 24; i++) runs.push(runWorker(URL.createObjectURL(new Blob([script]))));
    } finally {
      shim.restore();
    }
    const answers = await Promise.all(runs);
    expect(answers.filter((a) => a !== 'ok')).toEqual([]);
  });
});

describe('stale wasm temp folders', () => {
  it('removes the folders of dead processes on this host, and unowned ones over a day old, only', async () => {
    const tmp = mkdtempSync(join(os.tmpdir(), 'shim-stale-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const make = (name: string, owner?: object, ageMs = 0) => {
        const dir = join(tmp, name);
        mkdirSync(dir);
        writeFileSync(join(dir, 'x.cjs'), '0');
        if (owner) writeFileSync(join(dir, 'owner.json'), JSON.stringify(owner));
        const t = (Date.now() - ageMs) / 1000;
        utimesSync(dir, t, t);
        return dir;
      };
      const host = os.hostname();
      const deadDir = make(`${SCRATCH_PREFIX}${dead}-a`, { pid: dead, host });
      make(`${SCRATCH_PREFIX}${process.ppid}-b`, { pid: process.ppid, host });
      make(`${SCRATCH_PREFIX}${dead}-c`, { pid: dead, host: `${host}-elsewhere` });
      const oldDir = make(`${SCRATCH_PREFIX}old`, undefined, 2 * 24 * 3600_000);
      make(`${SCRATCH_PREFIX}fresh`);
      make('other-tool-1', { pid: dead, host });
      expect(removeStaleScratchDirs(tmp).sort()).toEqual([deadDir, oldDir].sort());
      expect(readdirSync(tmp).sort()).toEqual(
        [`${SCRATCH_PREFIX}${process.ppid}-b`, `${SCRATCH_PREFIX}${dead}-c`, `${SCRATCH_PREFIX}fresh`, 'other-tool-1'].sort(),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('removes its own folder when the process exits', () => {
    const code = `import { scratchDir } from ${JSON.stringify(new URL('../../src/engine/wasm-node-threads.ts', import.meta.url).href)};
      process.stdout.write(scratchDir());`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${SCRATCH_PREFIX}${r.pid}-`);
    expect(existsSync(r.stdout)).toBe(false);
  });
});
