import type { BenchReport } from '../evaluation/bench.js';
import type { BenchGoalRow } from '../evaluation/bench-goals.js';
import { formatBytes, formatPercent } from '../reporting/format.js';
import { formatTextTable } from '../reporting/text-table.js';

const f1 = (x: number) => x.toFixed(1);
const goalCell = (value: string, goal: string | undefined, met: boolean | undefined, busy: boolean) =>
  goal === undefined || met === undefined ? value : `${value} (goal ${goal}: ${met ? 'met' : 'not met'}${busy ? ' under load' : ''})`;

const peerRuns = (r: BenchReport) => (r.peer && 'runs' in r.peer ? r.peer.runs : []);

/** Other processes' busy cores before our rows and before each peer's runs (null where unmeasured). */
const othersSamples = (r: BenchReport): Array<number | null> => [r.othersBusyCores, ...peerRuns(r).map((p) => p.othersBusyCores)];

/**
 * Whether other processes shared the cores before our rows or the peer's: then no verdict is
 * conclusive. Measured from /proc/stat with our own CPU time taken out (more than a quarter of the
 * cores busy elsewhere); where that is unavailable, the load average above half the cores.
 */
const loaded = (r: BenchReport): boolean => {
  const others = othersSamples(r);
  if (others.every((o) => o !== null)) return others.some((o) => o! > r.cores / 4);
  return [r.loadAverage, ...peerRuns(r).map((p) => p.loadAverage)].some((l) => l > r.cores / 2);
};

/** The kernel set a goal row ran on: `native`, or the backend's own kernels by its name. */
const kernelSet = (r: BenchReport, g: BenchGoalRow): string => (g.matmulKernels === 'native' ? 'native' : r.engine.backend);

const othersNote = (o: number | null, upTo: boolean): string => (o === null ? '' : `other processes ${upTo ? 'up to ' : ''}${o.toFixed(2)} cores busy, `);

