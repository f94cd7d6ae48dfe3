/**
 * A small byte-level BPE tokenizer in the Hugging Face tokenizer.json format (the GPT-2 scheme:
 * ByteLevel pre-tokenizer and decoder, 256 byte tokens, then merges), built in code so tests
 * need no download. `merges` are pairs of existing token strings.
 */

import { bytesToUnicode } from '../../src/tokenizer-training/byte-level.js';

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
  const vocab: Record<string, number> = {};
  table.forEach((ch, i) => (vocab[ch] = i));
  const merges: string[] = [];
  for (const [a, b] of opts.merges ?? DEFAULT_MERGES) {
    const la = toByteLevel(a, table);
    const lb = toByteLevel(b, table);
    if (!(la in vocab) || !(lb in vocab)) throw new Error(`merge (${a}, ${b}) uses a token not in the vocabulary`);
    merges.push(`${la} ${lb}`);
    if (!(la + lb in vocab)) vocab[la + lb] = Object.keys(vocab).length;
  }
  const specials = opts.specialTokens ?? ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const added = specials.map((content) => {
    const id = Object.keys(vocab).length;
    vocab[content] = id;
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
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
