import type { TextTokenizer } from '../model/tokenizer.js';
import { LoraStudyError } from '../util/errors.js';
import type { Example } from './example.js';
import { type TemplateName, renderExample, renderPrompt } from './templates.js';

/** The label of a token the loss ignores (the Hugging Face / PyTorch cross-entropy convention). */
export const IGNORE_INDEX = -100;

/** A tokenized example: `labels[i]` is the target for position i; the loss does the next-token shift. */
export interface EncodedExample {
  /** The rendered prompt text. */
  prompt: string;
  input_ids: number[];
  labels: number[];
  /** How many leading tokens are prompt. */
  promptLength: number;
}

export class NoEosTokenError extends LoraStudyError {
  constructor(readonly tokenizer: string) {
    super(`the tokenizer ${tokenizer} has no EOS token, so responses cannot be terminated`, {
      hint: 'set eos_token in the model\'s tokenizer_config.json',
    });
  }
}

/** Prompt token ids, exactly as `encodeExample` begins: what generation and evaluation feed the model. */
export function encodePrompt(tokenizer: TextTokenizer, template: TemplateName, example: Omit<Example, 'response'> & { response?: string }): number[] {
  const prompt = renderPrompt(template, { ...example, response: example.response ?? '' }, tokenizer);
  return tokenizer.encode(prompt, { addSpecialTokens: template !== 'model' });
}

/**
 * Renders and tokenizes one example: prompt tokens, then response tokens, then EOS. Prompt and
 * response are tokenized separately, so the prompt's tokens are exactly `encodePrompt`'s and
 * generation starts where training did. Prompt labels are `-100` unless `trainOnInputs`.
 */
export function encodeExample(
  tokenizer: TextTokenizer,
  template: TemplateName,
  example: Example,
  opts: { trainOnInputs?: boolean } = {},
): EncodedExample {
  const eos = tokenizer.eosTokenId;
  if (eos === null) throw new NoEosTokenError(tokenizer.source);
  const { prompt, completion, addSpecialTokens } = renderExample(template, example, tokenizer);
  const promptIds = tokenizer.encode(prompt, { addSpecialTokens });
  const responseIds = tokenizer.encode(completion);
  // A chat template may already end the turn with EOS; never label two of them.
  if (responseIds[responseIds.length - 1] !== eos) responseIds.push(eos);
  const input_ids = promptIds.concat(responseIds);
  const labels = opts.trainOnInputs ? input_ids.slice() : new Array<number>(promptIds.length).fill(IGNORE_INDEX).concat(responseIds);
  return { prompt, input_ids, labels, promptLength: promptIds.length };
}

export type OverflowPolicy = 'drop' | 'truncate';
export type FitResult = { ok: EncodedExample; truncated: boolean } | { drop: 'too_long' | 'prompt_too_long' };

/**
 * Applies `--max-seq-len`: under `drop` an example that does not fit is dropped; under
 * `truncate` its tail is cut, unless the prompt alone fills the window (nothing would be
 * learned from it, so it is dropped as `prompt_too_long`).
 */
export function fitToLength(enc: EncodedExample, maxSeqLen: number, overflow: OverflowPolicy): FitResult {
  if (enc.input_ids.length <= maxSeqLen) return { ok: enc, truncated: false };
  if (overflow === 'drop') return { drop: 'too_long' };
  if (enc.promptLength >= maxSeqLen) return { drop: 'prompt_too_long' };
  return {
    ok: { ...enc, input_ids: enc.input_ids.slice(0, maxSeqLen), labels: enc.labels.slice(0, maxSeqLen) },
    truncated: true,
  };
}
