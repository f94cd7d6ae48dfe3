export type SchedulerName = 'cosine' | 'linear' | 'constant';

/**
 * Learning rate at optimizer step `step` (0-based), as transformers' schedulers: linear warmup
 * from 0 over `warmupSteps`, then cosine or linear decay to 0 at `totalSteps`, or constant.
 */
export function learningRateAt(step: number, p: { lr: number; warmupSteps: number; totalSteps: number; scheduler: SchedulerName }): number {
  if (p.warmupSteps > 0 && step < p.warmupSteps) return (p.lr * (step + 1)) / p.warmupSteps;
  if (p.scheduler === 'constant') return p.lr;
  const decaySteps = Math.max(1, p.totalSteps - p.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - p.warmupSteps) / decaySteps));
  if (p.scheduler === 'linear') return p.lr * (1 - progress);
  return p.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
