import { describe, expect, test } from 'vitest';
import { groupVariants } from '../../src/reporting/aggregate.js';
import { cheapestFinding, rankingFinding, timingFinding } from '../../src/reporting/findings.js';
import { compareBySeeds, compareTimes, spreadOf } from '../../src/reporting/noise.js';
import { methodStudy } from '../../src/studies/method.js';
import type { RunDetail } from '../../src/tracking/index.js';

/** A synthetic completed run: one setting × one seed, with its exact match and per-step times. */
let nextId = 1;
function run(variant: string, seed: number, em: number, stepMs: number[], trainable = 1000, machine: Record<string, number> = {}): RunDetail {
  return {
    id: nextId++, suiteId: 1, suiteName: 's', name: `s-${variant}-s${seed}`, experimentType: 'method', variant,
    variedPath: null, variedValue: null, rank: 8, targetModules: null, quantization: 'fp32', model: 'm', dataset: 'd',
    config: {}, configHash: 'h', seed, status: 'completed', createdAt: '', startedAt: null, finishedAt: null, wallTimeS: 1,
    error: null, backend: 'cpu', device: 'cpu', packageVersions: null, gitCommit: null, hostname: null, pid: null,
    metrics: {
      exact_match: { value: em, unit: null },
      trainable_params: { value: trainable, unit: null },
      ...Object.fromEntries(Object.entries(machine).map(([k, value]) => [k, { value, unit: null }])),
    },
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

  test('time per step: overlapping ranges are within noise, disjoint ones (across runs and within them) a speed-up', () => {
    const noisy = groupVariants([...setting('a', [0.5, 0.5, 0.5], 40, 8), ...setting('b', [0.5, 0.5, 0.5], 44, 8)]);
    expect(compareTimes(noisy[0], noisy[1])).toBe('within noise');
    expect(timingFinding('method', noisy)[0]).toMatch(/ranges overlap, so no setting is called faster \(within timing noise; machine load not recorded for these runs, so it was not checked\)/);
    const clear = groupVariants([...setting('a', [0.5, 0.5, 0.5], 40, 2), ...setting('b', [0.5, 0.5, 0.5], 80, 2)]);
    expect(compareTimes(clear[0], clear[1])).toBe('faster');
    expect(compareTimes(clear[1], clear[0])).toBe('slower');
    expect(timingFinding('method', clear)[0]).toMatch(/\*\*a\*\* [\d.]+ ms\/step \(3 runs [\d.]+–[\d.]+, IQR [\d.]+–[\d.]+\) is faster than \*\*b\*\* .* 2× beyond the spread across and within runs \(machine load not recorded/);
  });
});

/**
 * The method study's wrong claim: "PiSSA 140 ms/step is faster than DoRA 184 ms/step beyond the
 * timing spread", made from the interquartile range of steps pooled over runs, which cannot see
 * load that changes between runs (the PiSSA runs ran after a test suite sharing the cores ended).
 */
describe('timing claims survive load that changes between runs', () => {
  const steps = (ms: number, n = 24): number[] => Array.from({ length: n }, (_, i) => ms + Math.sin(i * 1.7));
  const timedRun = (label: string, seed: number, stepMs: number[], machine: Record<string, number> = {}): RunDetail => run(label, seed, 0.4, stepMs, 1000, machine);
  const onCores = (load: number, cores: number) => ({ load_avg_1m: load, cpu_count: cores });

  test('one setting systematically faster within each run, but its runs overlap the other\'s: no claim', () => {
    // Steady within every run (tight IQRs), but one PiSSA seed ran while the machine got busy halfway:
    // the pooled IQRs do not overlap (today's rule said "faster"), the runs' medians do.
    const vs = groupVariants([
      timedRun('DoRA', 0, steps(184)), timedRun('DoRA', 1, steps(186)), timedRun('DoRA', 2, steps(188)),
      timedRun('PiSSA', 0, steps(140)), timedRun('PiSSA', 1, steps(142)), timedRun('PiSSA', 2, [...steps(150, 12), ...steps(260, 14)]),
    ]);
    const [dora, pissa] = [vs.find((v) => v.label === 'DoRA')!, vs.find((v) => v.label === 'PiSSA')!];
    expect(pissa.stepMs!.p75).toBeLessThan(dora.stepMs!.p25); // the within-run spread alone would claim it
    expect(compareTimes(pissa, dora)).toBe('within noise');
    const [text] = timingFinding('method', vs);
    expect(text).not.toMatch(/is faster than/);
    expect(text).toContain('no setting is called faster (within timing noise');
    expect(text).toMatch(/from [\d.]+ ms\/step \(3 runs 140–2\d\d, IQR 141–150\) \(\*\*PiSSA\*\*\)/);
  });

  test('runs apart across seeds but timed under different recorded load: not comparable, and the report says why', () => {
    // LoRA's own runs took 483, 218 and 185 ms/step while the test suite shared 2 cores; PiSSA ran after it ended.
    const loaded = groupVariants([
      timedRun('LoRA', 0, steps(483), onCores(5.1, 2)), timedRun('LoRA', 1, steps(218), onCores(3.2, 2)), timedRun('LoRA', 2, steps(185), onCores(2.7, 2)),
      timedRun('DoRA', 0, steps(184), onCores(2.4, 2)), timedRun('DoRA', 1, steps(190), onCores(2.5, 2)), timedRun('DoRA', 2, steps(186), onCores(2.6, 2)),
      timedRun('PiSSA', 0, steps(140), onCores(1.9, 2)), timedRun('PiSSA', 1, steps(141), onCores(1.8, 2)), timedRun('PiSSA', 2, steps(142), onCores(1.9, 2)),
    ]);
    const [text] = timingFinding('method', loaded);
    expect(text).not.toMatch(/is faster than/);
    expect(text).toMatch(/The timings are not comparable: the machine's load exceeded its cores during runs s-LoRA-s0 \(load average 5\.1 on 2 cores\), s-LoRA-s1 \(load average 3\.2 on 2 cores\), s-LoRA-s2 \(load average 2\.7 on 2 cores\) and 3 more, so those runs also timed other work; no setting is called faster\./);
    const dora = loaded.find((v) => v.label === 'DoRA')!;
    const pissa = loaded.find((v) => v.label === 'PiSSA')!;
    expect(compareTimes(pissa, dora)).toBe('not comparable');

    // No core oversubscribed, but PiSSA's runs were timed on a much quieter machine than DoRA's.
    const busier = groupVariants([
      timedRun('DoRA', 0, steps(184), onCores(6.5, 16)), timedRun('DoRA', 1, steps(186), onCores(7.1, 16)), timedRun('DoRA', 2, steps(188), onCores(6.8, 16)),
      timedRun('PiSSA', 0, steps(140), onCores(1.2, 16)), timedRun('PiSSA', 1, steps(141), onCores(1.5, 16)), timedRun('PiSSA', 2, steps(142), onCores(1.3, 16)),
    ]);
    expect(timingFinding('method', busier)[0]).toContain("The timings are not comparable: **PiSSA**'s runs were timed at load average 1.2–1.5, **DoRA**'s at 6.5–7.1 (more than 1 apart); no setting is called faster.");
    // The method study's own comparison against plain LoRA says the same, not "faster".
    const ref = groupVariants([
      timedRun('LoRA', 0, steps(184), onCores(6.6, 16)), timedRun('LoRA', 1, steps(185), onCores(6.9, 16)),
      timedRun('PiSSA', 0, steps(140), onCores(1.2, 16)), timedRun('PiSSA', 1, steps(141), onCores(1.5, 16)),
    ]);
    const [line] = methodStudy.findings!(ref, null);
    expect(line).toContain("**PiSSA** against plain LoRA: time per step not compared with **LoRA**'s: the timings are not comparable, as **PiSSA**'s runs were timed at load average 1.2–1.5, **LoRA**'s at 6.6–6.9");
    expect(line).not.toMatch(/faster/);
  });

  test('a genuine difference (runs apart, same load) is claimed, with the spread and load it used', () => {
    const vs = groupVariants([
      timedRun('DoRA', 0, steps(184), onCores(1.9, 4)), timedRun('DoRA', 1, steps(186), onCores(2.1, 4)), timedRun('DoRA', 2, steps(188), onCores(2.0, 4)),
      timedRun('PiSSA', 0, steps(140), onCores(2.0, 4)), timedRun('PiSSA', 1, steps(141), onCores(2.2, 4)), timedRun('PiSSA', 2, steps(142), onCores(1.9, 4)),
    ]);
    const [text] = timingFinding('method', vs);
    expect(text).toMatch(/\*\*PiSSA\*\* 141 ms\/step \(3 runs 140–142, IQR [\d.]+–[\d.]+\) is faster than \*\*DoRA\*\* 186 ms\/step \(3 runs 184–188, IQR [\d.]+–[\d.]+\), 1\.32× beyond the spread across and within runs \(the runs' load average 1\.9–2\.2 on 4 cores\)\./);
    const [line] = methodStudy.findings!(groupVariants([...vs[0].runs.map((r) => ({ ...r, variant: 'LoRA' })), ...vs[1].runs]), null);
    expect(line).toBe(
      "**PiSSA** against plain LoRA: 1.32× faster per step than **LoRA**, beyond the spread across and within runs (141 against 186 ms/step; run medians 140–142 against 184–188; IQR 140–142 against 185–187; the runs' load average 1.9–2.2 on 4 cores); trainable parameters 100.0% of LoRA's.",
    );
  });

  test('one run per setting: no timing claim', () => {
    const vs = groupVariants([timedRun('DoRA', 0, steps(184), onCores(2, 4)), timedRun('PiSSA', 0, steps(100), onCores(2, 4))]);
    expect(compareTimes(vs[1], vs[0])).toBe('single run');
    const [text] = timingFinding('method', vs);
    expect(text).toContain('Single run per setting: no setting is called faster');
    expect(text).not.toMatch(/is faster than/);
  });
});
