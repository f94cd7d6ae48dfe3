/**
 * A small SentencePiece-style tokenizer in the Hugging Face tokenizer.json format, as Llama 2
 * and Mistral ship theirs: Metaspace pre-tokenizer (spaces become `▁`, one is prepended to the
 * text), BPE without byte fallback (characters outside the vocabulary become `<unk>`), `<s>`
 * added in front, and a decoder that turns `▁` back into spaces. Built in code: no download.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?#\n'];
const MERGES: Array<[string, string]> = [
  ['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'H'], ['e', 'l'], ['▁H', 'el'], ['l', 'o'], ['▁Hel', 'lo'], ['▁', 'a'], ['R', 'e'], ['s', 'p'],
];
const SPECIAL = ['<unk>', '<s>', '</s>'];

export function makeSentencePieceTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const t of [...SPECIAL, '▁', ...CHARS]) vocab[t] = Object.keys(vocab).length;
  for (const [a, b] of MERGES) if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map(special),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [vocab['<s>']], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: false, ignore_merges: false, vocab, merges: MERGES.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** A tokenizer-only model folder with the SentencePiece-style tokenizer and its tokenizer_config.json. */
export function makeSentencePieceTokenizerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sp-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(makeSentencePieceTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'LlamaTokenizerFast', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true }));
  return dir;
}
