/**
 * Pareto dominance for "more quality for less cost", under the seed-spread rule: a point is
 * dominated when another is no worse on quality beyond the seed spread (their min–max ranges over
 * seeds overlap, or it is higher), at most as costly, and strictly better on one of the two —
 * cheaper, or better beyond the spread. Without ranges (one seed) the means are compared.
 */
export interface ParetoPoint {
  quality: number;
  cost: number;
  /** Min and max of quality over seeds; default `quality`. */
  qualityMin?: number;
  qualityMax?: number;
}

/** For each point, the index of one point that dominates it, or -1 when none does. */
export function dominatedBy(points: readonly ParetoPoint[], better: 'higher' | 'lower'): number[] {
  // As intervals on a higher-is-better axis.
  const lo = (p: ParetoPoint): number => (better === 'higher' ? (p.qualityMin ?? p.quality) : -(p.qualityMax ?? p.quality));
  const hi = (p: ParetoPoint): number => (better === 'higher' ? (p.qualityMax ?? p.quality) : -(p.qualityMin ?? p.quality));
  const q = (p: ParetoPoint): number => (better === 'higher' ? p.quality : -p.quality);
  return points.map((p, i) => {
    let best = -1;
    points.forEach((o, j) => {
      if (j === i || !Number.isFinite(o.quality) || !Number.isFinite(o.cost)) return;
      const ranged = lo(o) !== hi(o) || lo(p) !== hi(p);
      const noWorse = (ranged ? hi(o) >= lo(p) : q(o) >= q(p)) && o.cost <= p.cost;
      const strictly = o.cost < p.cost || lo(o) > hi(p);
      // Prefer reporting the cheapest dominator: it is the most telling alternative.
      if (noWorse && strictly && (best === -1 || o.cost < points[best].cost)) best = j;
    });
    return best;
  });
}
