import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { overrideField, type RunOverrides } from '../config/resolve-run-config.js';
import { evalSchema, runConfigSchema, trainingSchema } from '../config/run-config.js';

/**
 * Every numeric flag of every command goes through {@link numberFlag}: the text must be a whole
 * number in decimal or exponent notation (`1e3` is 1000), then it is validated with the same zod
 * schema as the config field it sets, so `--steps 1e3` is 1000 and `--r 2.9` is refused, never
 * truncated. A refusal names the flag (and the config field) and is reported like every other
 * error: `error during <command>: …` and exit 1.
 */

/** Flags that set no config field: their ranges, in one place. */
export const FLAG_SCHEMAS = {
  threads: z.number().int().min(1),
  temperature: z.number().min(0),
  topP: z.number().gt(0).max(1),
  count: z.number().int().min(0),
  runId: z.number().int().positive(),
  benchSteps: z.number().int().min(3),
  fraction: z.number().min(0).lt(1),
  positive: z.number().int().positive(),
  seed: runConfigSchema.shape.seed,
  evalBatchSize: evalSchema.shape.batch_size,
  evalMaxSamples: evalSchema.shape.max_samples,
  maxNewTokens: evalSchema.shape.max_new_tokens,
  maxSeqLen: trainingSchema.shape.max_seq_len,
} satisfies Record<string, z.ZodType<number, unknown>>;

type Issue = z.core.$ZodIssue;

/** One zod issue about a number, in words: `must be a whole number`, `must be > 0`. */
export function describeNumberIssue(issue: Issue): string {
  if (issue.code === 'invalid_type') return issue.expected === 'int' ? 'must be a whole number' : 'must be a number (decimal or exponent notation: 1000, 1e3, 0.5)';
  if (issue.code === 'too_small') return `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
  if (issue.code === 'too_big') {
    const max = Number(issue.maximum) === Number.MAX_SAFE_INTEGER ? `${issue.maximum} (2^53 - 1)` : String(issue.maximum);
    return `must be ${issue.inclusive ? '≤' : '<'} ${max}`;
  }
  return issue.message;
}

/**
 * A commander argument parser for `flag`: parses the text as a number and validates it with
 * `schema`; `field` names the config field it sets, for the message.
 */
export function numberFlag(flag: string, schema: z.ZodType<number, unknown>, field?: string): (raw: string) => number {
  return (raw: string) => {
    const text = raw.trim();
    // Number('') is 0 and Number('0x10') is 16: accept only decimal and exponent notation.
    const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
    const parsed = schema.safeParse(n);
    if (parsed.success) return parsed.data;
    const what = field ? `${flag} (${field})` : flag;
    throw new InvalidArgumentError(`${what} ${describeNumberIssue(parsed.error.issues[0])}; got "${raw}"`);
  };
}

/** The parser of a run-single flag that overrides a run config field, with that field's schema. */
export function runConfigFlag(flag: string, key: keyof RunOverrides): (raw: string) => number {
  const { path, schema } = overrideField(key);
  return numberFlag(flag, schema as z.ZodType<number, unknown>, path);
}