/** Who the peer is and what BLAS each side multiplied with; a reference BLAS is flagged, since it makes the figures meaningless. */
function peerLines(r: BenchReport): string[] {
  const lines: string[] = [];
  if (loaded(r)) {
    const others = othersSamples(r);
    const measured = others.every((o) => o !== null);
    lines.push(
      `WARNING: ${measured ? `other processes kept up to ${Math.max(...others.map((o) => o!)).toFixed(2)} of the ${r.cores} cores busy (from /proc/stat, bench's own CPU time taken out)` : `load average above ${r.cores / 2}`} ` +
        `during this run: they shared the cores, and PyTorch's OpenMP threads slow down many-fold under contention; goals are judged only on a quiet machine`,
    );
  }
  const peer = r.peer;
  if (!peer) {
    lines.push('PyTorch peer: not run (add --peer to run scripts/bench-torch-peer.py on the same shapes)');
    return lines;
  }
  if ('reason' in peer) {
    lines.push(`PyTorch peer: ${peer.reason}`);
    return lines;
  }
  for (const run of peer.runs) {
    if (!run.ok) {
      lines.push(`PyTorch peer ${run.shape}: ${run.reason}`);
      continue;
    }
    const libs = run.blas.libraries.length ? run.blas.libraries.join(', ') : 'no BLAS library mapped (built in, or none)';
    lines.push(
      `PyTorch peer ${run.shape}: torch ${run.torch} (${peer.python}), ${run.threads} threads, OMP_WAIT_POLICY=${run.ompWaitPolicy}, own process after ours (${run.repeatMsPerStep.length > 1 ? `before its runs: ${othersNote(run.othersBusyCores, true)}load average up to ${run.loadAverage.toFixed(2)}` : `before it: ${othersNote(run.othersBusyCores, false)}load average ${run.loadAverage.toFixed(2)}`}); ` +
        `${run.timedSteps} timed of ${run.steps} steps, ${f1(run.msPerStep)} ms/step` +
        (run.repeatMsPerStep.length > 1 ? `, the fastest of ${run.repeatMsPerStep.length} runs (${run.repeatMsPerStep.map(f1).join(', ')} ms/step)` : '') +
        `; BLAS_INFO=${run.blas.torchBlasInfo} → ${libs}`,
    );
    if (run.referenceBlas) lines.push(`  WARNING: this torch multiplies with the netlib reference BLAS: the ratio says nothing about PyTorch on a tuned BLAS (Debian: apt-get install libopenblas0-pthread)`);
  }
  return lines;
}

/**
 * Per shape with a peer-ratio goal: what share of the BLAS peak that goal needs (counting only the
 * step's model FLOPs, so a lower bound) beside what the peer and we reach. A goal that needs the
 * whole peak or more cannot be met by any kernel on this machine against this peer.
 */
function reachLines(r: BenchReport): string[] {
  const lines: string[] = [];
  // One line per shape: the need and the peer's share are the shape's; ours is per kernel set.
  for (const shape of [...new Set(r.goals.map((g) => g.shape))]) {
    const rows = r.goals.filter((g) => g.shape === shape && g.peerGoalNeedsOfBlasPeak !== null && g.peerOfBlasPeak !== null && g.ofBlasPeak !== null && g.goals.peerRatio !== undefined);
    if (!rows.length) continue;
    const { goals, peerGoalNeedsOfBlasPeak: need, peerOfBlasPeak: peer } = rows[0];
    const verdict = need! >= 1 ? 'more than the BLAS peak: out of reach on this machine against this peer' : need! >= 0.9 ? 'within 10% of the BLAS peak with no time left for the rest of the step' : 'within the BLAS peak';
    const ours = rows.map((g) => `${formatPercent(g.ofBlasPeak)}${rows.length > 1 ? ` (${kernelSet(r, g)})` : ''}`).join(', ');
    lines.push(
      `${shape}: ${goals.peerRatio!.toFixed(1)}× the peer needs ${formatPercent(need)} of this run's BLAS peak on the step's model FLOPs alone (${verdict}); the peer reaches ${formatPercent(peer)}, we reach ${ours}`,
    );
  }
  return lines.length ? ['', ...lines] : [];
}

/** Issue 12's goals from this run: ratio to the PyTorch peer and share of the BLAS peak, with both sides' peak RSS. */
export function formatBenchGoals(r: BenchReport): string {
  const busy = loaded(r);
  const rows = r.goals.map((g) => [
    g.shape,
    kernelSet(r, g),
    f1(g.trainTokensPerS),
    g.peerTrainTokensPerS === null ? '–' : f1(g.peerTrainTokensPerS),
    g.peerRatio === null ? '–' : goalCell(`${g.peerRatio.toFixed(2)}×`, g.goals.peerRatio === undefined ? undefined : `≥ ${g.goals.peerRatio.toFixed(1)}×`, g.met.peerRatio, busy),
    f1(g.achievedGflops),
    g.ofBlasPeak === null ? '–' : goalCell(formatPercent(g.ofBlasPeak), g.goals.ofBlasPeak === undefined ? undefined : `≥ ${formatPercent(g.goals.ofBlasPeak, 0)}`, g.met.ofBlasPeak, busy),
    g.peerAchievedGflops === null ? '–' : f1(g.peerAchievedGflops),
    formatBytes(g.peakRssBytes),
    g.peerPeakRssBytes === null ? '–' : formatBytes(g.peerPeakRssBytes),
  ]);
  const table = formatTextTable(
    ['shape', 'matmul', 'train tok/s', 'PyTorch tok/s', 'ratio', 'GFLOP/s', 'of BLAS peak', 'PyTorch GFLOP/s', 'peak RSS', 'PyTorch peak RSS'],
    rows,
  );
  return [...peerLines(r), '', table, ...reachLines(r)].join('\n');
}
