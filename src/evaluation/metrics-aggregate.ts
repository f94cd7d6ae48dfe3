import { exactMatch } from './metrics-exact-match.js';
import { rougeL, type RougeScore } from './rouge.js';

/**
 * Arithmetic mean; `null` for an empty list, so that "no examples" can never be mistaken for a
 * score of 0 or print as NaN.
 */
export function meanOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** One generation and the reference(s) it is scored against. */
export interface GenerationPair {
  prediction: string;
  reference: string | readonly string[];
}

/** Per-example scores of one generation. */
export interface GenerationScores {
  exactMatch: 0 | 1;
  exactMatchStrict: 0 | 1;
  rougeL: RougeScore;
}

/** Corpus scores: each field is the mean over examples (macro average), `count` the examples. */
export interface CorpusGenerationScores {
  count: number;
  exactMatch: number;
  exactMatchStrict: number;
  rougeL: RougeScore;
}

export function scoreGeneration(pair: GenerationPair): GenerationScores {
  return {
    exactMatch: exactMatch(pair.prediction, pair.reference, 'normalized'),
    exactMatchStrict: exactMatch(pair.prediction, pair.reference, 'strict'),
    rougeL: rougeL(pair.prediction, pair.reference),
  };
}

/**
 * Mean of per-example scores. ROUGE-L precision, recall and F1 are each averaged separately
 * (so the mean F1 is not the F1 of the mean P and R). `rouge-score`'s BootstrapAggregator, and
 * HF `evaluate` through it, report as `mid` the median of bootstrap-resampled means, which
 * estimates this same mean with resampling noise; this is the exact value.
 * Returns `null` for no examples.
 */
export function aggregateGenerationScores(scores: readonly GenerationScores[]): CorpusGenerationScores | null {
  if (scores.length === 0) return null;
  const mean = (pick: (s: GenerationScores) => number) => meanOf(scores.map(pick)) as number;
  return {
    count: scores.length,
    exactMatch: mean((s) => s.exactMatch),
    exactMatchStrict: mean((s) => s.exactMatchStrict),
    rougeL: {
      precision: mean((s) => s.rougeL.precision),
      recall: mean((s) => s.rougeL.recall),
      f1: mean((s) => s.rougeL.f1),
    },
  };
}

/** `aggregateGenerationScores(pairs.map(scoreGeneration))`. */
export function scoreGenerations(pairs: readonly GenerationPair[]): CorpusGenerationScores | null {
  return aggregateGenerationScores(pairs.map(scoreGeneration));
}
