import { InterruptedError } from '../util/errors.js';

/** Thrown by evaluation when its `shouldStop` (Ctrl-C / SIGTERM) is set between batches or generation steps. */
export class EvaluationInterruptedError extends InterruptedError {
  constructor(where: string) {
    // Seen by evaluate-model users: a run interrupted during its evaluation catches this error
    // and records the run as interrupted.
    super(`interrupted during evaluation (${where})`, {
      hint: 'stopped on request (Ctrl-C / SIGTERM): nothing was recorded; run evaluate-model again (--max-samples N evaluates fewer rows)',
    });
  }
}

/**
 * Lets the event loop run (so a SIGINT/SIGTERM handler can set its flag: signals are only
 * delivered between tasks, never inside synchronous tensor code), then throws
 * EvaluationInterruptedError when `shouldStop` says so.
 */
export async function checkpointInterrupt(shouldStop: (() => boolean) | undefined, where: string): Promise<void> {
  if (!shouldStop) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (shouldStop()) throw new EvaluationInterruptedError(where);
}
