/**
 * Packs tokenized documents into training windows: whole documents, each followed by EOS,
 * greedily filled up to `windowLen` tokens. Every window starts at a document boundary,
 * because fine-tuning prompts start at position 0 without BOS; the model must know that start.
 * Documents longer than a window are cut. Loss is on every token (labels = input ids).
 */
import type { TokenizedExample } from '../training/batching.js';

export function packDocuments(docs: number[][], opts: { windowLen: number; eosId: number }): TokenizedExample[] {
  const windows: TokenizedExample[] = [];
  let current: number[] = [];
  const flush = (): void => {
    if (current.length > 1) windows.push({ input_ids: current, labels: current.slice() });
    current = [];
  };
  for (const doc of docs) {
    const ids = doc.concat(opts.eosId).slice(0, opts.windowLen);
    if (current.length + ids.length > opts.windowLen) flush();
    current = current.concat(ids);
  }
  flush();
  return windows;
}
