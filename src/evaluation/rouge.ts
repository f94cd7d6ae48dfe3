/**
 * ROUGE-L (Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries", §3.1):
 * sentence-level longest common subsequence of tokens, with
 * precision = LCS / |prediction|, recall = LCS / |reference| and F1 = 2PR / (P + R).
 *
 * It reproduces Google's `rouge-score` package (`rouge_scorer.RougeScorer(['rougeL'])`, default
 * settings, no stemmer) exactly, so scores can be checked in Python:
 * - tokens: `text.lower()`, every run of characters outside `[a-z0-9]` becomes a space, split on
 *   whitespace, keep non-empty tokens (`rouge/tokenize.py`). Non-ASCII letters are therefore
 *   dropped, not kept: "café" → ["caf"], "naïve" → ["na", "ve"]; text with no ASCII letters or
 *   digits has no tokens at all;
 * - if either side has no tokens, all three scores are 0 (`_score_lcs`), even when both are empty;
 * - F1 is 0 when P + R = 0 (`scoring.fmeasure`).
 * `rougeLsum` (summary-level, newline-split) is not implemented: generations here are one answer.
 */

export interface RougeScore {
  precision: number;
  recall: number;
  f1: number;
}

const NON_ALPHANUMERIC = /[^a-z0-9]+/g;

/** The `rouge-score` default tokenizer (no stemming). */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(NON_ALPHANUMERIC, ' ')
    .split(' ')
    .filter((token) => token.length > 0);
}

/** Length of the longest common subsequence; O(|a|·|b|) time, O(min) memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  let prev = new Uint32Array(short.length + 1);
  let curr = new Uint32Array(short.length + 1);
  for (let i = 1; i <= long.length; i++) {
    const token = long[i - 1];
    for (let j = 1; j <= short.length; j++) {
      curr[j] = token === short[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], curr[j - 1]);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[short.length];
}

/** F-measure as `rouge-score` computes it (0 when both inputs are 0). */
export function fMeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** ROUGE-L on already tokenised sequences. */
export function rougeLTokens(prediction: readonly string[], reference: readonly string[]): RougeScore {
  if (prediction.length === 0 || reference.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const lcs = lcsLength(prediction, reference);
  const precision = lcs / prediction.length;
  const recall = lcs / reference.length;
  return { precision, recall, f1: fMeasure(precision, recall) };
}

/**
 * ROUGE-L of a prediction against one reference, or against several: then the score with the
 * highest F1 is kept (`RougeScorer.score_multi`; the first one wins a tie).
 */
export function rougeL(prediction: string, reference: string | readonly string[]): RougeScore {
  const pred = rougeTokenize(prediction);
  const refs = typeof reference === 'string' ? [reference] : reference;
  let best: RougeScore = { precision: 0, recall: 0, f1: 0 };
  let first = true;
  for (const ref of refs) {
    const score = rougeLTokens(pred, rougeTokenize(ref));
    if (first || score.f1 > best.f1) best = score;
    first = false;
  }
  return best;
}
