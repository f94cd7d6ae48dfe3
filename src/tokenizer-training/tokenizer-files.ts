/**
 * tokenizer.json and tokenizer_config.json for a trained byte-level BPE, in the standard schema
 * that both @huggingface/tokenizers (JS) and Python `tokenizers` / transformers'
 * PreTrainedTokenizerFast read: ByteLevel pre-tokenizer and decoder, a BPE model, special
 * tokens as added tokens after the BPE vocabulary.
 */
import type { TrainedBpe } from './train-bpe.js';

export const END_OF_TEXT = '<|endoftext|>';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
export const SPECIAL_TOKENS = [END_OF_TEXT, IM_START, IM_END] as const;

/**
 * The usual ChatML template (Qwen's, without a default system prompt): what `--template model`
 * renders and transformers' apply_chat_template reproduces.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function tokenizerJson(bpe: TrainedBpe, specialTokens: readonly string[] = SPECIAL_TOKENS): Record<string, unknown> {
  const vocab: Record<string, number> = Object.fromEntries(bpe.vocab);
  let next = bpe.vocab.size;
  const added = specialTokens.map((content) => {
    const id = next++;
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
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** tokenizer_config.json: special tokens, context length and the ChatML chat template. */
export function tokenizerConfigJson(opts: { modelMaxLength: number; firstSpecialId: number }): Record<string, unknown> {
  const decoder = Object.fromEntries(
    SPECIAL_TOKENS.map((content, i) => [String(opts.firstSpecialId + i), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
  );
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: decoder,
    bos_token: END_OF_TEXT,
    eos_token: END_OF_TEXT,
    pad_token: END_OF_TEXT,
    unk_token: null,
    additional_special_tokens: [IM_START, IM_END],
    model_max_length: opts.modelMaxLength,
    clean_up_tokenization_spaces: false,
    chat_template: CHATML_TEMPLATE,
  };
}
