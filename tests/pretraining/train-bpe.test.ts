import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { generateCorpus } from '../../src/data/corpus/index.js';
import { buildTokenizer } from '../../src/pretraining/build-tokenizer.js';
import { byteLevelWords, bytesToUnicode, trainBpe } from '../../src/tokenizer-training/index.js';

const texts = generateCorpus({ seed: 5, documents: 3000 }).map((d) => d.text);

test('byte-level words cover the text exactly', () => {
  const table = bytesToUnicode();
  const inverse = new Map(table.map((ch, b) => [ch, b]));
  const text = "Mia's kite, 2024 — héllo  world\n";
  const bytes = byteLevelWords(text, table).flatMap((w) => [...w].map((ch) => inverse.get(ch)!));
  expect(Buffer.from(bytes).toString('utf8')).toBe(text);
});

test('BPE merges are deterministic, frequent first, and never touch digits', () => {
  const a = trainBpe({ texts, merges: 200 });
  const b = trainBpe({ texts, merges: 200 });
  expect(a.merges).toEqual(b.merges);
  expect(a.merges).toHaveLength(200);
  expect(a.vocab.size).toBe(256 + 200);
  expect(a.merges.some(([x, y]) => /[0-9]/.test(x + y))).toBe(false);
  // Every merge's parts exist before it.
  const known = new Set(bytesToUnicode());
  for (const [x, y] of a.merges) {
    expect(known.has(x) && known.has(y)).toBe(true);
    known.add(x + y);
  }
});

test('the trained tokenizer.json loads in @huggingface/tokenizers and round-trips text and special tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpe-'));
  const { tokenizer, vocabSize, merges } = buildTokenizer({ texts, vocabSize: 512, modelMaxLength: 256, dir });
  expect(vocabSize).toBe(512);
  expect(merges).toBe(512 - 256 - 3);
  expect(tokenizer.eosToken).toBe('<|endoftext|>');
  expect(tokenizer.eosTokenId).toBe(509);
  expect(tokenizer.padTokenId).toBe(509);
  expect(tokenizer.chatTemplate).toContain('<|im_start|>');
  const text = 'Which number follows 1234?\n1235 apples, Zoë!';
  const ids = tokenizer.encode(text);
  expect(tokenizer.decode(ids)).toBe(text);
  // Digits stay single tokens; common words become one token.
  expect(tokenizer.encode(' 1234')).toHaveLength(5);
  expect(tokenizer.encode('Which number').length).toBeLessThan(5);
  const chat = '<|im_start|>user\nhi<|im_end|>\n';
  const chatIds = tokenizer.encode(chat);
  expect(chatIds[0]).toBe(tokenizer.tokenToId('<|im_start|>'));
  expect(chatIds).toContain(tokenizer.tokenToId('<|im_end|>'));
  expect(tokenizer.decode(chatIds, { skipSpecialTokens: false })).toBe(chat);
});
