/**
 * A small byte-level BPE tokenizer in the Hugging Face tokenizer.json format (the GPT-2 scheme:
 * ByteLevel pre-tokenizer and decoder, 256 byte tokens, then merges), built in code so tests
 * need no download. `merges` are pairs of existing token strings.
 */

import { bytesToUnicode } from '../../src/tokenizer-training/byte-level.js';
import { tokenizerJson } from '../../src/tokenizer-training/tokenizer-files.js';

export { bytesToUnicode };

export interface TinyTokenizerOptions {
  /** Extra merges, as pairs of plain strings (spaces allowed: they become `Ġ`). */
  merges?: Array<[string, string]>;
  /** Special tokens appended after the byte and merge tokens. */
  specialTokens?: string[];
}

const DEFAULT_MERGES: Array<[string, string]> = [
  [' ', 't'], ['h', 'e'], [' t', 'he'], ['i', 'n'], [' ', 'a'], ['e', 'r'], ['o', 'n'], [' ', 's'],
];

function toByteLevel(s: string, table: string[]): string {
  return [...Buffer.from(s, 'utf8')].map((b) => table[b]).join('');
}

export function makeTinyTokenizerJson(opts: TinyTokenizerOptions = {}): Record<string, unknown> {
  const table = bytesToUnicode();
  const vocab = new Map<string, number>(table.map((ch, i) => [ch, i]));
  const merges: Array<[string, string]> = [];
  for (const [a, b] of opts.merges ?? DEFAULT_MERGES) {
    const la = toByteLevel(a, table);
    const lb = toByteLevel(b, table);
    if (!vocab.has(la) || !vocab.has(lb)) throw new Error(`merge (${a}, ${b}) uses a token not in the vocabulary`);
    merges.push([la, lb]);
    if (!vocab.has(la + lb)) vocab.set(la + lb, vocab.size);
  }
  return tokenizerJson({ vocab, merges }, opts.specialTokens ?? ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
}

/** tokenizer_config.json to go with it: names the special tokens and an optional chat template. */
export function makeTinyTokenizerConfig(opts: { chatTemplate?: string } = {}): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    eos_token: '<|endoftext|>',
    bos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    ...(opts.chatTemplate ? { chat_template: opts.chatTemplate } : {}),
  };
}
