/**
 * A small byte-level BPE trainer (Sennrich et al. 2016, in GPT-2's byte-level form): counts
 * adjacent symbol pairs over the pre-tokenized corpus and merges the most frequent pair until
 * the vocabulary is full. Ties break on the pair's text, so the result depends only on the
 * corpus. Tokenizing is left to @huggingface/tokenizers; this only learns the merges.
 */
import { bytesToUnicode, byteLevelWords } from './byte-level.js';

export interface TrainBpeOptions {
  /** Texts to learn from; special tokens must already be removed. */
  texts: Iterable<string>;
  /** Number of merges to learn (the vocabulary is 256 bytes + merges + special tokens). */
  merges: number;
  /**
   * Characters a merge may not contain. Default: the digits, so every number is spelled
   * digit by digit, which keeps arithmetic-like tasks learnable for a tiny model.
   */
  unmergeable?: RegExp;
}

export interface TrainedBpe {
  /** Token string → id: the 256 byte symbols (id = byte value), then each merge's product. */
  vocab: Map<string, number>;
  /** Merges in priority order, each as its two symbols. */
  merges: Array<[string, string]>;
}

export function trainBpe(opts: TrainBpeOptions): TrainedBpe {
  const table = bytesToUnicode();
  const unmergeable = opts.unmergeable ?? /[0-9]/;
  const counts = new Map<string, number>();
  for (const text of opts.texts) for (const w of byteLevelWords(text, table)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()].map(([w, count]) => ({ symbols: [...w], count }));

  const vocab = new Map<string, number>();
  table.forEach((ch, b) => vocab.set(ch, b));
  const merges: Array<[string, string]> = [];
  while (merges.length < opts.merges) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const a = symbols[i];
        const b = symbols[i + 1];
        if (unmergeable.test(a) || unmergeable.test(b)) continue;
        const key = `${a} ${b}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1; // a pair seen once is not worth a token
    for (const [key, c] of pairCounts) {
      if (c > bestCount || (c === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best === null) break;
    // Byte-level symbols never contain a space (0x20 is written as Ġ), so the split is exact.
    const [a, b] = best.split(' ') as [string, string];
    const merged = a + b;
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const w of words) {
      const s = w.symbols;
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(s[i]);
      }
      w.symbols = out;
    }
  }
  return { vocab, merges };
}
