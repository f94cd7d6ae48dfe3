import type { BatchLossStats } from './metrics-loss.js';

/** Label value that the loss ignores (the Hugging Face / PyTorch `ignore_index`). */
export const IGNORE_INDEX = -100;

export interface LogitsBatch {
  /** Row-major `[B, T, V]`. */
  logits: Float32Array | Float64Array | readonly number[];
  /** Row-major `[B, T]`, aligned with `input_ids` (unshifted), `-100` where ignored. */
  labels: Int32Array | readonly number[];
  batchSize: number;
  seqLen: number;
  vocabSize: number;
}

/**
 * The HF causal-LM loss sums of one batch, computed on the host in float64: logits at position t
 * are scored against `labels[t + 1]` (the shift happens here, as in `LlamaForCausalLM`), positions
 * whose shifted label is -100 are skipped, and the NLL is `logsumexp(logits) − logits[label]`.
 * Top-1 is the first index of the maximum logit, as `torch.argmax`.
 *
 * This is the independent reference the tfjs loss is tested against, and what an outside
 * implementation would compute from the same `labels`; it is too slow for real vocabularies.
 */
export function lossStatsFromLogits(batch: LogitsBatch): BatchLossStats {
  const { logits, labels, batchSize: B, seqLen: T, vocabSize: V } = batch;
  if (logits.length !== B * T * V || labels.length !== B * T) {
    throw new RangeError(
      `lossStatsFromLogits: expected logits ${B}·${T}·${V}=${B * T * V} and labels ${B}·${T}=${B * T} values, ` +
        `got ${logits.length} and ${labels.length}`,
    );
  }
  let sumLoss = 0;
  let tokens = 0;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const label = labels[b * T + t + 1];
      if (label === IGNORE_INDEX) continue;
      if (!Number.isInteger(label) || label < 0 || label >= V) {
        throw new RangeError(`lossStatsFromLogits: label ${label} at [${b}, ${t + 1}] is outside [0, ${V}) and not -100`);
      }
      const row = (b * T + t) * V;
      let max = -Infinity;
      let argmax = 0;
      for (let v = 0; v < V; v++) {
        if (logits[row + v] > max) {
          max = logits[row + v];
          argmax = v;
        }
      }
      let sumExp = 0;
      for (let v = 0; v < V; v++) sumExp += Math.exp(logits[row + v] - max);
      sumLoss += max + Math.log(sumExp) - logits[row + label];
      tokens += 1;
      if (argmax === label) correct += 1;
    }
  }
  return { sumLoss, tokens, correct };
}
