import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger (level info) whose records land in `lines`, for tests that check what was logged. */
export function captureLogger(): { logger: Logger; lines: LogRecord[]; warnings: () => string[] } {
  const lines: LogRecord[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogRecord);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}
