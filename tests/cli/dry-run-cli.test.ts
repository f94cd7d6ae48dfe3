import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, expect, test } from 'vitest';
import { runInProcess } from '../helpers/cli-in-process.js';

const root = mkdtempSync(join(tmpdir(), 'dry-run-'));

const cli = runInProcess;

afterEach(() => {
  process.exitCode = 0;
});

test('run-suite --dry-run says `will not fit` for a run the backend cannot hold, and exits 1', async () => {
  const file = join(root, 'huge.yaml');
  writeFileSync(file, stringify({
    name: 'huge', type: 'rank',
    base: { model: 'models/tiny-llama', dataset: join(root, 'data'), lora: { target_modules: ['q_proj', 'v_proj'] }, training: { batch_size: 8, max_seq_len: 96 } },
    sweep: { rank: [8, 200000] },
    prepare: { source: 'builtin:format', template: 'plain' },
  }));
  const r = await cli(['run-suite', file, '--dry-run', '--backend', 'wasm', '--threads', '1']);
  expect(r.code).toBe(1);
  const lines = r.stdout.split('\n');
  expect(lines.find((l) => l.startsWith('huge-r8-s42 '))).toMatch(/ ok$/);
  expect(lines.find((l) => l.startsWith('huge-r200000-s42 '))).toMatch(/will not fit: estimated peak [\d.]+ GiB > [\d.]+ GiB, wasm's 4 GiB linear memory$/);
  expect(r.stdout).toMatch(/2 runs, 0 invalid, 1 will not fit/);
  const j = await cli(['run-suite', file, '--dry-run', '--backend', 'wasm', '--threads', '1', '--json']);
  expect(j.code).toBe(1);
  const doc = JSON.parse(j.stdout) as { memory_limit: { bytes: number }; runs: { name: string; ok: boolean; fits: boolean }[] };
  expect(doc.runs.map((x) => [x.name, x.ok, x.fits])).toEqual([['huge-r8-s42', true, true], ['huge-r200000-s42', false, false]]);
  expect(doc.memory_limit.bytes).toBeGreaterThan(0);
});
