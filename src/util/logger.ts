import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Force pretty (human) output; defaults to whether stderr is a terminal. */
  pretty?: boolean;
}

/**
 * Logs always go to stderr so that stdout stays free for results and `--json` documents.
 * Pretty printing is used only on a terminal: piped logs stay one JSON object per line.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LORA_STUDY_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  if (pretty) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything: the default for library code called from tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
