import { normalizeAnswer, normalizeStrict } from './text-normalize.js';

/**
 * `normalized` (the default) compares SQuAD-normalised strings (see `normalizeAnswer`);
 * `strict` compares the strings after trimming only, so case and punctuation count.
 */
export type ExactMatchMode = 'normalized' | 'strict';

/**
 * Exact match of one prediction against one or more references: 1 if it equals any of them
 * after normalisation, else 0 (SQuAD takes the max over the ground truths the same way).
 * A number rather than a boolean so that a corpus score is the plain mean.
 */
export function exactMatch(
  prediction: string,
  reference: string | readonly string[],
  mode: ExactMatchMode = 'normalized',
): 0 | 1 {
  const normalize = mode === 'strict' ? normalizeStrict : normalizeAnswer;
  const pred = normalize(prediction);
  const refs = typeof reference === 'string' ? [reference] : reference;
  return refs.some((ref) => normalize(ref) === pred) ? 1 : 0;
}

/** `exactMatch(prediction, reference, 'strict')`. */
export function exactMatchStrict(prediction: string, reference: string | readonly string[]): 0 | 1 {
  return exactMatch(prediction, reference, 'strict');
}
