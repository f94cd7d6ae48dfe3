/**
 * Issue 10 item 1: tie_word_embeddings is read for every architecture (transformers' rule: tied
 * only when the flag is true; class defaults gpt2 true, llama/qwen2/mistral false); an untied
 * checkpoint's lm_head.weight is used and exported; a checkpoint tensor the model does not
 * consume is an error naming it, unless it is a known buffer.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { mergeAndExport } from '../../src/lora/merge-export.js';
import { TiedHeadMismatchError } from '../../src/model/architectures/shared/parameters.js';
import { UnconsumedTensorError } from '../../src/model/build-model.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { loadModel } from '../../src/model/load-model.js';
import type { HostTensor } from '../../src/model/types.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { saveAdapter } from '../../src/lora/peft-adapter.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { writeTinyModel, type TinyModelOptions } from '../helpers/tiny-models.js';

beforeAll(useCpuBackend);
const root = mkdtempSync(join(tmpdir(), 'tied-head-'));
let n = 0;
const fresh = (): string => join(root, `m${n++}`);
const ids = [[5, 17, 99, 3], [7, 1, 64, 200]];

function logits(model: Awaited<ReturnType<typeof loadModel>>['model']): number[][][] {
  return tf.tidy(() => model.forward({ inputIds: tf.tensor2d(ids, [2, 4], 'int32') }).logits.arraySync()) as number[][][];
}

/** Writes a tiny model, then rewrites its weights with `edit` applied. */
async function edited(opts: TinyModelOptions, edit: (t: Map<string, HostTensor>) => void): Promise<string> {
  const tiny = await writeTinyModel(fresh(), opts);
  edit(tiny.tensors);
  await saveCheckpoint(tiny.dir, { config: tiny.config, tensors: tiny.tensors, tokenizerDir: tiny.dir });
  return tiny.dir;
}

describe('an untied GPT-2 checkpoint uses its own lm_head.weight', () => {
  test('a zero lm_head gives zero logits (the tied wte would not)', async () => {
    const dir = await edited({ modelType: 'gpt2', seed: 5, tie: false }, (t) => t.get('lm_head.weight')!.data.fill(0));
    const { model } = await loadModel(dir);
    expect(model.config.tieWordEmbeddings).toBe(false);
    expect(logits(model).flat(2).every((x) => x === 0)).toBe(true);
    model.dispose();
  });

  test('merge exports the head it used, and the merged folder reproduces base + adapter', async () => {
    const tiny = await writeTinyModel(fresh(), { modelType: 'gpt2', seed: 6, tie: false });
    const { model } = await loadModel(tiny.dir);
    const lora = injectLora(model, loraConfigSchema.parse({ r: 2, lora_alpha: 4, target_modules: ['c_attn', 'c_fc'] }), { seed: 1 });
    for (const l of model.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.05, 'float32', 3));
    const adapted = logits(model);
    const adapterDir = join(root, 'adapter');
    await saveAdapter(adapterDir, model, lora, { baseModel: tiny.dir });
    model.dispose();
    const out = fresh();
    await mergeAndExport({ modelDir: tiny.dir, adapterDir, outDir: out });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).tie_word_embeddings).toBe(false);
    const merged = await loadCheckpoint(out);
    expect(merged.tensors.get('lm_head.weight')!.data).toEqual(tiny.tensors.get('lm_head.weight')!.data);
    const reloaded = await loadModel(out);
    const diff = Math.max(...logits(reloaded.model).flat(2).map((x, i) => Math.abs(x - adapted.flat(2)[i])));
    expect(diff).toBeLessThan(1e-4);
    reloaded.model.dispose();
  });
});

test('a tied config whose checkpoint lm_head.weight differs from the embedding is refused', async () => {
  const dir = await edited({ modelType: 'qwen2', seed: 7, tie: true }, (t) => {
    const emb = t.get('model.embed_tokens.weight')!;
    t.set('lm_head.weight', { shape: emb.shape, data: emb.data.map((x) => x + 1) });
  });
  await expect(loadModel(dir)).rejects.toThrow(TiedHeadMismatchError);
  // The same tensor stored twice (what some tied checkpoints do) is fine.
  const same = await edited({ modelType: 'qwen2', seed: 7, tie: true }, (t) => {
    const emb = t.get('model.embed_tokens.weight')!;
    t.set('lm_head.weight', { shape: emb.shape, data: emb.data.slice() });
  });
  (await loadModel(same)).model.dispose();
});

describe('checkpoint tensors the model does not consume', () => {
  test('are an error naming the tensor', async () => {
    const dir = await edited({ modelType: 'llama', seed: 8 }, (t) => t.set('model.layers.0.mlp.extra.weight', { shape: [2], data: Float32Array.of(1, 2) }));
    const err = await loadModel(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnconsumedTensorError);
    expect((err as Error).message).toContain('"model.layers.0.mlp.extra.weight"');
  });

  test('a tied llama checkpoint that carries an lm_head.bias is refused', async () => {
    const dir = await edited({ modelType: 'llama', seed: 9, tie: true }, (t) => t.set('lm_head.bias', { shape: [3], data: new Float32Array(3) }));
    await expect(loadModel(dir)).rejects.toThrow(/"lm_head\.bias"/);
  });

  test('known buffers (rotary inv_freq, GPT-2 attention masks) are not', async () => {
    const llama = await edited({ modelType: 'llama', seed: 10 }, (t) =>
      t.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) }),
    );
    (await loadModel(llama)).model.dispose();
    const gpt2 = await edited({ modelType: 'gpt2', seed: 10 }, (t) => t.set('transformer.h.0.attn.masked_bias', { shape: [], data: Float32Array.of(-1e4) }));
    (await loadModel(gpt2)).model.dispose();
  });
});
