import { LoraStudyError } from '../../util/errors.js';
import { Rng } from '../prng.js';
import { arithmetic } from './arithmetic.js';
import { caesar } from './caesar.js';
import { caseTask } from './case.js';
import { format } from './format.js';
import { kvLookup } from './kv-lookup.js';
import { reverse } from './reverse.js';
import { sort } from './sort.js';
import type { BuiltinExample, BuiltinTask } from './types.js';

/** Every built-in task, by name. `builtin:mix` draws from all of them. */
export const BUILTIN_TASKS: Readonly<Record<string, BuiltinTask>> = Object.freeze({
  arithmetic,
  reverse,
  sort,
  caesar,
  case: caseTask,
  'kv-lookup': kvLookup,
  format,
});

export const BUILTIN_TASK_NAMES: readonly string[] = Object.keys(BUILTIN_TASKS);

/** What `builtin:<name>` accepts: each task, plus `mix`. */
export const BUILTIN_DATASET_NAMES: readonly string[] = [...BUILTIN_TASK_NAMES, 'mix'];

export class UnknownBuiltinTaskError extends LoraStudyError {
  constructor(readonly task: string) {
    super(`unknown built-in dataset "builtin:${task}"`, { hint: `choose one of: ${BUILTIN_DATASET_NAMES.map((n) => `builtin:${n}`).join(', ')}` });
  }
}

export function getBuiltinTask(name: string): BuiltinTask {
  const task = BUILTIN_TASKS[name];
  if (!task) throw new UnknownBuiltinTaskError(name);
  return task;
}

/**
 * The endless, deterministic example stream of a built-in dataset (a task name or `mix`): the
 * same (dataset, seed) always yields the same sequence. Duplicates can occur; callers that need
 * distinct examples drop them.
 */
export function* builtinExampleStream(dataset: string, seed: number): Generator<BuiltinExample> {
  if (dataset !== 'mix') getBuiltinTask(dataset);
  const rng = new Rng(seed);
  for (let i = 0; ; i++) {
    const name = dataset === 'mix' ? rng.pick(BUILTIN_TASK_NAMES) : dataset;
    const { instruction, response } = BUILTIN_TASKS[name].generate(rng);
    yield { id: `${dataset}:${seed}:${i}`, task: name, instruction, input: '', response };
  }
}

/** The first `n` examples of `builtinExampleStream(dataset, seed)`. */
export function generateTaskExamples(dataset: string, n: number, seed: number): BuiltinExample[] {
  const out: BuiltinExample[] = [];
  if (n <= 0) return out;
  for (const ex of builtinExampleStream(dataset, seed)) {
    out.push(ex);
    if (out.length >= n) break;
  }
  return out;
}

/**
 * Exact-match scoring for a built-in example: surrounding whitespace is ignored, nothing else
 * (a task may accept equivalent spellings, e.g. JSON spacing).
 */
export function checkAnswer(example: { task: string; response: string }, answer: string): boolean {
  const task = getBuiltinTask(example.task);
  const expected = example.response.trim();
  const got = answer.trim();
  return task.check ? task.check(expected, got) : expected === got;
}

/** The built-in task whose prompts `instruction` looks like, or null: for filtering corpora. */
export function matchBuiltinTask(instruction: string): string | null {
  const text = instruction.trim();
  for (const [name, task] of Object.entries(BUILTIN_TASKS)) if (task.promptPattern.test(text)) return name;
  return null;
}
