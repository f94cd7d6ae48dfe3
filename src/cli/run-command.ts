import { LoraStudyError } from '../util/errors.js';

/**
 * The one failure path of every command: `error during <command>: <message>`, the hint when the
 * error carries one, and a non-zero exit. With `--json`, the error is also printed on stdout as
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
    const e = err as Error;
    process.stderr.write(`error during ${name}: ${e.message}\n`);
    if (err instanceof LoraStudyError && err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    if (process.env.LORA_STUDY_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ error: { command: name, type: e.name, message: e.message, hint: err instanceof LoraStudyError ? err.hint : undefined } })}\n`,
      );
    }
    process.exitCode = 1;
  }
}

/** Prints one JSON document on stdout (the `--json` contract). */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
