/**
 * A run names its model by Hub id: it is downloaded from a loopback Hub into the Hugging Face
 * cache, the run records the commit it resolved to (run.json, tracker, identity, PEFT's
 * `revision`), and a rerun offline uses the same weights; the dry-run fetches config.json only.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { initEngine } from '../../src/engine/backend.js';
import { runIdentity } from '../../src/experiments/run-identity.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { prefetchModelConfigs } from '../../src/model/hub/resolve-model.js';
import { openSqliteStore } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';
import { startFakeHub, type FakeHub } from '../helpers/fake-hub.js';

const root = mkdtempSync(join(tmpdir(), 'run-hub-'));
const SHA = 'd'.repeat(40);
let hub: FakeHub;

beforeAll(async () => {
  const src = join(root, 'src');
  await writeTinyModel(src, { modelType: 'llama', seed: 3, maxPositions: 256 });
  const files = Object.fromEntries(readdirSync(src).map((f) => [f, new Uint8Array(readFileSync(join(src, f)))]));
  const { 'model.safetensors': _w, ...noWeights } = files;
  hub = await startFakeHub({ models: {
    'tiny-org/tiny-llama': { commits: { [SHA]: files }, refs: { main: SHA } },
    'tiny-org/pickled': { commits: { [SHA]: { ...noWeights, 'pytorch_model.bin': new Uint8Array(8) } }, refs: { main: SHA } },
  } });
  vi.stubEnv('HF_HUB_CACHE', join(root, 'hf'));
  vi.stubEnv('HF_ENDPOINT', hub.url);
  vi.stubEnv('HF_HUB_OFFLINE', undefined);
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir: src, template: 'plain', numSamples: 40, evalSamples: 4, maxSeqLen: 96 });
});

afterAll(async () => {
  await hub.close();
  vi.unstubAllEnvs();
});

test('dry-run: config.json alone is fetched; a pickle-only repo is refused with its reason', async () => {
  const errors = await prefetchModelConfigs(['tiny-org/tiny-llama', 'tiny-org/pickled']);
  expect([...errors.keys()]).toEqual(['tiny-org/pickled']);
  expect(errors.get('tiny-org/pickled')).toMatch(/pickle/);
  const fetched = hub.requests.filter((r) => r.method === 'GET' && !r.path.startsWith('/api/')).map((r) => r.path);
  expect(fetched).toEqual([`/tiny-org/tiny-llama/resolve/${SHA}/config.json`]);
});

test('run-single on a Hub id downloads it, records the commit, and reruns offline on the same weights', async () => {
  const engine = await initEngine({ backend: 'cpu' });
  const store = openSqliteStore(join(root, 'exp.db'));
  const config = runConfigSchema.parse({
    name: 'hub', model: 'tiny-org/tiny-llama', dataset: join(root, 'data', 'rev'), seed: 1,
    lora: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] },
    training: { max_steps: 2, batch_size: 4, max_seq_len: 96 },
    eval: { max_samples: 4, batch_size: 4, generate: false },
  });
  const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: join(root, 'out') }, engine, logger: silentLogger, store });
  expect(out.error).toBeUndefined();
  const pinned = `tiny-org/tiny-llama@${SHA}`;
  expect(JSON.parse(readFileSync(join(root, 'out', 'run.json'), 'utf8')).config.model).toBe(pinned);
  expect(JSON.parse(readFileSync(join(root, 'out', 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({ base_model_name_or_path: 'tiny-org/tiny-llama', revision: SHA });
  const run = await store.getRun(out.runId!);
  expect(run?.model).toBe(pinned);
  expect(runIdentity(config)).toBe(runIdentity({ ...config, model: pinned }));

  vi.stubEnv('HF_HUB_OFFLINE', '1');
  const before = hub.requests.length;
  const again = await runSingle({ config: { ...config, model: pinned }, runtime: { backend: 'cpu', outputDir: join(root, 'out2') }, engine, logger: silentLogger });
  vi.stubEnv('HF_HUB_OFFLINE', undefined);
  expect(again.error).toBeUndefined();
  expect(hub.requests.length).toBe(before);
  expect(again.summary!.train_loss_first).toBe(out.summary!.train_loss_first);
  await store.close();
});
