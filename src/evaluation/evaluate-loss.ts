import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm.js';
import { toTensors } from '../training/batch-tensors.js';
import { collate, type TokenizedExample } from '../training/batching.js';
import { causalLmLossSum } from '../training/loss.js';
import { checkpointInterrupt } from './interrupt.js';
import { LossAccumulator, type LossSummary } from './metrics-loss.js';

/**
 * Mean cross-entropy over every `labels != -100` position of the given rows (next-token
 * shifted, token-weighted over the whole split: the HF definition), plus perplexity and
 * next-token accuracy. Batches are right-padded; padding never counts. Between batches, a set
 * `shouldStop` (Ctrl-C) throws EvaluationInterruptedError.
 */
export async function evaluateLoss(
  model: CausalLM,
  rows: TokenizedExample[],
  opts: { batchSize: number; maxSeqLen: number; padId: number; shouldStop?: () => boolean },
): Promise<LossSummary> {
  const acc = new LossAccumulator();
  for (let i = 0; i < rows.length; i += opts.batchSize) {
    if (i > 0) await checkpointInterrupt(opts.shouldStop, `loss, after ${i} of ${rows.length} rows`);
    const hb = collate(rows.slice(i, i + opts.batchSize), opts.maxSeqLen, opts.padId);
    const sums = tf.tidy(() => {
      const bt = toTensors(hb);
      const { logits } = model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask });
      const r = causalLmLossSum(logits, bt.labels);
      return tf.stack([r.sum, tf.cast(r.count, 'float32'), tf.cast(r.correct, 'float32')]);
    });
    // One asynchronous read per batch: WebGPU has no synchronous read under Node.
    const [sumLoss, tokens, correct] = await sums.data();
    sums.dispose();
    acc.add({ sumLoss, tokens, correct });
  }
  return acc.summary();
}
