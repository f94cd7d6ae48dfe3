/**
 * A batch too large for memory is an error naming the batch and what to lower, not the engine's
 * raw RangeError. The run is real (a tiny model, the cpu backend): a batch_size past what a JS
 * array can hold fails at once; the other engine messages are checked through errors the
 * runtime really throws.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { initEngine } from '../../src/engine/backend.js';
import { BatchTooLargeError, describeOutOfMemory, isOutOfMemory } from '../../src/experiments/out-of-memory.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { LoraStudyError } from '../../src/util/errors.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'batch-memory-'));
const modelDir = join(root, 'model');

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 4, hiddenSize: 16, numLayers: 1, numHeads: 2, numKvHeads: 1, maxPositions: 64 });
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 8, evalSamples: 2, maxSeqLen: 48 });
});

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

test('a training batch too large for memory fails the run naming batch_size, max_seq_len and what to lower', async () => {
  const engine = await initEngine({ backend: 'cpu' });
  const { logger } = captureLogger();
  const config = runConfigSchema.parse({
    name: 'huge-batch', model: modelDir, dataset: join(root, 'data', 'rev'), seed: 1,
    lora: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] },
    training: { max_steps: 1, batch_size: 5_000_000_000, gradient_accumulation_steps: 2, max_seq_len: 48, learning_rate: 1e-3 },
    eval: { max_samples: 2, batch_size: 2, generate: false },
  });
  const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: join(root, 'out') }, engine, logger });
  expect(out.status).toBe('failed');
  expect(out.error).toMatch(/^training ran out of memory on a micro-batch of training\.batch_size 5000000000 × training\.max_seq_len 48 tokens on the cpu backend \(RangeError: Invalid array length\)/);
  expect(out.error).toMatch(/lower training\.batch_size \(--batch\) and raise training\.gradient_accumulation_steps \(--grad-accum, now 2\) to keep the effective batch of 10000000000, or lower training\.max_seq_len/);
  expect(out.error).toContain('--dry-run');
});

describe('out-of-memory errors', () => {
  test('the RangeErrors a too-large allocation throws are recognised, and only those', () => {
    const typed = thrown(() => new Float32Array(2 ** 32 + 1)); // Invalid typed array length
    const buffer = thrown(() => new ArrayBuffer(2 ** 50)); // Array buffer allocation failed
    const array = thrown(() => new Array(-1)); // Invalid array length
    for (const e of [typed, buffer, array]) {
      expect(e).toBeInstanceOf(RangeError);
      expect(isOutOfMemory(e), String(e)).toBe(true);
    }
    expect(isOutOfMemory(thrown(() => (1).toFixed(200)))).toBe(false); // a RangeError about something else
    expect(isOutOfMemory(new Error('the wasm backend: memory access out of bounds'))).toBe(true);
    expect(isOutOfMemory(new LoraStudyError('out of memory, but already explained'))).toBe(false);
    expect(isOutOfMemory('Array buffer allocation failed')).toBe(false);
  });

  test('an evaluation batch names eval.batch_size; other errors pass through unchanged', () => {
    const e = describeOutOfMemory(thrown(() => new ArrayBuffer(2 ** 50)), { phase: 'evaluation', backend: 'wasm', batchSize: 64, maxSeqLen: 512 });
    expect(e).toBeInstanceOf(BatchTooLargeError);
    expect((e as Error).message).toBe('evaluation ran out of memory on a batch of eval.batch_size 64 × max_seq_len 512 tokens on the wasm backend (RangeError: Array buffer allocation failed)');
    expect((e as BatchTooLargeError).hint).toMatch(/lower eval\.batch_size/);
    const other = new TypeError('x is not a function');
    expect(describeOutOfMemory(other, { phase: 'training', backend: 'cpu', batchSize: 1, maxSeqLen: 2 })).toBe(other);
  });
});
