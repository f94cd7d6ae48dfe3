import { describe, expect, test } from 'vitest';
import { EmptyEvaluationError, LossAccumulator, perplexity } from '../../src/evaluation/metrics-loss.js';
import { lossStatsFromLogits } from '../../src/evaluation/metrics-loss-reference.js';

describe('perplexity', () => {
  test('known losses', () => {
    expect(perplexity(0)).toBe(1);
    expect(perplexity(Math.log(10))).toBeCloseTo(10, 12);
    expect(perplexity(2)).toBeCloseTo(7.38905609893065, 12);
    expect(perplexity(Math.log(32000))).toBeCloseTo(32000, 6); // uniform over a 32k vocabulary
    expect(perplexity(1000)).toBe(Infinity);
  });
  test('rejects what is not a loss', () => {
    expect(() => perplexity(Number.NaN)).toThrow(RangeError);
    expect(() => perplexity(-0.1)).toThrow(/≥ 0/);
  });
});

describe('LossAccumulator', () => {
  test('weights every token equally across batches of different sizes', () => {
    const acc = new LossAccumulator()
      .add({ sumLoss: 6, tokens: 2, correct: 1 }) // batch mean 3
      .add({ sumLoss: 8, tokens: 8, correct: 6 }); // batch mean 1
    const s = acc.summary();
    expect(s.meanLoss).toBeCloseTo(14 / 10, 15); // a mean of batch means would say 2
    expect(s.perplexity).toBeCloseTo(Math.exp(1.4), 12);
    expect(s.accuracy).toBeCloseTo(0.7, 15);
    expect(s.tokens).toBe(10);
    expect(s.batches).toBe(2);
  });

  test('a batch with no labelled tokens counts as a batch and moves nothing', () => {
    const acc = new LossAccumulator().add({ sumLoss: 3, tokens: 3, correct: 0 }).add({ sumLoss: 0, tokens: 0, correct: 0 });
    expect(acc.summary()).toMatchObject({ meanLoss: 1, tokens: 3, batches: 2 });
  });

  test('merging equals accumulating in one place', () => {
    const a = new LossAccumulator().add({ sumLoss: 6, tokens: 2, correct: 1 });
    const b = new LossAccumulator().add({ sumLoss: 5, tokens: 4, correct: 2 }).add({ sumLoss: 3, tokens: 4, correct: 4 });
    expect(a.merge(b).summary()).toEqual(
      new LossAccumulator()
        .add({ sumLoss: 6, tokens: 2, correct: 1 })
        .add({ sumLoss: 5, tokens: 4, correct: 2 })
        .add({ sumLoss: 3, tokens: 4, correct: 4 })
        .summary(),
    );
  });

  test('compensated sum keeps small batches that plain summation would drop', () => {
    const acc = new LossAccumulator().add({ sumLoss: 1e16, tokens: 1, correct: 0 });
    for (let i = 0; i < 10; i++) acc.add({ sumLoss: 1, tokens: 1, correct: 0 });
    expect(acc.totals().sumLoss).toBe(1e16 + 10); // naive float64 summation gives 1e16
  });

  test('an empty split is an error, not NaN', () => {
    expect(() => new LossAccumulator().summary()).toThrow(EmptyEvaluationError);
    expect(() => new LossAccumulator().add({ sumLoss: 0, tokens: 0, correct: 0 }).summary()).toThrow(/no labelled tokens/);
  });

  test('rejects inconsistent sums', () => {
    const acc = new LossAccumulator();
    expect(() => acc.add({ sumLoss: 1, tokens: 2, correct: 3 })).toThrow(/correct/);
    expect(() => acc.add({ sumLoss: Number.NaN, tokens: 2, correct: 0 })).toThrow(/sumLoss/);
    expect(() => acc.add({ sumLoss: 1, tokens: 0, correct: 0 })).toThrow(/tokens=0/);
    expect(() => acc.add({ sumLoss: 1, tokens: 1.5, correct: 0 })).toThrow(/integer/);
  });
});

describe('lossStatsFromLogits (host reference of the HF loss)', () => {
  // B=1, T=3, V=2. Position 0 predicts labels[1], position 1 predicts labels[2]; position 2 has no target.
  const logits = new Float32Array([0, 0, Math.log(3), 0, 5, -5]);

  test('shifted, masked cross-entropy and top-1 by hand', () => {
    // pos 0: logits [0, 0], label 0 → NLL ln 2, argmax 0 (first of a tie) = label
    // pos 1: logits [ln 3, 0], label 1 → NLL ln(3 + 1) − 0 = ln 4, argmax 0 ≠ label
    const s = lossStatsFromLogits({ logits, labels: [-100, 0, 1], batchSize: 1, seqLen: 3, vocabSize: 2 });
    expect(s.tokens).toBe(2);
    expect(s.correct).toBe(1);
    expect(s.sumLoss).toBeCloseTo(Math.log(8), 6);
  });

  test('-100 anywhere removes exactly that target', () => {
    const s = lossStatsFromLogits({ logits, labels: [7, -100, 1], batchSize: 1, seqLen: 3, vocabSize: 2 });
    expect(s).toMatchObject({ tokens: 1, correct: 0 });
    expect(s.sumLoss).toBeCloseTo(Math.log(4), 6); // labels[0] is never a target, so 7 is not checked
  });

  test('feeds the accumulator: two sequences of different lengths weigh by tokens', () => {
    const acc = new LossAccumulator()
      .add(lossStatsFromLogits({ logits, labels: [-100, 0, 1], batchSize: 1, seqLen: 3, vocabSize: 2 }))
      .add(lossStatsFromLogits({ logits, labels: [-100, -100, 1], batchSize: 1, seqLen: 3, vocabSize: 2 }));
    expect(acc.summary().meanLoss).toBeCloseTo((Math.log(8) + Math.log(4)) / 3, 6);
  });

  test('shape and label range are checked', () => {
    expect(() => lossStatsFromLogits({ logits, labels: [0, 0], batchSize: 1, seqLen: 3, vocabSize: 2 })).toThrow(/expected/);
    expect(() => lossStatsFromLogits({ logits, labels: [0, 2, 0], batchSize: 1, seqLen: 3, vocabSize: 2 })).toThrow(
      /outside \[0, 2\)/,
    );
  });
});
