/**
 * Base class for errors a user can act on. `hint` says what to do about it; the CLI prints
 * `error during <command>: <message>` followed by the hint and exits non-zero.
 */
export class LoraStudyError extends Error {
  readonly hint?: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
  }
}

/**
 * Work stopped on request (Ctrl-C / SIGTERM) rather than failed: every command exits 130 on it
 * (128 + SIGINT, what shells report for a Ctrl-C), through runCommand.
 */
export class InterruptedError extends LoraStudyError {}

/** Internal invariant; the message must carry the offending values. */
export function assert(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new Error(`internal assertion failed: ${typeof message === 'function' ? message() : message}`);
}
