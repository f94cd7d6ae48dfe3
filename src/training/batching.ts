import { IGNORE_INDEX } from './loss.js';

/** One tokenized training example (the prepared-dataset row, contract 3). */
export interface TokenizedExample {
  input_ids: number[];
  labels: number[];
}

/** A right-padded batch on the host, ready to become tensors. */
export interface HostBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array; // [B, T]
  attentionMask: Int32Array; // [B, T]
  labels: Int32Array; // [B, T], -100 on padding
  /** Tokens that count in the loss after the next-token shift. */
  lossTokens: number;
  /** Real (non-padding) tokens processed. */
  realTokens: number;
}

/**
 * Truncates each example to `maxSeqLen` and pads the batch to its longest member only
 * (dynamic padding): padding gets attention 0 and label -100, so it changes nothing.
 */
export function collate(examples: TokenizedExample[], maxSeqLen: number, padId: number): HostBatch {
  const lens = examples.map((e) => Math.min(e.input_ids.length, maxSeqLen));
  // A loop, not Math.max(...lens): spreading a large batch overflows the call stack.
  let T = 2;
  for (const len of lens) if (len > T) T = len;
  const B = examples.length;
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  let lossTokens = 0;
  let realTokens = 0;
  examples.forEach((e, b) => {
    for (let t = 0; t < lens[b]; t++) {
      inputIds[b * T + t] = e.input_ids[t];
      attentionMask[b * T + t] = 1;
      labels[b * T + t] = e.labels[t];
      if (t > 0 && e.labels[t] !== IGNORE_INDEX) lossTokens++;
    }
    realTokens += lens[b];
  });
  return { batchSize: B, seqLen: T, inputIds, attentionMask, labels, lossTokens, realTokens };
}
