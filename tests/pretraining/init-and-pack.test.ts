import { beforeAll, expect, test } from 'vitest';
import { buildModel } from '../../src/model/build-model.js';
import { parseModelConfig } from '../../src/model/config.js';
import { initLlamaWeights } from '../../src/model/init-weights.js';
import { llamaConfigJson } from '../../src/pretraining/llama-config.js';
import { packDocuments } from '../../src/pretraining/pack-documents.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

beforeAll(useCpuBackend);

const config = parseModelConfig(
  llamaConfigJson({ vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 48, maxPositionEmbeddings: 64, eosTokenId: 61 }),
  'config.json',
);

const std = (d: Float32Array): number => Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length);

test('fresh Llama weights have every HF tensor the model needs, seeded, with scaled residual projections', () => {
  const w = initLlamaWeights(config, { seed: 3 });
  expect(w.has('lm_head.weight')).toBe(false); // tied
  expect(w.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([16, 32]);
  expect(w.get('model.norm.weight')!.data.every((x) => x === 1)).toBe(true);
  expect(std(w.get('model.embed_tokens.weight')!.data)).toBeCloseTo(0.02, 2);
  expect(std(w.get('model.layers.0.mlp.down_proj.weight')!.data)).toBeCloseTo(0.02 / 2, 2);
  expect(initLlamaWeights(config, { seed: 3 }).get('model.layers.0.mlp.up_proj.weight')!.data).toEqual(w.get('model.layers.0.mlp.up_proj.weight')!.data);
  expect(initLlamaWeights(config, { seed: 4 }).get('model.layers.0.mlp.up_proj.weight')!.data).not.toEqual(w.get('model.layers.0.mlp.up_proj.weight')!.data);
  const model = buildModel({ config, tensors: w, trainableBase: true });
  expect(model.baseVariables().reduce((s, v) => s + v.size, 0)).toBe([...w.values()].reduce((s, t) => s + t.data.length, 0));
  model.dispose();
});

test('packing keeps whole documents, each followed by EOS, windows start at a document', () => {
  const docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9], Array.from({ length: 12 }, (_, i) => 20 + i), [10]];
  const w = packDocuments(docs, { windowLen: 8, eosId: 0 });
  expect(w.map((x) => x.input_ids)).toEqual([[1, 2, 3, 0, 4, 5, 0], [6, 7, 8, 9, 0], [20, 21, 22, 23, 24, 25, 26, 27], [10, 0]]);
  for (const x of w) expect(x.labels).toEqual(x.input_ids);
});
