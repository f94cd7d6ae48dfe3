import cliProgress from 'cli-progress';
import type { StepRecord } from '../training/trainer.js';

/**
 * Training progress on stderr (stdout stays for results): step, loss, tokens/s, ETA.
 * Only on a terminal; piped or --json output gets no bar.
 */
export class TrainProgress {
  private bar: cliProgress.SingleBar | null = null;
  private total = 0;

  constructor(private readonly enabled = Boolean(process.stderr.isTTY)) {}

  start(label: string, total: number): void {
    if (!this.enabled) return;
    this.stop();
    this.total = total;
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { loss: '-', tps: '-' });
  }

  step(rec: StepRecord): void {
    this.bar?.update(Math.min(rec.step, this.total), { loss: rec.loss.toFixed(4), tps: rec.tokensPerS.toFixed(0) });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
