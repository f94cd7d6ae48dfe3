import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTracker } from '../../src/tracking/index.js';
import { LoraStudyError } from '../../src/util/errors.js';

const HOLD = fileURLToPath(new URL('../fixtures/tracking/hold-lock.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'db-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tracking database errors name the database', () => {
  it('a lock held by another process names the file and that process', async () => {
    const path = join(dir, 'locked.db');
    openTracker(path).close();
    const holder = spawn(process.execPath, ['--import', 'tsx', HOLD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        holder.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      });
      const t = openTracker(path, { busyTimeoutMs: 200 });
      const err = (() => {
        try {
          t.startRun({ name: 'x', experimentType: 'single', config: {} });
        } catch (e) {
          return e as LoraStudyError;
        }
        return null;
      })();
      t.close();
      expect(err).toBeInstanceOf(LoraStudyError);
      expect(err!.message).toContain(`tracking database ${path} is locked`);
      if (process.platform === 'linux') expect(err!.message).toContain(`pid ${holder.pid}`);
      expect(err!.hint).toMatch(/wait for that process/);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a file that is not a database is named, with what to do', () => {
    const path = join(dir, 'not-a-db.db');
    writeFileSync(path, 'hello, this is not SQLite '.repeat(100));
    expect(() => openTracker(path)).toThrow(`${path} is not a usable SQLite database`);
    expect(() => openTracker(path, { readonly: true })).toThrow(`${path} is not a usable SQLite database`);
  });

  it('--db naming a folder says so', () => {
    expect(() => openTracker(dir)).toThrow(`tracking database ${dir} is a folder`);
    expect(() => openTracker(dir, { readonly: true })).toThrow(`tracking database ${dir} is a folder`);
  });
});
