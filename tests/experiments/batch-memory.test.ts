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
import { BaseExperiment } from '../../src/experiments/base-experiment.js';
import { BatchTooLargeError, describeOutOfMemory, isOutOfMemory } from '../../src/experiments/out-of-memory.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { singleStudy } from '../../src/studies/single.js';
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

const hugeBatch = () =>
  runConfigSchema.parse({
    name: 'huge-batch', model: modelDir, dataset: join(root, 'data', 'rev'), seed: 1,
    lora: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] },
    training: { max_steps: 1, batch_size: 5_000_000_000, gradient_accumulation_steps: 2, max_seq_len: 48, learning_rate: 1e-3 },
    eval: { max_samples: 2, batch_size: 2, generate: false },
  });
const OOM = /^training ran out of memory on a micro-batch of training\.batch_size 5000000000 × training\.max_seq_len 48 tokens on the cpu backend \(RangeError: Invalid array length\)/;

test('a training batch too large for memory fails the run naming batch_size, max_seq_len and what to lower', async () => {
  const engine = await initEngine({ backend: 'cpu' });
  const { logger } = captureLogger();
  const out = await runSingle({ config: hugeBatch(), runtime: { backend: 'cpu', outputDir: join(root, 'out') }, engine, logger });
  expect(out.status).toBe('failed');
  expect(out.error).toMatch(OOM);
  expect(out.error).toMatch(/lower training\.batch_size \(--batch\) and raise training\.gradient_accumulation_steps \(--grad-accum, now 2\) to keep the effective batch of 10000000000, or lower training\.max_seq_len/);
  expect(out.error).toContain('--dry-run');
});

test('an engine fault while releasing the model after a failed run does not replace the recorded outcome', async () => {
  // What the wasm backend does after a batch overran its heap: disposing the weights traps too.
  class FaultyRelease extends BaseExperiment {
    protected override release(): void {
      super.release();
      throw new Error('memory access out of bounds');
    }
  }
  const engine = await initEngine({ backend: 'cpu' });
  const { logger, lines } = captureLogger();
  const exp = new FaultyRelease(singleStudy, hugeBatch(), { runtime: { backend: 'cpu', outputDir: join(root, 'out2') }, engine, logger });
  const out = await exp.execute();
  expect(out.status).toBe('failed');
  expect(out.error).toMatch(OOM);
  expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toContain('could not release the model after the run; the engine may be unusable in this process');
});

/** A real trap of the kind the wasm backend raises when a batch overruns its heap: a load past the module's one page. */
function wasmTrap(): unknown {
  // (module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 100000))))
  const bytes = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 0x66, 0, 0, 0x0a, 0x0b, 1, 9, 0, 0x41, 0xa0, 0x8d, 0x06, 0x28, 0x02, 0x00, 0x0b]);
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f as () => number;
  const e = thrown(f);
  expect(e).toBeInstanceOf(WebAssembly.RuntimeError);
  return e;
}

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
    expect(isOutOfMemory(wasmTrap())).toBe(true);
    expect(isOutOfMemory(new LoraStudyError('out of memory, but already explained'))).toBe(false);
    expect(isOutOfMemory('Array buffer allocation failed')).toBe(false);
  });

  test('a wasm heap overrun says the process cannot go on', () => {
    const e = describeOutOfMemory(wasmTrap(), { phase: 'training', backend: 'wasm', batchSize: 4096, maxSeqLen: 512 }) as BatchTooLargeError;
    expect(e.message).toMatch(/on the wasm backend \(RuntimeError: memory access out of bounds\)$/);
    expect(e.hint).toMatch(/the wasm heap is unusable after this: start a new process$/);
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
