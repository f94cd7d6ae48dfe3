import { describe, expect, test } from 'vitest';
import { groupVariants } from '../../src/reporting/aggregate.js';
import { cheapestFinding, rankingFinding, timingFinding } from '../../src/reporting/findings.js';
import { compareBySeeds, compareTimes, spreadOf } from '../../src/reporting/noise.js';
import type { RunDetail } from '../../src/tracking/index.js';

/** A synthetic completed run: one setting × one seed, with its exact match and per-step times. */
let nextId = 1;
function run(variant: string, seed: number, em: number, stepMs: number[], trainable = 1000): RunDetail {
  return {
    id: nextId++, suiteId: 1, suiteName: 's', name: `s-${variant}-s${seed}`, experimentType: 'method', variant,
    variedPath: null, variedValue: null, rank: 8, targetModules: null, quantization: 'fp32', model: 'm', dataset: 'd',
    config: {}, configHash: 'h', seed, status: 'completed', createdAt: '', startedAt: null, finishedAt: null, wallTimeS: 1,
    error: null, backend: 'cpu', device: 'cpu', packageVersions: null, gitCommit: null, hostname: null, pid: null,
    metrics: { exact_match: { value: em, unit: null }, trainable_params: { value: trainable, unit: null } },
    steps: stepMs.map((ms, step) => ({ step, loss: 1, lr: 1e-3, gradNorm: 1, tokensPerS: 1, elapsedS: step, evalLoss: null, extra: { ms_fwd_bwd: ms, ms_optimizer: 0 } })),
    artifacts: [],
  };
}
const em = { name: 'exact_match', better: 'higher' as const };
/** Three seeds of a setting with these exact-match values and step times around `ms`. */
const setting = (label: string, ems: number[], ms: number, jitter: number, trainable = 1000): RunDetail[] =>
  ems.map((e, seed) => run(label, seed, e, Array.from({ length: 24 }, (_, i) => ms + jitter * Math.sin(i * 1.7 + seed)), trainable));

describe('the seed-spread rule', () => {
  test('compareBySeeds: overlapping ranges are within noise, disjoint ones a difference, one seed unknown', () => {
    const s = (xs: number[]) => ({ mean: xs.reduce((a, b) => a + b) / xs.length, min: Math.min(...xs), max: Math.max(...xs), std: 0, n: xs.length });
    expect(compareBySeeds(s([0.5, 0.6]), s([0.55, 0.7]), 'higher')).toBe('within noise');
    expect(compareBySeeds(s([0.5, 0.6]), s([0.3, 0.4]), 'higher')).toBe('better');
    expect(compareBySeeds(s([0.5, 0.6]), s([0.3, 0.4]), 'lower')).toBe('worse');
    expect(compareBySeeds(s([0.9]), s([0.1]), 'higher')).toBe('unknown');
  });

  test('a quality difference inside the seed spread is not claimed', () => {
    // Issue 14's real numbers: r=8 0.44/0.34/0.53 vs r=16 0.52/0.55/0.36 overlap.
    const vs = groupVariants([...setting('r=8', [0.44, 0.34, 0.53], 10, 1), ...setting('r=16', [0.52, 0.55, 0.36], 10, 1)]);
    const [text] = rankingFinding('method', vs, em);
    expect(text).toMatch(/\*\*r=16\*\* 0\.48 ± 0\.10, \*\*r=8\*\* 0\.437 ± 0\.095/);
    expect(text).toContain('no ranking is claimed (within noise)');
    expect(text).not.toMatch(/worse beyond/);
  });

  test('a quality difference beyond the seed spread is claimed, and the ties are named', () => {
    const vs = groupVariants([
      ...setting('r=8', [0.44, 0.34, 0.53], 10, 1, 100),
      ...setting('r=16', [0.52, 0.55, 0.36], 10, 1, 200),
      ...setting('r=32', [0, 0.13, 0.15], 10, 1, 400),
    ]);
    const [text] = rankingFinding('method', vs, em);
    expect(text).toMatch(/\*\*r=16\*\* has the best mean; within noise of it: \*\*r=8\*\*; worse beyond the seed spread: \*\*r=32\*\*\./);
    expect(cheapestFinding('method', vs, em)[0]).toMatch(/^\*\*r=8\*\* is the cheapest setting within the seed spread of the best mean exact match \(\*\*r=16\*\*.* with 50% of its trainable parameters/);
  });

  test('with one seed nothing is ranked', () => {
    const vs = groupVariants([run('a', 0, 0.9, [10, 10, 10]), run('b', 0, 0.1, [10, 10, 10])]);
    const [text] = rankingFinding('method', vs, em);
    expect(text).toContain('one seed per setting');
    expect(text).toContain('no setting is called better than another');
  });

  test('time per step: overlapping interquartile ranges are within noise, disjoint ones a speed-up', () => {
    expect(compareTimes(spreadOf([9, 10, 11, 12]), spreadOf([10, 11, 12, 13]))).toBe('within noise');
    expect(compareTimes(spreadOf([9, 10, 11]), spreadOf([20, 21, 22]))).toBe('faster');
    const noisy = groupVariants([...setting('a', [0.5, 0.5, 0.5], 40, 8), ...setting('b', [0.5, 0.5, 0.5], 44, 8)]);
    expect(timingFinding('method', noisy)[0]).toMatch(/ranges overlap, so no setting is called faster \(within timing noise\)/);
    const clear = groupVariants([...setting('a', [0.5, 0.5, 0.5], 40, 2), ...setting('b', [0.5, 0.5, 0.5], 80, 2)]);
    expect(timingFinding('method', clear)[0]).toMatch(/\*\*a\*\* [\d.]+ ms\/step \(IQR [\d.]+–[\d.]+\) is faster than \*\*b\*\* .* 2× beyond the timing spread/);
  });
});
