import cliProgress from 'cli-progress';
import type { Logger } from '../../util/logger.js';

const MB = 1024 * 1024;

/** Bytes of a model download: a cli-progress bar on a terminal, log lines (per file) otherwise. */
export class DownloadProgress {
  private bar: cliProgress.SingleBar | null = null;
  private done = 0;
  private readonly t0 = performance.now();

  constructor(private readonly repo: string, private readonly total: number, private readonly logger: Logger, tty = Boolean(process.stderr.isTTY)) {
    if (tty && total > 0) {
      this.bar = new cliProgress.SingleBar(
        { stream: process.stderr, hideCursor: true, format: `${repo} [{bar}] {percentage}% {got}/{all} MiB {speed} MiB/s {file}` },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { got: '0', all: (total / MB).toFixed(0), speed: '0', file: '' });
    }
  }

  fileStart(file: string, bytes: number): void {
    if (this.bar) this.bar.update(this.done, { file });
    else this.logger.info({ repo: this.repo, file, bytes }, 'downloading from the Hub');
  }

  add(n: number): void {
    this.done += n;
    const s = (performance.now() - this.t0) / 1000;
    this.bar?.update(this.done, { got: (this.done / MB).toFixed(0), speed: (this.done / MB / Math.max(s, 1e-3)).toFixed(1) });
  }

  stop(): void {
    this.bar?.stop();
    this.logger.info({ repo: this.repo, bytes: this.done, seconds: Number(((performance.now() - this.t0) / 1000).toFixed(1)) }, 'Hub download finished');
  }
}
