/**
 * The dry-run plan refuses what cannot run (issue 10 item 15): a run whose estimated peak exceeds
 * the memory the backend has says `will not fit`; shapes come from the safetensors header, so a
 * config.json that does not describe the weights is an error, not a plan.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expandSuite } from '../../src/config/expand-suite.js';
import { memoryLimit, WASM_MAX_HEAP_BYTES } from '../../src/engine/memory-limit.js';
import { planRun } from '../../src/experiments/plan.js';
import { writeHeaderOnlyWeights } from '../helpers/header-only-weights.js';
import { writeTinyModel } from '../helpers/tiny-models.js';
import { makeTinyTokenizerJson } from '../helpers/tiny-tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'plan-fit-'));
const modelDir = join(root, 'model');
const prepare = { source: 'builtin:reverse', template: 'plain', num_samples: 40, eval_samples: 4, max_seq_len: 64 };
const GiB = 2 ** 30;
const wasm = memoryLimit('wasm', { totalRam: 64 * GiB });
const h100 = memoryLimit('tensorflow', { gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 0, memoryTotalMiB: 81559, driverVersion: '550' }] });

function plan(over: { model?: string; lora?: object; training?: object }, limit = wasm) {
  const base = {
    model: over.model ?? modelDir,
    dataset: join(root, 'data'),
    lora: { lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], ...over.lora },
    training: { max_steps: 3, batch_size: 4, max_seq_len: 64, ...over.training },
  };
  const s = expandSuite({ name: 'p', type: 'single', base }, 'p.yaml');
  return planRun(s.runs[0], { prepare, matmulGflops: 10, memoryLimit: limit });
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 5, maxPositions: 128 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('memory the backend has', () => {
  test('wasm: its 4 GiB heap, or the RAM when there is less; cpu: RAM; GPU backends: nvidia-smi memory, else RAM', () => {
    expect(wasm).toEqual({ bytes: WASM_MAX_HEAP_BYTES, what: "wasm's 4 GiB linear memory" });
    expect(memoryLimit('wasm', { totalRam: 2 * GiB })).toEqual({ bytes: 2 * GiB, what: "the machine's 2.0 GiB of RAM" });
    expect(memoryLimit('cpu', { totalRam: 8 * GiB }).bytes).toBe(8 * GiB);
    expect(h100).toEqual({ bytes: 81559 * 2 ** 20, what: "NVIDIA H100 80GB HBM3's 79.6 GiB" });
    expect(memoryLimit('webgpu', { totalRam: 16 * GiB, gpus: null })).toEqual({ bytes: 16 * GiB, what: "the machine's 16.0 GiB of RAM (device memory unknown)" });
  });
});

describe('will not fit', () => {
  test('a small run fits and says so', () => {
    const row = plan({});
    expect(row).toMatchObject({ ok: true, fits: true, memory_limit_bytes: WASM_MAX_HEAP_BYTES });
    expect(row.est_peak_bytes!).toBeLessThan(50 * 2 ** 20);
  });

  test('r = 200000 on the bundled model will not fit wasm\'s 4 GiB', () => {
    const row = plan({ model: 'models/tiny-llama', lora: { r: 200_000 }, training: { batch_size: 8, max_seq_len: 96 } });
    expect(row.ok).toBe(false);
    expect(row.fits).toBe(false);
    expect(row.error).toMatch(/^will not fit: estimated peak \d+\.\d\d GiB > 4\.00 GiB, wasm's 4 GiB linear memory$/);
    // q_proj 128→128 and v_proj 128→64 in each of 4 layers: r·(in + out) each; the weights,
    // their gradients and two Adam moments alone (16 bytes a parameter) pass 4 GiB.
    const trainable = 200_000 * 4 * (128 + 128 + 128 + 64);
    expect(row.trainable_params).toBe(trainable);
    expect(trainable * 16).toBeGreaterThan(WASM_MAX_HEAP_BYTES);
  });

  test('batch_size 1e8 will not fit', () => {
    const row = plan({ training: { batch_size: 1e8 } });
    expect(row.fits).toBe(false);
    expect(row.error).toMatch(/^will not fit: estimated peak [\d.]+ GiB > 4\.00 GiB/);
  });

  test('a 2 TB checkpoint (read from its safetensors header) will not fit an 80 GB GPU', () => {
    const dir = join(root, 'big');
    mkdirSync(dir);
    const config = {
      model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 32000, hidden_size: 32768, intermediate_size: 131072,
      num_hidden_layers: 60, num_attention_heads: 256, num_key_value_heads: 256, max_position_embeddings: 4096, rms_norm_eps: 1e-5,
      tie_word_embeddings: false,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
    const size = writeHeaderOnlyWeights(dir, config, 'BF16');
    expect(size).toBeGreaterThan(2e12);
    const row = plan({ model: dir }, h100);
    expect(row.fits).toBe(false);
    expect(row.base_weight_bytes!).toBeGreaterThan(2 * size - 1e9); // float32 in memory: twice the BF16 file
    expect(row.error).toMatch(/^will not fit: estimated peak \d+\.\d\d GiB > 79\.65 GiB, NVIDIA H100 80GB HBM3's 79\.6 GiB$/);
  });
});

describe('shapes come from the weights, not config.json alone', () => {
  test('a config.json that claims other sizes than its safetensors holds is refused, naming tensors and shapes', async () => {
    const dir = join(root, 'lying');
    await writeTinyModel(dir, { modelType: 'llama', seed: 5, maxPositions: 128 });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, hidden_size: 4096, intermediate_size: 11008 }));
    const row = plan({ model: dir });
    expect(row.ok).toBe(false);
    expect(row.error).toMatch(
      new RegExp(`config\\.json does not describe its weights: model\\.embed_tokens\\.weight is \\[${cfg.vocab_size},4096\\] by config\\.json but \\[${cfg.vocab_size},${cfg.hidden_size}\\] in model\\.safetensors`),
    );
  });
});
