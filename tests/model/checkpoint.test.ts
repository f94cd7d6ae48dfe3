import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  CheckpointNotFoundError,
  DuplicateTensorError,
  loadCheckpoint,
  MissingConfigError,
  MissingShardError,
  NoWeightsError,
  saveCheckpoint,
} from '../../src/model/checkpoint.js';
import { UnsupportedModelTypeError } from '../../src/model/config.js';
import { SafetensorsHeaderError, SafetensorsTruncatedError, writeSafetensors } from '../../src/model/safetensors.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'ckpt-'));
let n = 0;
const fresh = (): string => join(root, `m${n++}`);

describe('tiny models load back exactly', () => {
  test.each([
    { modelType: 'llama', dtype: 'F32' },
    { modelType: 'qwen2', dtype: 'BF16', tie: true },
    { modelType: 'mistral', dtype: 'F16' },
    { modelType: 'gpt2', dtype: 'F32' },
  ] as const)('$modelType $dtype', async (opts) => {
    const tiny = await writeTinyModel(fresh(), { seed: 3, ...opts });
    const ck = await loadCheckpoint(tiny.dir);
    expect(ck.files).toEqual(['model.safetensors']);
    expect(ck.config.modelType).toBe(opts.modelType);
    expect(ck.config.vocabSize).toBe(loadTokenizer(tiny.dir).vocabSize);
    expect([...ck.tensors.keys()].sort()).toEqual([...tiny.tensors.keys()].sort());
    for (const [name, t] of tiny.tensors) expect(ck.tensors.get(name), name).toEqual(t);
  });

  test('HF names and shapes: llama GQA untied, qwen2 biases tied, gpt2 Conv1D [in, out]', async () => {
    const llama = await writeTinyModel(fresh(), { modelType: 'llama', seed: 1 });
    expect(llama.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([16, 32]); // 2 kv heads × 8
    expect(llama.tensors.get('lm_head.weight')!.shape).toEqual([267, 32]);
    const qwen = await writeTinyModel(fresh(), { modelType: 'qwen2', seed: 1, tie: true });
    expect(qwen.tensors.has('lm_head.weight')).toBe(false);
    expect(qwen.tensors.get('model.layers.0.self_attn.q_proj.bias')!.shape).toEqual([32]);
    expect(qwen.tensors.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(qwen.config.tie_word_embeddings).toBe(true);
    const gpt2 = await writeTinyModel(fresh(), { modelType: 'gpt2', seed: 1 });
    expect(gpt2.tensors.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([32, 96]);
    expect(gpt2.tensors.get('transformer.h.0.mlp.c_fc.weight')!.shape).toEqual([32, 128]);
    expect(gpt2.config).toMatchObject({ architectures: ['GPT2LMHeadModel'], n_inner: null, torch_dtype: 'float32' });
  });

  test('same seed, same bytes; another seed, other weights', async () => {
    const a = await writeTinyModel(fresh(), { modelType: 'llama', seed: 5 });
    const b = await writeTinyModel(fresh(), { modelType: 'llama', seed: 5 });
    const c = await writeTinyModel(fresh(), { modelType: 'llama', seed: 6 });
    expect(readFileSync(join(a.dir, 'model.safetensors')).equals(readFileSync(join(b.dir, 'model.safetensors')))).toBe(true);
    expect(c.tensors.get('model.norm.weight')!.data).not.toEqual(a.tensors.get('model.norm.weight')!.data);
  });
});

test('a sharded folder loads the same tensors as an unsharded one', async () => {
  const whole = await writeTinyModel(fresh(), { modelType: 'llama', seed: 9, dtype: 'BF16' });
  const sharded = await writeTinyModel(fresh(), { modelType: 'llama', seed: 9, dtype: 'BF16', shardBytes: 20_000 });
  const files = readdirSync(sharded.dir).filter((f) => f.endsWith('.safetensors')).sort();
  expect(files.length).toBeGreaterThan(2);
  expect(files[0]).toBe(`model-00001-of-${String(files.length).padStart(5, '0')}.safetensors`);
  const index = JSON.parse(readFileSync(join(sharded.dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
  expect(Object.keys(index.weight_map).length).toBe(whole.tensors.size);
  expect(index.metadata.total_size).toBe([...whole.tensors.values()].reduce((s, t) => s + 2 * t.data.length, 0));
  const a = await loadCheckpoint(whole.dir);
  const b = await loadCheckpoint(sharded.dir);
  expect(b.files).toEqual(files);
  expect(b.tensors).toEqual(a.tensors);
});

test('save → load keeps config, copies the tokenizer, sets torch_dtype', async () => {
  const src = await writeTinyModel(fresh(), { modelType: 'gpt2', seed: 2 });
  const loaded = await loadCheckpoint(src.dir);
  const out = fresh();
  await saveCheckpoint(out, { config: loaded.config.raw, tensors: loaded.tensors, tokenizerDir: src.dir, dtype: 'F16' });
  expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const again = await loadCheckpoint(out);
  expect(again.config.raw).toEqual({ ...src.config, torch_dtype: 'float16' });
  const w = 'transformer.h.1.mlp.c_proj.weight';
  for (let i = 0; i < 50; i++) expect(again.tensors.get(w)!.data[i]).toBeCloseTo(loaded.tensors.get(w)!.data[i], 3);
});

test("GPT-2's attention-mask buffers are not parameters, and bare GPT2Model names get their prefix", async () => {
  const src = await writeTinyModel(fresh(), { modelType: 'gpt2', seed: 4, numLayers: 1 });
  const bare = Object.fromEntries([...src.tensors].map(([k, t]) => [k.replace(/^transformer\./, ''), t]));
  const mask = { shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1) };
  const dir = fresh();
  await saveCheckpoint(dir, { config: src.config, tensors: { ...bare, 'h.0.attn.bias': mask, 'h.0.attn.masked_bias': { shape: [], data: Float32Array.of(-1e4) } } });
  const ck = await loadCheckpoint(dir);
  expect([...ck.tensors.keys()].sort()).toEqual([...src.tensors.keys()].sort());
});

describe('bad folders, each with its own error', () => {
  test('folder missing', async () => {
    await expect(loadCheckpoint(join(root, 'nope'))).rejects.toBeInstanceOf(CheckpointNotFoundError);
  });

  test('config.json missing says what a model folder needs', async () => {
    const dir = fresh();
    mkdirSync(dir);
    const err = await loadCheckpoint(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingConfigError);
    expect((err as Error).message).toBe(`model folder ${dir}: has no config.json`);
    expect((err as MissingConfigError).hint).toMatch(/config\.json, model\.safetensors .*tokenizer\.json/);
  });

  test('unknown model_type', async () => {
    const tiny = await writeTinyModel(fresh(), { modelType: 'llama', seed: 1, numLayers: 1 });
    writeFileSync(join(tiny.dir, 'config.json'), JSON.stringify({ ...tiny.config, model_type: 'falcon' }));
    await expect(loadCheckpoint(tiny.dir)).rejects.toSatisfy(
      (e) => e instanceof UnsupportedModelTypeError && e.file === join(tiny.dir, 'config.json') && e.modelType === 'falcon',
    );
  });

  test('no weights file (a .bin-only folder gets a conversion hint)', async () => {
    const tiny = await writeTinyModel(fresh(), { modelType: 'llama', seed: 1, numLayers: 1 });
    rmSync(join(tiny.dir, 'model.safetensors'));
    writeFileSync(join(tiny.dir, 'pytorch_model.bin'), '');
    const err = await loadCheckpoint(tiny.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoWeightsError);
    expect((err as NoWeightsError).hint).toMatch(/safe_serialization=True/);
  });

  const shardedModel = async () => {
    const tiny = await writeTinyModel(fresh(), { modelType: 'llama', seed: 1, shardBytes: 40_000 });
    const index = JSON.parse(readFileSync(join(tiny.dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    return { tiny, weightMap: index.weight_map };
  };

  test('a shard named in the index is missing', async () => {
    const { tiny, weightMap } = await shardedModel();
    const shard = weightMap['model.norm.weight'];
    rmSync(join(tiny.dir, shard));
    await expect(loadCheckpoint(tiny.dir)).rejects.toSatisfy(
      (e) => e instanceof MissingShardError && e.shard === shard && e.message.includes(`lists shard ${shard}`),
    );
  });

  test('a tensor stored in two shards', async () => {
    const { tiny, weightMap } = await shardedModel();
    // Add the embedding (first shard) to the shard that holds the final norm as well.
    const last = weightMap['model.norm.weight'];
    expect(weightMap['model.embed_tokens.weight']).not.toBe(last);
    const own = Object.fromEntries([...tiny.tensors].filter(([k]) => weightMap[k] === last));
    await writeSafetensors(join(tiny.dir, last), { ...own, 'model.embed_tokens.weight': tiny.tensors.get('model.embed_tokens.weight')! });
    const err = await loadCheckpoint(tiny.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateTensorError);
    expect(err).toMatchObject({ tensor: 'model.embed_tokens.weight', files: [weightMap['model.embed_tokens.weight'], last] });
  });

  test('truncated and corrupt weights', async () => {
    const tiny = await writeTinyModel(fresh(), { modelType: 'gpt2', seed: 1, numLayers: 1 });
    const file = join(tiny.dir, 'model.safetensors');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await expect(loadCheckpoint(tiny.dir)).rejects.toBeInstanceOf(SafetensorsTruncatedError);
    writeFileSync(file, Buffer.concat([bytes.subarray(0, 8), Buffer.from('not json'.padEnd(Number(bytes.readBigUInt64LE(0)), '#')), bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)))]));
    await expect(loadCheckpoint(tiny.dir)).rejects.toBeInstanceOf(SafetensorsHeaderError);
  });
});

test('saving replaces an existing folder whole', async () => {
  const dir = fresh();
  mkdirSync(dir);
  writeFileSync(join(dir, 'stale.txt'), 'x');
  await saveCheckpoint(dir, { config: { model_type: 'gpt2' }, tensors: {} });
  expect(existsSync(join(dir, 'stale.txt'))).toBe(false);
});

describe('committed reference fixtures (scripts/reference/make-fixtures.ts)', () => {
  const FIXTURES = join(import.meta.dirname, '../fixtures/reference');
  test.each(['llama-gqa-untied', 'qwen2-bias-tied', 'gpt2'])('%s loads and its expected.json fits the model', async (name) => {
    const ck = await loadCheckpoint(join(FIXTURES, name));
    const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as {
      cases: Array<{ input_ids: number[][]; attention_mask: number[][] | null; position_ids: number[][]; logits: Array<Array<number[] | null>> }>;
    };
    expect(expected.cases.map((c) => (c as unknown as { name: string }).name)).toEqual(['plain', 'right_pad', 'left_pad']);
    for (const c of expected.cases) {
      c.input_ids.forEach((row, b) => row.forEach((_, t) => {
        const padding = c.attention_mask !== null && c.attention_mask[b][t] === 0;
        expect(c.logits[b][t] === null).toBe(padding);
        if (!padding) expect(c.logits[b][t]!.length).toBe(ck.config.vocabSize);
      }));
    }
  });
});
