import os from 'node:os';

/** What a run records about the machine's load while it trained (summary metrics, run.json `summary`). */
export interface LoadRecord {
  /** The 1-minute load average, mean of the samples taken at every training step; absent where the OS reports none (Windows). */
  load_avg_1m?: number;
  /** Highest of those samples. */
  load_avg_1m_max?: number;
  /** Logical cores this process could use (os.availableParallelism()). */
  cpu_count: number;
}

/**
 * Samples the 1-minute load average during training, so that the report can tell whether step
 * times of different runs were measured under comparable load (a run timed while another job
 * shared the cores is slower for reasons that are not its setting).
 */
export class LoadSampler {
  private readonly samples: number[] = [];

  sample(): void {
    // os.loadavg() is [0, 0, 0] on Windows: record nothing rather than a false "idle".
    if (process.platform === 'win32') return;
    const load = os.loadavg()[0];
    if (Number.isFinite(load)) this.samples.push(load);
  }

  record(): LoadRecord {
    const cpu_count = os.availableParallelism();
    if (this.samples.length === 0) return { cpu_count };
    const sum = this.samples.reduce((a, b) => a + b, 0);
    const max = Math.max(...this.samples);
    const min = Math.min(...this.samples);
    // A float sum rounds: five samples of 3.68 average to 3.6800000000000006, above their max.
    // Clamp the mean into the samples' range so that mean <= max always holds.
    const mean = Math.min(max, Math.max(min, sum / this.samples.length));
    return { load_avg_1m: mean, load_avg_1m_max: max, cpu_count };
  }
}
