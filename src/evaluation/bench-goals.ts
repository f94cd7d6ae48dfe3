/**
 * Issue 12's goals from one bench run: per shape and kernel set, our training tokens/s against
 * the PyTorch peer's and our achieved GFLOP/s against the BLAS peak, both measured in that run.
 */
import type { BlasPeak } from './blas-peak.js';
import type { BenchShape } from './bench-shapes.js';
import type { BenchPeer, BenchShapeResult } from './bench.js';

export interface BenchGoalRow {
  shape: string;
  /** The matmul kernels our row ran on. */
  matmulKernels: BenchShapeResult['matmulKernels'];
  trainTokensPerS: number;
  achievedGflops: number;
  peakRssBytes: number;
  /** The peer's figures on the same shape; null without a peer run (reason in the report's `peer`). */
  peerTrainTokensPerS: number | null;
  /** The shape's training FLOPs per token × the peer's tokens/s: the same model FLOPs, so comparable. */
  peerAchievedGflops: number | null;
  peerPeakRssBytes: number | null;
  /** Ours / the peer's tokens/s. */
  peerRatio: number | null;
  /** Our achieved GFLOP/s / the BLAS peak (numpy) of this run. */
  ofBlasPeak: number | null;
  /** The peer's achieved GFLOP/s / the same BLAS peak. */
  peerOfBlasPeak: number | null;
  /**
   * The share of this run's BLAS peak that the peer-ratio goal needs: goal × the peer's GFLOP/s /
   * the peak. A lower bound on the matmul efficiency any implementation would need, since it
   * counts only the step's model FLOPs and gives the rest of the step (element-wise work, the
   * engine) no time at all; at or above 1 the goal is out of reach on this machine against this peer.
   */
  peerGoalNeedsOfBlasPeak: number | null;
  goals: NonNullable<BenchShape['goals']>;
  /** Whether each goal the shape has is met; absent where the figure is missing. */
  met: { peerRatio?: boolean; ofBlasPeak?: boolean };
}

export function benchGoalRows(rows: readonly BenchShapeResult[], shapes: readonly BenchShape[], blasPeak: BlasPeak, peer: BenchPeer | undefined): BenchGoalRow[] {
  return rows.map((s) => {
    const goals = shapes.find((x) => x.name === s.name)?.goals ?? {};
    const run = peer && 'runs' in peer ? peer.runs.find((p) => p.shape === s.name) : undefined;
    const p = run?.ok ? run : null;
    const peerRatio = p ? s.trainTokensPerS / p.trainTokensPerS : null;
    const ofBlasPeak = blasPeak.ok ? s.achievedGflops / blasPeak.gflops : null;
    const peerAchievedGflops = p ? (s.trainFlopsPerToken * p.trainTokensPerS) / 1e9 : null;
    const peerOfBlasPeak = blasPeak.ok && peerAchievedGflops !== null ? peerAchievedGflops / blasPeak.gflops : null;
    const peerGoalNeedsOfBlasPeak = goals.peerRatio !== undefined && peerOfBlasPeak !== null ? goals.peerRatio * peerOfBlasPeak : null;
    const met: BenchGoalRow['met'] = {};
    if (goals.peerRatio !== undefined && peerRatio !== null) met.peerRatio = peerRatio >= goals.peerRatio;
    if (goals.ofBlasPeak !== undefined && ofBlasPeak !== null) met.ofBlasPeak = ofBlasPeak >= goals.ofBlasPeak;
    return {
      shape: s.name,
      matmulKernels: s.matmulKernels,
      trainTokensPerS: s.trainTokensPerS,
      achievedGflops: s.achievedGflops,
      peakRssBytes: s.peakRssBytes,
      peerTrainTokensPerS: p?.trainTokensPerS ?? null,
      peerAchievedGflops,
      peerPeakRssBytes: p?.peakRssBytes ?? null,
      peerRatio,
      ofBlasPeak,
      peerOfBlasPeak,
      peerGoalNeedsOfBlasPeak,
      goals,
      met,
    };
  });
}
