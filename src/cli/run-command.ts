import { InterruptedError, LoraStudyError } from '../util/errors.js';

/**
 * The one failure path of every command: `error during <command>: <message>`, the hint when the
 * error carries one, and a non-zero exit: 130 for work stopped on request (InterruptedError), 1 otherwise. With `--json`, the error is also printed on stdout as
 * `{ "error": { ... } }` so machine callers always get one JSON document.
 */
export async function runCommand(
  name: string,
  opts: { json?: boolean },
  action: () => Promise<number | void>,
): Promise<void> {
  try {
    const code = await action();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (err) {
    reportError(name, err, opts.json === true);
    process.exitCode = err instanceof InterruptedError ? 130 : 1;
  }
}

/**
 * A run that failed, with its outcome (run id, output folder, error): with `--json` the outcome
 * goes inside the one error document, as `error.result`, instead of a second document.
 */
export class RunFailedError extends LoraStudyError {
  constructor(message: string, readonly result: unknown, opts: { hint?: string } = {}) {
    super(message, opts);
  }
}

/**
 * Prints a failure: `error during <command>: <message>` and the hint on stderr, and with `--json`
 * the one JSON document on stdout, `{ "error": { command, type, message, hint, result? } }`.
 */
export function reportError(name: string, err: unknown, json: boolean): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const hint = err instanceof LoraStudyError ? err.hint : undefined;
  process.stderr.write(`error during ${name}: ${e.message}\n`);
  if (hint) process.stderr.write(`  hint: ${hint}\n`);
  if (process.env.LORA_STUDY_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
  if (json) {
    const result = err instanceof RunFailedError ? err.result : undefined;
    process.stdout.write(`${JSON.stringify({ error: { command: name, type: e.name, message: e.message, hint, result } })}\n`);
  }
}

/** Prints one JSON document on stdout (the `--json` contract). */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
