/**
 * Trains the bundled model's byte-level BPE on the corpus and writes tokenizer.json and
 * tokenizer_config.json to a folder, then loads them back through @huggingface/tokenizers so
 * every later step tokenizes exactly as users will.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.js';
import { SPECIAL_TOKENS, tokenizerConfigJson, tokenizerJson, trainBpe } from '../tokenizer-training/index.js';

const SPECIAL_SPLIT = new RegExp(SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|'), 'g');

export interface BuiltTokenizer {
  tokenizer: TextTokenizer;
  vocabSize: number;
  merges: number;
}

export function buildTokenizer(p: { texts: string[]; vocabSize: number; modelMaxLength: number; dir: string }): BuiltTokenizer {
  const merges = p.vocabSize - 256 - SPECIAL_TOKENS.length;
  // Special tokens are added tokens, matched before BPE: the merges never see them.
  const pieces = p.texts.flatMap((t) => t.split(SPECIAL_SPLIT));
  const bpe = trainBpe({ texts: pieces, merges });
  const json = tokenizerJson(bpe);
  writeFileSync(join(p.dir, 'tokenizer.json'), `${JSON.stringify(json, null, 2)}\n`);
  const cfg = tokenizerConfigJson({ modelMaxLength: p.modelMaxLength, firstSpecialId: bpe.vocab.size });
  writeFileSync(join(p.dir, 'tokenizer_config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const tokenizer = loadTokenizer(p.dir);
  return { tokenizer, vocabSize: tokenizer.vocabSize, merges: bpe.merges.length };
}
