import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { writeDirAtomic, writeFileAtomic } from '../../src/util/atomic-write.js';
import { HOST_TAG, sweepStaleTemps } from '../../src/util/stale-temps.js';

const HANG = fileURLToPath(new URL('../fixtures/hang-in-atomic-write.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'stale-temps-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A pid that was alive a moment ago and is not now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const DAY = 24 * 3600_000;
function touch(path: string, ageMs: number, dir = false): void {
  if (dir) mkdirSync(path);
  else writeFileSync(path, 'x');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

describe('sweepStaleTemps', () => {
  test('removes only temps whose writer is gone (this host) or that went unchanged for long (other hosts, old versions)', async () => {
    const dir = join(root, 'rules');
    mkdirSync(dir);
    const dead = deadPid();
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const names = {
        deadFile: `.run.json.tmp-${dead}@${HOST_TAG}-1-aaaaaa`,
        deadDir: `.adapter.tmp-${dead}@${HOST_TAG}-1-bbbbbb`,
        deadOld: `.adapter.tmp-${dead}@${HOST_TAG}-1-bbbbbb.old`,
        liveDir: `.adapter.tmp-${live.pid}@${HOST_TAG}-1-cccccc`,
        ownDir: `.adapter.tmp-${process.pid}@${HOST_TAG}-1-dddddd`,
        legacyDeadRecent: `.run.json.tmp-${dead}-1-eeeeee`,
        legacyDeadOld: `.meta.tmp-${dead}-1-ffffff`,
        legacyLiveOld: `.x.tmp-${live.pid}-1-gggggg`,
        foreignRecent: `.adapter.tmp-${dead}@0badf0-1-hhhhhh`,
        foreignOld: `.adapter.tmp-${dead}@0badf0-1-iiiiii`,
        notATemp: 'adapter',
        lookalike: '.adapter.tmp-notapid',
      };
      touch(join(dir, names.deadFile), 0);
      touch(join(dir, names.deadDir), 0, true);
      touch(join(dir, names.deadOld), 0, true);
      touch(join(dir, names.liveDir), 2 * DAY, true);
      touch(join(dir, names.ownDir), 2 * DAY, true);
      touch(join(dir, names.legacyDeadRecent), 60_000);
      touch(join(dir, names.legacyDeadOld), 3600_000);
      touch(join(dir, names.legacyLiveOld), 2 * DAY);
      touch(join(dir, names.foreignRecent), 3600_000, true);
      touch(join(dir, names.foreignOld), 2 * DAY, true);
      touch(join(dir, names.notATemp), 2 * DAY, true);
      touch(join(dir, names.lookalike), 2 * DAY);
      const removed = sweepStaleTemps(dir).map((p) => p.slice(dir.length + 1)).sort();
      expect(removed).toEqual([names.deadDir, names.deadOld, names.deadFile, names.foreignOld, names.legacyDeadOld].sort());
      expect(readdirSync(dir).sort()).toEqual(
        [names.liveDir, names.ownDir, names.legacyDeadRecent, names.legacyLiveOld, names.foreignRecent, names.notATemp, names.lookalike].sort(),
      );
    } finally {
      live.kill('SIGKILL');
    }
  });

  test('looks depth levels down (results/runs/<suite>/<run>/), not deeper', () => {
    const dead = deadPid();
    const runs = join(root, 'runs');
    mkdirSync(join(runs, 'suite', 'run', 'adapter', 'deeper'), { recursive: true });
    const inRun = join(runs, 'suite', 'run', `.run.json.tmp-${dead}@${HOST_TAG}-1-aaaaaa`);
    const tooDeep = join(runs, 'suite', 'run', 'adapter', 'deeper', `.x.tmp-${dead}@${HOST_TAG}-1-aaaaaa`);
    writeFileSync(inRun, '{');
    writeFileSync(tooDeep, '{');
    expect(sweepStaleTemps(runs, { depth: 2 })).toEqual([inRun]);
    expect(existsSync(tooDeep)).toBe(true);
  });
});

test('a writer killed inside writeDirAtomic leaves a temp that the next write there removes', async () => {
  const target = join(root, 'killed', 'adapter');
  const child = spawn(process.execPath, ['--import', 'tsx', HANG, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve());
    child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const parent = join(root, 'killed');
  const leftovers = readdirSync(parent).filter((n) => n.startsWith('.adapter.tmp-'));
  expect(leftovers).toHaveLength(1);
  expect(leftovers[0]).toContain(`.adapter.tmp-${child.pid}@${HOST_TAG}-`);
  await writeDirAtomic(target, async (tmp) => writeFileSync(join(tmp, 'adapter_model.safetensors'), 'complete'));
  expect(readdirSync(parent)).toEqual(['adapter']);
  await writeFileAtomic(join(parent, 'run.json'), '{}');
  expect(readdirSync(parent).sort()).toEqual(['adapter', 'run.json']);
});
