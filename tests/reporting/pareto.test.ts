import { describe, expect, it } from 'vitest';
import { stat } from '../../src/reporting/aggregate.js';
import { dominatedBy } from '../../src/reporting/pareto.js';

describe('dominatedBy', () => {
  const pts = [
    { quality: 0.3, cost: 1 }, // cheapest: optimal
    { quality: 0.5, cost: 4 }, // optimal
    { quality: 0.4, cost: 8 }, // dominated by the 0.5 @ 4
    { quality: 0.6, cost: 16 }, // best: optimal
    { quality: 0.5, cost: 4 }, // a tie is not domination
  ];
  it('finds the dominated points when higher quality is better', () => {
    expect(dominatedBy(pts, 'higher')).toEqual([-1, -1, 1, -1, -1]);
  });
  it('flips with lower-is-better quality (a loss)', () => {
    // As losses: 0.3 @ 1 is now the best and cheapest, dominating everything else.
    expect(dominatedBy(pts, 'lower')).toEqual([-1, 0, 0, 0, 0]);
  });
});

describe('stat', () => {
  it('mean, min, max and sample std, ignoring NaN', () => {
    expect(stat([1, 2, 3, Number.NaN])).toEqual({ mean: 2, min: 1, max: 3, std: 1, n: 3 });
    expect(stat([Number.NaN])).toBeNull();
  });
});
