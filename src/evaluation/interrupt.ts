import { LoraStudyError } from '../util/errors.js';

/** Thrown by evaluation when its `shouldStop` (Ctrl-C / SIGTERM) is set between batches or generation steps. */
export class EvaluationInterruptedError extends LoraStudyError {
  constructor(where: string) {
    super(`interrupted during evaluation (${where})`, { hint: 'the run was stopped on request; evaluate its adapter later with `lora-study evaluate-model --run <id>`' });
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
