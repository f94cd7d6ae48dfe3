import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm.js';
import { toTensors } from '../training/batch-tensors.js';
import { collate, type TokenizedExample } from '../training/batching.js';
import { causalLmLossSum } from '../training/loss.js';
import { LossAccumulator, type LossSummary } from './metrics-loss.js';

/**
 * Mean cross-entropy over every `labels != -100` position of the given rows (next-token
 * shifted, token-weighted over the whole split: the HF definition), plus perplexity and
 * next-token accuracy. Batches are right-padded; padding never counts.
 */
export function evaluateLoss(
  model: CausalLM,
  rows: TokenizedExample[],
  opts: { batchSize: number; maxSeqLen: number; padId: number },
): LossSummary {
  const acc = new LossAccumulator();
  for (let i = 0; i < rows.length; i += opts.batchSize) {
    const hb = collate(rows.slice(i, i + opts.batchSize), opts.maxSeqLen, opts.padId);
    const [sumLoss, tokens, correct] = tf.tidy(() => {
      const bt = toTensors(hb);
      const { logits } = model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask });
      const r = causalLmLossSum(logits, bt.labels);
      return [r.sum.dataSync()[0], r.count.dataSync()[0], r.correct.dataSync()[0]];
    });
    acc.add({ sumLoss, tokens, correct });
  }
  return acc.summary();
}
