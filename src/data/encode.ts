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

/**
 * The prompt's token ids on their own. A prepared row's prompt tokens are `input_ids[0..prompt_length)`
 * of the joint tokenization, which equal these except where a token straddles the prompt's end.
 */
export function encodePrompt(tokenizer: TextTokenizer, template: TemplateName, example: Omit<Example, 'response'> & { response?: string }): number[] {
  const prompt = renderPrompt(template, { ...example, response: example.response ?? '' }, tokenizer);
  return tokenizer.encode(prompt, { addSpecialTokens: template !== 'model' });
}

/**
 * How prompt and response tokens are told apart, recorded in meta.json: the text is tokenized
 * once, and a token is a prompt token when its text lies wholly inside the prompt.
 */
export const LABEL_RULE = {
  tokenization: 'joint',
  description:
    'prompt + completion are tokenized together, once, as the model reads them at inference; a token is a prompt token (label -100) when its ' +
    'characters lie wholly inside the rendered prompt (character offsets from the decoded text), so a token that straddles the boundary ' +
    'is a response token; the completion ends with EOS',
} as const;

/**
 * The number of leading tokens of `ids` (the joint tokenization of `prompt` + completion) whose
 * characters lie wholly inside `prompt`. @huggingface/tokenizers has no offset mapping, so the
 * offsets come from decoding: ids[0..k) is all prompt when its verbatim text is a prefix of the
 * prompt's own verbatim text. The search starts where the joint ids stop agreeing with the
 * prompt's ids (those are prompt tokens) and moves forward over the few tokens at the boundary;
 * a prefix that ends inside a multi-byte character (decoded as U+FFFD) is looked past.
 */
export function promptTokenCount(tokenizer: TextTokenizer, ids: number[], promptIds: number[]): number {
  let k = 0;
  while (k < ids.length && k < promptIds.length && ids[k] === promptIds[k]) k++;
  // Decode from a few shared tokens before the split, not from the start: the texts compared
  // begin alike (a decoder that strips the first space strips it from both), and the cost per
  // row stays small.
  const from = Math.max(0, k - 4);
  const target = tokenizer.decode(promptIds.slice(from), { verbatim: true });
  let best = k;
  for (let n = k + 1; n <= ids.length; n++) {
    const text = tokenizer.decode(ids.slice(from, n), { verbatim: true });
    if (target.startsWith(text)) best = n;
    else if (!(text.endsWith('\uFFFD') && target.startsWith(text.replace(/\uFFFD+$/, '')))) break;
    if (text.length >= target.length) break;
  }
  return best;
}

/**
 * Renders and tokenizes one example: the prompt and the completion are tokenized together, once
 * (so the tokens are the ones the model sees for the full text; tokenizing them apart would give
 * SentencePiece responses an extra leading `▁`), then EOS is appended. The prompt mask comes from
 * character offsets (`promptTokenCount`). Prompt labels are `-100` unless `trainOnInputs`.
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
  const input_ids = tokenizer.encode(prompt + completion, { addSpecialTokens });
  const promptLength = promptTokenCount(tokenizer, input_ids, tokenizer.encode(prompt, { addSpecialTokens }));
  // A chat template may already end the turn with EOS; never label two of them.
  if (input_ids[input_ids.length - 1] !== eos || input_ids.length === promptLength) input_ids.push(eos);
  const labels = opts.trainOnInputs ? input_ids.slice() : input_ids.map((id, i) => (i < promptLength ? IGNORE_INDEX : id));
  return { prompt, input_ids, labels, promptLength };
}

/**
 * Sets to -100 every label that is the tokenizer's unknown token: `<unk>` stands for text the
 * tokenizer cannot represent, so learning to emit it teaches nothing. Returns how many were masked.
 */
export function maskUnkLabels(enc: EncodedExample, unkId: number | null): number {
  if (unkId === null) return 0;
  let masked = 0;
  enc.labels.forEach((l, i) => {
    if (l === unkId) {
      enc.labels[i] = IGNORE_INDEX;
      masked++;
    }
  });
  return masked;
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
