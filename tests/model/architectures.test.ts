import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../../src/model/load-model.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

/**
 * Logits against an independent PyTorch transcription of Hugging Face's eager forward passes
 * (scripts/reference/hf_reference.py, itself checked against transformers 5.17 to 5.4e-6).
 */
interface Case {
  name: string;
  input_ids: number[][];
  attention_mask: number[][] | null;
  position_ids: number[][];
  logits: Array<Array<number[] | null>>;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'reference');

beforeAll(useCpuBackend);

describe.each(['llama-gqa-untied', 'qwen2-bias-tied', 'gpt2', 'gpt2-untied', 'phi', 'phi-qk-layernorm-gqa', 'phi3', 'gemma'])('%s matches the Hugging Face reference', (fixture) => {
  const { cases } = JSON.parse(readFileSync(join(FIXTURES, fixture, 'expected.json'), 'utf8')) as { cases: Case[] };

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { model } = await loadModel(join(FIXTURES, fixture));
    const [B, T] = [c.input_ids.length, c.input_ids[0].length];
    const logits = tf.tidy(() =>
      model.forward({
        inputIds: tf.tensor2d(c.input_ids, [B, T], 'int32'),
        attentionMask: c.attention_mask ? tf.tensor2d(c.attention_mask, [B, T], 'int32') : null,
        positionIds: tf.tensor2d(c.position_ids, [B, T], 'int32'),
      }).logits.arraySync(),
    ) as number[][][];
    let compared = 0;
    let maxErr = 0;
    c.logits.forEach((row, b) =>
      row.forEach((expected, t) => {
        if (!expected) return; // padding positions: HF's values there are an artefact of masking
        expected.forEach((e, v) => {
          maxErr = Math.max(maxErr, Math.abs(logits[b][t][v] - e) / (1 + Math.abs(e)));
          compared++;
        });
      }),
    );
    expect(compared).toBeGreaterThan(0);
    expect(maxErr).toBeLessThan(2e-5);
    model.dispose();
  });
});
