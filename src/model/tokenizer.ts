import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LoraStudyError } from '../util/errors.js';
import { parseJsonText, readUtf8File } from '../util/text-file.js';

// @huggingface/tokenizers 0.2.0 declares an ESM entry (dist/tokenizers.mjs) that its tarball does
// not contain; its CommonJS build is complete, so load that one.
const require = createRequire(import.meta.url);
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: typeof HfTokenizer };

export class TokenizerLoadError extends LoraStudyError {
  constructor(readonly path: string, reason: string) {
    super(`cannot load tokenizer ${path}: ${reason}`, {
      hint: 'a model folder needs a Hugging Face tokenizer.json (save it with tokenizer.save_pretrained(...) in Python)',
    });
  }
}

export class TokenizerConfigError extends LoraStudyError {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`, { hint: CONFIG_HINT });
  }
}

/** The model's tokenizer: tokenizer.json through @huggingface/tokenizers, plus tokenizer_config.json facts. */
export interface TextTokenizer {
  /** Folder or file it came from. */
  readonly source: string;
  /** sha256 of tokenizer.json, so a prepared dataset can say exactly which tokenizer made it. */
  readonly hash: string;
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  /** The id unknown text becomes (`<unk>`), or null when the tokenizer has none (byte-level BPE never needs one). */
  readonly unkTokenId: number | null;
  readonly unkToken: string | null;
  readonly eosToken: string | null;
  readonly bosToken: string | null;
  /** Jinja chat template from tokenizer_config.json, when the model has one. */
  readonly chatTemplate: string | null;
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /**
   * Text of `ids`. `verbatim` keeps special tokens and turns off clean_up_tokenization_spaces, so
   * that the text of a prefix of ids is a prefix of the text of all of them (offsets rely on it).
   */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean; verbatim?: boolean }): string;
  tokenToId(token: string): number | null;
}

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

const CONFIG_HINT = 'tokenizer_config.json is the file tokenizer.save_pretrained(...) writes next to tokenizer.json; fix or re-download it (or delete it: tokenizer.json alone loads, with special tokens guessed)';

/** tokenizer_config.json: a JSON object; encoding and syntax errors name the file and where. */
function readTokenizerConfig(file: string): Record<string, unknown> {
  const cfg = parseJsonText(file, readUtf8File(file), CONFIG_HINT);
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new TokenizerConfigError(file, `must hold a JSON object, found ${Array.isArray(cfg) ? 'an array' : cfg === null ? 'null' : typeof cfg}`);
  }
  for (const key of ['eos_token', 'bos_token', 'pad_token', 'unk_token'] as const) {
    const v = (cfg as Record<string, unknown>)[key];
    if (v !== undefined && v !== null && tokenString(v) === null) {
      throw new TokenizerConfigError(file, `field "${key}" must be a token string or {"content": "…"}, got ${JSON.stringify(v)}`);
    }
  }
  const chat = (cfg as Record<string, unknown>).chat_template;
  if (chat !== undefined && chat !== null && typeof chat !== 'string' && !Array.isArray(chat)) {
    throw new TokenizerConfigError(file, `field "chat_template" must be a string (or a list of {name, template}), got ${typeof chat}`);
  }
  return cfg as Record<string, unknown>;
}

/**
 * Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model folder, or a
 * tokenizer.json path directly.
 */
export function loadTokenizer(folderOrFile: string): TextTokenizer {
  const file = folderOrFile.endsWith('.json') ? folderOrFile : join(folderOrFile, 'tokenizer.json');
  if (!existsSync(file)) throw new TokenizerLoadError(file, 'file not found');
  const text = readUtf8File(file);
  const json = parseJsonText(file, text, 'tokenizer.json is the file tokenizer.save_pretrained(...) writes; download or save it again');
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !('model' in json)) {
    throw new TokenizerLoadError(file, 'not a Hugging Face tokenizer.json (no "model" object at the top level)');
  }
  const cfgFile = join(file, '..', 'tokenizer_config.json');
  const config = existsSync(cfgFile) ? readTokenizerConfig(cfgFile) : {};
  let tok: HfTokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (err) {
    throw new TokenizerLoadError(file, (err as Error).message);
  }
  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) maxId = Math.max(maxId, id);
  const idOf = (t: string | null): number | null => (t === null ? null : (tok.token_to_id(t) ?? null));

  // Special tokens: tokenizer_config.json names them; otherwise fall back to the common spellings.
  const guess = (...names: string[]): string | null => names.find((n) => tok.token_to_id(n) !== undefined) ?? null;
  const eosToken = tokenString(config.eos_token) ?? guess('</s>', '<|endoftext|>', '<|im_end|>', '<eos>');
  const bosToken = tokenString(config.bos_token) ?? guess('<s>', '<bos>');
  const padToken = tokenString(config.pad_token);
  const modelUnk = (json as { model?: { unk_token?: unknown } }).model?.unk_token;
  const unkToken = tokenString(config.unk_token) ?? (typeof modelUnk === 'string' ? modelUnk : null);
  const chat = config.chat_template;
  const chatTemplate = typeof chat === 'string' ? chat : null;

  return {
    source: file,
    hash: createHash('sha256').update(text).digest('hex'),
    vocabSize: maxId + 1,
    bosTokenId: idOf(bosToken),
    eosTokenId: idOf(eosToken),
    padTokenId: idOf(padToken),
    unkTokenId: idOf(unkToken),
    unkToken: idOf(unkToken) === null ? null : unkToken,
    eosToken,
    bosToken,
    chatTemplate,
    encode: (t, opts) => tok.encode(t, { add_special_tokens: opts?.addSpecialTokens ?? false }).ids,
    decode: (ids, opts) =>
      opts?.verbatim
        ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false })
        : tok.decode(ids, { skip_special_tokens: opts?.skipSpecialTokens ?? true }),
    tokenToId: (t) => tok.token_to_id(t) ?? null,
  };
}
