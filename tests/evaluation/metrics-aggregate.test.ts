import { expect, test } from 'vitest';
import { aggregateGenerationScores, meanOf, scoreGenerations } from '../../src/evaluation/metrics-aggregate.js';

test('meanOf', () => {
  expect(meanOf([1, 2, 3, 6])).toBe(3);
  expect(meanOf([])).toBeNull();
});

test('corpus scores are means over examples', () => {
  const s = scoreGenerations([
    { prediction: 'Paris', reference: 'paris' }, // EM 1, strict 0, ROUGE-L 1/1/1
    { prediction: 'the cat sat on the mat', reference: 'the cat is on the mat' }, // EM 0, ROUGE-L 5/6
    { prediction: 'a a a a', reference: 'a b a' }, // EM 0, P 1/2, R 2/3, F 4/7
  ]);
  expect(s).not.toBeNull();
  expect(s!.count).toBe(3);
  expect(s!.exactMatch).toBeCloseTo(1 / 3, 15);
  expect(s!.exactMatchStrict).toBe(0);
  expect(s!.rougeL.precision).toBeCloseTo((1 + 5 / 6 + 1 / 2) / 3, 15);
  expect(s!.rougeL.recall).toBeCloseTo((1 + 5 / 6 + 2 / 3) / 3, 15);
  // the mean of per-example F1, not the F1 of the mean P and R
  expect(s!.rougeL.f1).toBeCloseTo((1 + 5 / 6 + 4 / 7) / 3, 15);
});

test('no examples gives null, not NaN', () => {
  expect(scoreGenerations([])).toBeNull();
  expect(aggregateGenerationScores([])).toBeNull();
});
