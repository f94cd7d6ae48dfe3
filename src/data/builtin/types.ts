import type { Rng } from '../prng.js';

/** One generated instruction and its single correct answer. */
export interface TaskDraw {
  instruction: string;
  response: string;
}

/**
 * A built-in instruction task whose answers can be checked exactly. Prompts and answers are kept
 * short (a few dozen bytes) because the study fine-tunes tiny models with short context windows.
 */
export interface BuiltinTask {
  readonly name: string;
  /** One sentence for `--help` and the README. */
  readonly description: string;
  /** Draws one example; all randomness comes from `rng`, so a seed fixes the whole stream. */
  generate(rng: Rng): TaskDraw;
  /**
   * Matches every instruction this task generates (and little else), so that a pretraining
   * corpus can leave the task out and the fine-tuning gain stays measurable.
   */
  readonly promptPattern: RegExp;
  /** Whether `answer` is correct; both sides arrive trimmed. Defaults to string equality. */
  check?(expected: string, answer: string): boolean;
}

/** A generated example as the dataset and evaluation code see it. */
export interface BuiltinExample {
  /** `<dataset>:<seed>:<index>`: unique and stable for a given seed. */
  id: string;
  task: string;
  instruction: string;
  /** Always empty: built-in tasks put everything in the instruction to stay short. */
  input: string;
  response: string;
}
