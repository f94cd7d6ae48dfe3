import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSuite } from '../../src/config/expand-suite.js';
import { initEngine } from '../../src/engine/backend.js';
import { datasetContentId, modelContentId, runIdentity } from '../../src/experiments/run-identity.js';
import { runSuite } from '../../src/experiments/suite-runner.js';
import { openSqliteStore } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'run-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const modelA = join(root, 'a', 'model');
const prepare = { source: 'builtin:reverse', template: 'plain', num_samples: 24, eval_samples: 4, max_seq_len: 64 };

function suiteFile(name: string, model: string, dataset: string): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify({
    name: 'ident', type: 'rank', prepare, seeds: [0], sweep: { rank: [2] },
    base: {
      model, dataset, lora: { lora_alpha: 4, target_modules: ['q_proj'] },
      training: { max_steps: 2, batch_size: 2, learning_rate: 1e-3, max_seq_len: 64 },
      eval: { max_samples: 2, batch_size: 2, generate: false },
    },
  }));
  return file;
}

beforeAll(async () => {
  await writeTinyModel(modelA, { modelType: 'llama', seed: 3, maxPositions: 64 });
});

describe('run identity without paths', () => {
  test('a model copied elsewhere has the same id; its config or tensor headers change it', () => {
    const copy = join(root, 'copy-model');
    cpSync(modelA, copy, { recursive: true });
    expect(modelContentId(copy)).toBe(modelContentId(modelA));
    expect(modelContentId(modelA)).toMatch(/^sha256:[0-9a-f]{64}$/);

    const cfg = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8'));
    writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...cfg, rms_norm_eps: 1e-3 }));
    expect(modelContentId(copy)).not.toBe(modelContentId(modelA));

    cpSync(join(modelA, 'config.json'), join(copy, 'config.json'));
    const st = readFileSync(join(copy, 'model.safetensors'));
    const n = Number(st.readBigUInt64LE(0));
    const header = st.subarray(8, 8 + n).toString('utf8').replace('"F32"', '"F16"'); // same length
    st.write(header, 8, 'utf8');
    writeFileSync(join(copy, 'model.safetensors'), st);
    expect(modelContentId(copy)).not.toBe(modelContentId(modelA));
    expect(modelContentId(join(root, 'nowhere'))).toMatch(/^missing-model:/);
  });

  test('the same run under other paths resumes as the same run; paths stay as provenance', async () => {
    const engine = await initEngine({ backend: 'cpu' });
    const dataA = join(root, 'a', 'data', 'rev');
    const store = openSqliteStore(join(root, 'ident.db'));
    const first = await runSuite({ file: suiteFile('a', modelA, dataA), store, engine, logger: silentLogger, runtime: { backend: 'cpu', outputRoot: join(root, 'out-a') } });
    expect(first.completed).toBe(1);

    // Machine B: the same model and prepared dataset, at other paths.
    const modelB = join(root, 'b', 'models', 'tiny');
    const dataB = join(root, 'b', 'datasets', 'rev');
    cpSync(modelA, modelB, { recursive: true });
    cpSync(dataA, dataB, { recursive: true });
    expect(datasetContentId(dataB)).toBe(datasetContentId(dataA));
    const fileB = suiteFile('b', modelB, dataB);
    const [runA] = loadSuite(suiteFile('a2', modelA, dataA)).runs;
    const [runB] = loadSuite(fileB).runs;
    expect(runB.config.model).not.toBe(runA.config.model);
    expect(runIdentity(runB.config)).toBe(runIdentity(runA.config));

    const second = await runSuite({ file: fileB, store, engine, logger: silentLogger, resume: true, runtime: { backend: 'cpu', outputRoot: join(root, 'out-b') } });
    expect(second).toMatchObject({ completed: 0, skipped: 1 });
    const [run] = await store.listRuns({ status: 'completed' });
    expect(run.model).toBe(modelA); // the path it actually ran with
    expect(run.configHash).toBe(runIdentity(runA.config));
    await store.close();
  }, 120_000);
});
