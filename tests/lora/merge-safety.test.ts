import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MERGE_MARKER, mergeAndExport } from '../../src/lora/merge-export.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'merge-safety-'));
const model = join(root, 'model');
const adapter = join(root, 'adapter');
const HIDDEN = 16;
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function writeAdapter(dir: string, fillB: (i: number) => number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = 2;
  const m = 'model.layers.0.self_attn.q_proj';
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), {
    [`base_model.model.${m}.lora_A.weight`]: { shape: [r, HIDDEN], data: Float32Array.from({ length: r * HIDDEN }, (_, i) => (i % 7) / 10) },
    [`base_model.model.${m}.lora_B.weight`]: { shape: [HIDDEN, r], data: Float32Array.from({ length: HIDDEN * r }, (_, i) => fillB(i)) },
  });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r, lora_alpha: 4, target_modules: ['q_proj'], lora_dropout: 0, task_type: 'CAUSAL_LM', base_model_name_or_path: 'x' }));
}

beforeAll(async () => {
  await useCpuBackend();
  await writeTinyModel(model, { modelType: 'llama', seed: 1, hiddenSize: HIDDEN, numLayers: 1, numHeads: 2 });
  await writeAdapter(adapter, (i) => (i % 5) / 20);
});

const merge = (out: string, more: Partial<Parameters<typeof mergeAndExport>[0]> = {}) =>
  mergeAndExport({ modelDir: model, adapterDir: adapter, outDir: out, ...more });

describe('merge never deletes what it did not write', () => {
  it('writes a marker, and replaces its own earlier output', async () => {
    const out = join(root, 'merged');
    await merge(out);
    const marker = JSON.parse(readFileSync(join(out, MERGE_MARKER), 'utf8'));
    expect(marker).toMatchObject({ base_model: model, adapter, dtype: 'F32', merged_modules: 1 });
    await merge(out, { dtype: 'F16' });
    expect(JSON.parse(readFileSync(join(out, MERGE_MARKER), 'utf8')).dtype).toBe('F16');
  });

  it('refuses an existing non-empty folder it did not write, unless overwrite', async () => {
    const out = join(root, 'precious');
    mkdirSync(out);
    writeFileSync(join(out, 'thesis.tex'), 'years of work');
    await expect(merge(out)).rejects.toThrow(/refusing to replace .*precious: it exists, is not empty and has no lora-study-merge\.json/);
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('years of work');
    await merge(out, { overwrite: true });
    expect(existsSync(join(out, 'thesis.tex'))).toBe(false);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('refuses -o onto its own model or adapter folder, a folder above them, or a symlink to them, even with overwrite', async () => {
    await expect(merge(model, { overwrite: true })).rejects.toThrow(/is the --model input/);
    await expect(merge(adapter, { overwrite: true })).rejects.toThrow(/is the --adapter input/);
    await expect(merge(root, { overwrite: true })).rejects.toThrow(/contains the --model input/);
    const link = join(root, 'link-to-model');
    symlinkSync(model, link);
    await expect(merge(link, { overwrite: true })).rejects.toThrow(/is the --model input/);
    expect(existsSync(join(model, 'model.safetensors'))).toBe(true);
  });

  it('refuses --dtype F8 with the allowed list', async () => {
    await expect(merge(join(root, 'f8'), { dtype: 'F8' })).rejects.toThrow('--dtype F8 is not a dtype merge can write');
    await expect(merge(join(root, 'f8'), { dtype: 'F8' })).rejects.toMatchObject({ hint: 'use one of: F32, F16, BF16' });
  });

  it('refuses NaN or infinite merged weights, naming the tensor', async () => {
    const bad = join(root, 'nan-adapter');
    await writeAdapter(bad, (i) => (i === 3 ? Number.NaN : i === 5 ? Number.POSITIVE_INFINITY : 0.1));
    const out = join(root, 'nan-merged');
    await expect(mergeAndExport({ modelDir: model, adapterDir: bad, outDir: out })).rejects.toThrow(
      /tensor model\.layers\.0\.self_attn\.q_proj\.weight has \d+ non-finite value/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
