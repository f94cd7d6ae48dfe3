import { expect, test } from 'vitest';
import { formatBenchGoals } from '../../src/cli/format-bench-goals.js';
import type { BenchReport, BenchShapeResult } from '../../src/evaluation/bench.js';
import { benchGoalRows } from '../../src/evaluation/bench-goals.js';
import type { PeerShapeResult } from '../../src/evaluation/bench-peer.js';
import { BENCH_SHAPES } from '../../src/evaluation/bench-shapes.js';

const MiB = 2 ** 20;
// Only the fields the goals read; figures chosen so each ratio is exact.
const ours = (name: string, tokS: number, gflops: number, kernels: 'native' | 'backend' = 'native') =>
  ({ name, trainTokensPerS: tokS, achievedGflops: gflops, trainFlopsPerToken: gflops * 1e9 / tokS, peakRssBytes: 400 * MiB, matmulKernels: kernels }) as BenchShapeResult;
const peerRun = (shape: string, tokS: number, libraries = ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so']) =>
  ({
    ok: true as const, shape, modelType: 'llama', torch: '1.13.1', threads: 2, blas: { torchBlasInfo: 'generic', libraries },
    params: 1, trainableParams: 1, batchSize: 4, seqLen: 64, steps: 6, timedSteps: 4, msPerStep: 1, trainTokensPerS: tokS,
    stepMs: [], lastLoss: 6, peakRssBytes: 250 * MiB, referenceBlas: libraries.some((l) => l.includes('/blas/libblas')), loadAverage: 0.4, othersBusyCores: null as number | null, repeatMsPerStep: [1], ompWaitPolicy: 'PASSIVE',
  }) satisfies PeerShapeResult & { ok: true; loadAverage: number; othersBusyCores: number | null; repeatMsPerStep: number[] };
const blas = { ok: true as const, gflops: 200, n: 1024, threads: '2', library: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3', numpyConfig: '1.24.2 libraries blas', reference: false };

test('goal rows: ratio to the peer, share of the BLAS peak and met / not met against each shape\'s goals', () => {
  const rows = benchGoalRows(
    [ours('tiny-llama', 2000, 1, 'native'), ours('gpt2-124m', 150, 60, 'native'), ours('tiny-llama', 1000, 0.5, 'backend')],
    BENCH_SHAPES,
    blas,
    { python: '/usr/bin/python3', runs: [peerRun('tiny-llama', 4000), peerRun('gpt2-124m', 100)] },
  );
  expect(rows.map((r) => [r.shape, r.matmulKernels, r.peerRatio, r.ofBlasPeak, r.met])).toEqual([
    ['tiny-llama', 'native', 0.5, 0.005, { peerRatio: false }],
    ['gpt2-124m', 'native', 1.5, 0.3, { peerRatio: true, ofBlasPeak: true }],
    ['tiny-llama', 'backend', 0.25, 0.0025, { peerRatio: false }],
  ]);
  // The peer does the same model FLOPs per token: its GFLOP/s scale with its tokens/s.
  expect(rows[1].peerAchievedGflops).toBeCloseTo(40, 9);
  // 1.5× a peer at 40 of 200 GFLOP/s needs 60 GFLOP/s = 30% of the peak; tiny has no peak goal but a ratio goal.
  expect(rows[1].peerOfBlasPeak).toBeCloseTo(0.2, 12);
  expect(rows[1].peerGoalNeedsOfBlasPeak).toBeCloseTo(0.3, 12);
  expect(rows[0].peerGoalNeedsOfBlasPeak).toBeCloseTo(0.01, 12);
  expect(rows[1]).toMatchObject({ peerTrainTokensPerS: 100, peerPeakRssBytes: 250 * MiB, peakRssBytes: 400 * MiB, goals: { peerRatio: 1.5, ofBlasPeak: 0.25 } });
});

test('without a peer or a BLAS peak the figures are null and no goal is judged', () => {
  const [row] = benchGoalRows([ours('gpt2-124m', 150, 60)], BENCH_SHAPES, { ok: false, reason: 'no numpy' }, { reason: 'no python with torch' });
  expect(row).toMatchObject({ peerTrainTokensPerS: null, peerRatio: null, ofBlasPeak: null, peerPeakRssBytes: null, peerOfBlasPeak: null, peerGoalNeedsOfBlasPeak: null, met: {} });
});

function report(peer: BenchReport['peer'], loadAverage = 0.3, othersBusyCores: number | null = null): BenchReport {
  const shapes = [ours('gpt2-124m', 150, 60)];
  return {
    engine: { backend: 'wasm' } as BenchReport['engine'], cores: 2, loadAverage, othersBusyCores, matmul: {} as BenchReport['matmul'], shapes, blasPeak: blas,
    ...(peer ? { peer } : {}), goals: benchGoalRows(shapes, BENCH_SHAPES, blas, peer), peakRssBytes: 0, wallTimeS: 1,
  };
}

test('the goals table names the peer, its BLAS and both sides\' peak RSS; a reference BLAS and a loaded machine are flagged', () => {
  const text = formatBenchGoals(report({ python: '/usr/bin/python3', runs: [peerRun('gpt2-124m', 100)] }));
  expect(text).toMatch(/^PyTorch peer gpt2-124m: torch 1\.13\.1 \(\/usr\/bin\/python3\), 2 threads, OMP_WAIT_POLICY=PASSIVE, own process after ours \(before it: load average 0\.40\);.*BLAS_INFO=generic → \/usr\/lib\/x86_64-linux-gnu\/openblas-pthread\/libopenblasp-r0\.3\.21\.so$/m);
  expect(text).toMatch(/^gpt2-124m\s+native\s+150\.0\s+100\.0\s+1\.50× \(goal ≥ 1\.5×: met\)\s+60\.0\s+30\.0% \(goal ≥ 25%: met\)\s+40\.0\s+400 MiB\s+250 MiB$/m);
  expect(text).not.toMatch(/WARNING/);
  expect(text).toMatch(/^gpt2-124m: 1\.5× the peer needs 30\.0% of this run's BLAS peak on the step's model FLOPs alone \(within the BLAS peak\); the peer reaches 20\.0%, we reach 30\.0%$/m);
  // A peer at 140 of 200 GFLOP/s: 1.5× would need 105% of the peak.
  const fast = formatBenchGoals(report({ python: '/usr/bin/python3', runs: [peerRun('gpt2-124m', 350)] }));
  expect(fast).toMatch(/1\.5× the peer needs 105\.0% of this run's BLAS peak .*\(more than the BLAS peak: out of reach on this machine against this peer\); the peer reaches 70\.0%/);
  // Both kernel sets: one line for the shape, ours per kernel set.
  const both = report({ python: '/usr/bin/python3', runs: [peerRun('gpt2-124m', 100)] });
  both.shapes = [ours('gpt2-124m', 150, 60), ours('gpt2-124m', 15, 6, 'backend')];
  both.goals = benchGoalRows(both.shapes, BENCH_SHAPES, blas, both.peer);
  const reach = formatBenchGoals(both).split('\n').filter((l) => l.includes('the peer needs'));
  expect(reach).toEqual(["gpt2-124m: 1.5× the peer needs 30.0% of this run's BLAS peak on the step's model FLOPs alone (within the BLAS peak); the peer reaches 20.0%, we reach 30.0% (native), 3.0% (wasm)"]);

  const flagged = formatBenchGoals(report({ python: 'python3', runs: [peerRun('gpt2-124m', 300, ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'])] }, 1.7));
  expect(flagged).toMatch(/WARNING: load average above 1 during this run/);
  expect(flagged).toMatch(/WARNING: this torch multiplies with the netlib reference BLAS/);
  expect(flagged).toMatch(/0\.50× \(goal ≥ 1\.5×: not met under load\)/);
});

test('where /proc/stat measures other processes\' CPU, that decides the warning, not a load average raised by bench itself', () => {
  const peer = (others: number) => ({ python: 'python3', runs: [{ ...peerRun('gpt2-124m', 100), loadAverage: 1.6, othersBusyCores: others }] });
  // A quiet machine right after our own two-thread rows: load average 1.7, other processes 0.05 cores.
  const quiet = formatBenchGoals(report(peer(0.05), 1.7, 0.02));
  expect(quiet).not.toMatch(/WARNING/);
  expect(quiet).toMatch(/1\.50× \(goal ≥ 1\.5×: met\)/);
  expect(quiet).toMatch(/before it: other processes 0\.05 cores busy, load average 1\.60\)/);
  // Another job holding most of a core before the peer ran.
  const busy = formatBenchGoals(report(peer(0.8), 0.2, 0.02));
  expect(busy).toMatch(/WARNING: other processes kept up to 0\.80 of the 2 cores busy \(from \/proc\/stat, bench's own CPU time taken out\) during this run/);
  expect(busy).toMatch(/met under load/);
});

test('no peer: the table still has our figures and says how to get the peer, or why there is none', () => {
  expect(formatBenchGoals(report(undefined))).toMatch(/^PyTorch peer: not run \(add --peer/m);
  const none = formatBenchGoals(report({ reason: 'no python with torch (/usr/bin/python3: ...)' }));
  expect(none).toMatch(/^PyTorch peer: no python with torch/m);
  expect(none).toMatch(/^gpt2-124m\s+native\s+150\.0\s+–\s+–\s+60\.0\s+30\.0% \(goal ≥ 25%: met\)\s+–\s+400 MiB\s+–$/m);
});
