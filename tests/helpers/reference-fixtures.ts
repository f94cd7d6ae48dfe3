import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../../src/model/causal-lm.js';

/**
 * Logits from an independent PyTorch transcription of Hugging Face's eager forward passes
 * (scripts/reference/hf_reference.py, itself checked against transformers 5.17 to 5.4e-6),
 * stored in tests/fixtures/reference/<fixture>/expected.json beside the model folder.
 */
export interface ReferenceCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][] | null;
  position_ids: number[][];
  logits: Array<Array<number[] | null>>;
}

export const REFERENCE_DIR = join(import.meta.dirname, '..', 'fixtures', 'reference');

export function referenceCases(fixture: string): ReferenceCase[] {
  return (JSON.parse(readFileSync(join(REFERENCE_DIR, fixture, 'expected.json'), 'utf8')) as { cases: ReferenceCase[] }).cases;
}

/**
 * The model's logits for one case, read back asynchronously (any backend), and the largest
 * relative error `|got − ref| / (1 + |ref|)` over the non-padding positions compared.
 */
export async function compareToReference(model: CausalLM, c: ReferenceCase): Promise<{ maxErr: number; compared: number }> {
  const [B, T] = [c.input_ids.length, c.input_ids[0].length];
  const t = tf.tidy(() =>
    model.forward({
      inputIds: tf.tensor2d(c.input_ids, [B, T], 'int32'),
      attentionMask: c.attention_mask ? tf.tensor2d(c.attention_mask, [B, T], 'int32') : null,
      positionIds: tf.tensor2d(c.position_ids, [B, T], 'int32'),
    }).logits,
  );
  const logits = (await t.array()) as number[][][];
  t.dispose();
  let compared = 0;
  let maxErr = 0;
  c.logits.forEach((row, b) =>
    row.forEach((expected, p) => {
      if (!expected) return; // padding positions: HF's values there are an artefact of masking
      expected.forEach((e, v) => {
        maxErr = Math.max(maxErr, Math.abs(logits[b][p][v] - e) / (1 + Math.abs(e)));
        compared++;
      });
    }),
  );
  return { maxErr, compared };
}
