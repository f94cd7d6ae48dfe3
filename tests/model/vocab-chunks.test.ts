import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { bufferLimitBytes, overrideBufferLimit } from '../../src/engine/buffer-limit.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { mergedTensors } from '../../src/lora/merge.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { VocabChunks, vocabChunkRows } from '../../src/model/layers/vocab-chunks.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { mulberry32 } from '../helpers/tiny-models.js';
import { skipWebgpu, webgpuTitle } from '../helpers/webgpu.js';

const IDS = [[5, 17, 99, 3, 250, 42], [7, 7, 1, 0, 64, 266]];

function logits(model: CausalLM): Float32Array {
  return tf.tidy(() => model.forward({ inputIds: tf.tensor2d(IDS, [2, 6], 'int32') }).logits.dataSync() as Float32Array);
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

afterEach(() => overrideBufferLimit(null));

describe('vocabulary chunking under a forced small binding limit (cpu)', () => {
  beforeAll(useCpuBackend);

  test('chunk rows follow the limit; a table that fits is not split', () => {
    expect(vocabChunkRows(50257, 768, 128 * 2 ** 20)).toBe(43690);
    expect(vocabChunkRows(1000, 32, 128 * 2 ** 20)).toBeNull();
    expect(vocabChunkRows(267, 32, 4096)).toBe(32);
  });

  test.each([
    ['llama tied', { modelType: 'llama' as const, tie: true }],
    ['llama untied', { modelType: 'llama' as const, tie: false }],
    ['gpt2', { modelType: 'gpt2' as const }],
    ['phi', { modelType: 'phi' as const }],
  ])('%s: split embedding and head give the same logits, export, LoRA merge and trainable-base forward', async (_name, opts) => {
    const plain = (await tinyLm(opts)).model;
    overrideBufferLimit(4096); // 32 rows of a 32-wide table per chunk: 9 chunks for 267 tokens
    const split = (await tinyLm(opts)).model;
    const chunkedWeights = [...split.linears.values()].filter((l) => l.weight instanceof VocabChunks);
    expect(chunkedWeights.map((l) => l.name)).toEqual(['lm_head']);
    expect((chunkedWeights[0].weight as VocabChunks).chunks.length).toBe(Math.ceil(split.config.vocabSize / 32));
    expect(maxDiff(logits(split), logits(plain))).toBeLessThan(1e-5);
    const a = plain.exportTensors();
    const b = split.exportTensors();
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, t] of a) expect(b.get(k)!.data).toEqual(t.data);
    for (const m of [plain, split]) {
      injectLora(m, loraConfigSchema.parse({ r: 2, lora_alpha: 4, target_modules: 'all-linear' }), { seed: 3 });
      for (const l of m.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.05, 'float32', 8));
    }
    const ma = await mergedTensors(plain);
    const mb = await mergedTensors(split);
    for (const [k, t] of ma) expect(maxDiff(mb.get(k)!.data, t.data)).toBeLessThan(1e-6);
    plain.dispose();
    split.dispose();
    // Full fine-tuning: chunks are variables, looked up through one-hot products.
    const trainedSplit = (await tinyLm(opts, { trainableBase: true })).model;
    overrideBufferLimit(null);
    const trainedPlain = (await tinyLm(opts, { trainableBase: true })).model;
    expect(trainedSplit.linears.get('lm_head')!.weight).toBeInstanceOf(VocabChunks);
    expect(trainedPlain.linears.get('lm_head')!.weight).toBeInstanceOf(tf.Tensor);
    expect(maxDiff(logits(trainedSplit), logits(trainedPlain))).toBeLessThan(1e-5);
    trainedPlain.dispose();
    trainedSplit.dispose();
  });
});

describe.skipIf(skipWebgpu)(webgpuTitle('a table over the real WebGPU binding limit'), () => {
  test('is looked up and multiplied chunk by chunk, matching the host computation', async () => {
    await initEngine({ backend: 'webgpu' });
    const limit = bufferLimitBytes();
    const C = 64;
    const V = Math.ceil((limit * 1.1) / (C * 4)); // just over one binding
    const rows = vocabChunkRows(V, C)!;
    expect(rows).toBeLessThan(V);
    const rand = mulberry32(5);
    const data = Float32Array.from({ length: V * C }, () => rand() - 0.5);
    const table = VocabChunks.fromHost(data, [V, C], rows);
    const ids = [0, rows - 1, rows, V - 1, 12345 % V];
    const got = table.lookup(tf.tensor1d(ids, 'int32'), false);
    const gotRows = await got.data();
    ids.forEach((id, i) => expect(Array.from(gotRows.subarray(i * C, (i + 1) * C))).toEqual(Array.from(data.subarray(id * C, (id + 1) * C))));
    const x = Float32Array.from({ length: C }, () => rand() - 0.5);
    const out = table.matMulTransposed(tf.tensor2d(x, [1, C]));
    const logitsGpu = await out.data();
    for (const v of [0, rows, V - 1]) {
      let ref = 0;
      for (let c = 0; c < C; c++) ref += x[c] * data[v * C + c];
      expect(logitsGpu[v]).toBeCloseTo(ref, 4);
    }
    [got, out].forEach((t) => t.dispose());
    table.dispose();
  });
});
