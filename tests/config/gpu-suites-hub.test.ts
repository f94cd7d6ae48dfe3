/**
 * The GPU suites name their models by Hub id and still plan with --dry-run offline: from a
 * Hugging Face cache holding only each model's config.json (laid out as huggingface_hub does),
 * with HF_HUB_OFFLINE=1 and no network — the plan reads config.json, never weights.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { loadSuite } from '../../src/config/expand-suite.js';
import { planRun } from '../../src/experiments/plan.js';
import { runIdentity } from '../../src/experiments/run-identity.js';
import { parseHubModelId } from '../../src/model/hub/model-id.js';
import { prefetchModelConfigs } from '../../src/model/hub/resolve-model.js';
import { runCli } from '../helpers/run-cli.js';

const CONFIGS: Record<string, string> = {
  'microsoft/phi-2': 'phi-2.json',
  'openai-community/gpt2': 'gpt2.json',
  'Qwen/Qwen2.5-0.5B': 'qwen2.5-0.5b.json',
  'TinyLlama/TinyLlama-1.1B-Chat-v1.0': 'tinyllama-1.1b-chat.json',
};
const files = readdirSync('configs/gpu').filter((f) => f.endsWith('.yaml')).map((f) => join('configs/gpu', f));
const SHA = 'c'.repeat(40);

beforeAll(() => {
  const cache = mkdtempSync(join(tmpdir(), 'hf-cache-gpu-'));
  for (const [repo, fixture] of Object.entries(CONFIGS)) {
    const rd = join(cache, `models--${repo.replace('/', '--')}`);
    const bytes = readFileSync(join('tests/fixtures/configs', fixture));
    const etag = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    for (const d of ['blobs', 'refs', `snapshots/${SHA}`]) mkdirSync(join(rd, d), { recursive: true });
    writeFileSync(join(rd, 'blobs', etag), bytes);
    writeFileSync(join(rd, 'refs', 'main'), SHA);
    symlinkSync(`../../blobs/${etag}`, join(rd, 'snapshots', SHA, 'config.json'));
  }
  vi.stubEnv('HF_HUB_CACHE', cache);
  vi.stubEnv('HF_HUB_OFFLINE', '1');
});

afterAll(() => vi.unstubAllEnvs());

test.each(files)('%s names its model by Hub id and plans offline from config.json alone', async (file) => {
  const s = loadSuite(file);
  const specs = [...new Set(s.runs.map((r) => r.config.model))];
  for (const spec of specs) expect(parseHubModelId(spec), spec).not.toBeNull();
  expect(await prefetchModelConfigs(specs, { hubUrl: 'http://127.0.0.1:9' })).toEqual(new Map());
  for (const r of s.runs) {
    const row = planRun(r, { prepare: s.suite.prepare, matmulGflops: 1000 });
    expect(row.error, `${file} ${r.name}`).toBeUndefined();
    expect(row.trainable_params).toBeGreaterThan(0);
  }
  // The identity names the commit the cache resolved, not a path.
  expect(runIdentity(s.runs[0].config)).toBe(runIdentity({ ...s.runs[0].config, model: `${specs[0].split('@')[0]}@${SHA}` }));
});

test('run-suite --dry-run on a Hub id, offline: the plan, and a note that it came from config.json alone', async () => {
  const r = await runCli(['run-suite', 'configs/gpu/qwen2.5-0.5b_rank_sweep.yaml', '--dry-run', '--json', '--backend', 'wasm', '--threads', '1'], {
    env: { HF_HUB_CACHE: process.env.HF_HUB_CACHE!, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' },
  });
  const doc = JSON.parse(r.stdout) as { runs: Array<{ ok: boolean; error?: string }>; notes: string[] };
  expect(doc.runs.map((x) => x.error).filter((e) => e && !/^will not fit/.test(e))).toEqual([]); // rows may not fit wasm's 4 GiB; none is invalid
  expect(doc.notes).toEqual([expect.stringMatching(/^Qwen\/Qwen2\.5-0\.5B@cccccccccccc: planned from config\.json alone/)]);
});
