import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../../src/model/load-model.js';
import { compareToReference, REFERENCE_DIR, referenceCases } from '../helpers/reference-fixtures.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

/** Logits against an independent PyTorch transcription of Hugging Face's forward passes (see the helper). */
beforeAll(useCpuBackend);

describe.each(['llama-gqa-untied', 'qwen2-bias-tied', 'gpt2', 'gpt2-untied', 'phi', 'phi-qk-layernorm-gqa', 'phi3', 'gemma'])('%s matches the Hugging Face reference', (fixture) => {
  test.each(referenceCases(fixture).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { model } = await loadModel(join(REFERENCE_DIR, fixture));
    const { maxErr, compared } = await compareToReference(model, c);
    expect(compared).toBeGreaterThan(0);
    expect(maxErr).toBeLessThan(2e-5);
    model.dispose();
  });
});
