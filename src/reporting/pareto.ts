/**
 * Pareto dominance for "more quality for less cost": a point is dominated when another is at
 * least as good on quality and at most as costly, and strictly better on one of the two.
 */
export interface ParetoPoint {
  quality: number;
  cost: number;
}

/** For each point, the index of one point that dominates it, or -1 when none does. */
export function dominatedBy(points: readonly ParetoPoint[], better: 'higher' | 'lower'): number[] {
  const q = (p: ParetoPoint): number => (better === 'higher' ? p.quality : -p.quality);
  return points.map((p, i) => {
    let best = -1;
    points.forEach((o, j) => {
      if (j === i || !Number.isFinite(o.quality) || !Number.isFinite(o.cost)) return;
      const noWorse = q(o) >= q(p) && o.cost <= p.cost;
      const strictly = q(o) > q(p) || o.cost < p.cost;
      // Prefer reporting the cheapest dominator: it is the most telling alternative.
      if (noWorse && strictly && (best === -1 || o.cost < points[best].cost)) best = j;
    });
    return best;
  });
}
