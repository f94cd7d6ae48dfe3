import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/util/logger.js';
import { describe, expect, test } from 'vitest';
import { encodeExample, IGNORE_INDEX, promptTokenCount } from '../../src/data/encode.js';
import { prepareDataset, type PrepareParams } from '../../src/data/prepare.js';
import type { PreparedRow } from '../../src/data/write-prepared.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { makeSentencePieceTokenizerDir } from '../helpers/sentencepiece-tokenizer.js';
import { tmpDir } from './fixtures.js';

const spDir = makeSentencePieceTokenizerDir();
const sp = loadTokenizer(spDir);

const ROWS = [
  { instruction: 'Say hello', output: 'Hello the world' },
  { instruction: 'Greet them', output: 'Hello there, friend.' },
  { instruction: 'What is the answer?', output: 'the answer is 42' },
  { instruction: 'Name a drink', output: 'a caf\u00e9 latte' }, // é is not in the vocabulary: <unk>
  { instruction: 'Price?', output: '3 \u20ac' }, // so is €
  { instruction: 'Spell it', output: 'H e l l o' },
];

function readJsonl(path: string): PreparedRow[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PreparedRow);
}

async function prepareSp(over: Partial<PrepareParams> = {}, logger = silentLogger) {
  const dir = tmpDir();
  const src = join(dir, 'rows.jsonl');
  writeFileSync(src, ROWS.map((r) => JSON.stringify(r)).join('\n'));
  const summary = await prepareDataset({ source: src, name: 'sp', outDir: dir, modelDir: spDir, template: 'alpaca', evalSamples: 0, ...over }, logger);
  return { summary, rows: readJsonl(join(dir, 'sp', 'train.jsonl')) };
}

describe('joint tokenization (SentencePiece-style tokenizer)', () => {
  test('the tokenizer really is SentencePiece-like: a response alone starts with ▁, inside the text it does not', () => {
    expect(sp.encode('Hello')).toEqual([sp.tokenToId('▁Hello')]);
    const joint = sp.encode('Response:\nHello');
    expect(joint.slice(-3)).toEqual(['H', 'el', 'lo'].map((t) => sp.tokenToId(t)));
  });

  test('every row equals the joint tokenization of prompt + response, then EOS; the mask covers the prompt exactly', async () => {
    const { summary, rows } = await prepareSp({ unkLabels: 'keep' });
    expect(rows).toHaveLength(ROWS.length);
    let differs = 0;
    for (const r of rows) {
      expect(r.input_ids).toEqual([...sp.encode(r.prompt + r.response, { addSpecialTokens: true }), sp.eosTokenId]);
      expect(r.labels.slice(0, r.prompt_length).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(r.labels.slice(r.prompt_length)).toEqual(r.input_ids.slice(r.prompt_length));
      // The prompt tokens are the prompt's own (the alpaca prompt ends with a newline, a clean boundary).
      expect(r.input_ids.slice(0, r.prompt_length)).toEqual(sp.encode(r.prompt, { addSpecialTokens: true }));
      expect(sp.decode(r.input_ids.slice(r.prompt_length), { verbatim: true })).toBe(`${r.response}</s>`.replace(/[\u00e9\u20ac]/g, '<unk>'));
      // Tokenizing the response on its own would have started it with `▁`.
      if (sp.encode(r.response)[0] !== r.input_ids[r.prompt_length]) differs++;
    }
    expect(differs).toBe(ROWS.length);
    expect(summary.labels).toMatchObject({ tokenization: 'joint' });
  });

  test('a token that straddles the end of the prompt is a response token', () => {
    const prompt = 'Q: a ';
    const ids = sp.encode(`${prompt}the`, { addSpecialTokens: true });
    expect(ids.at(-1)).toBe(sp.tokenToId('▁the')); // the prompt's last space belongs to `▁the`
    const n = promptTokenCount(sp, ids, sp.encode(prompt, { addSpecialTokens: true }));
    expect(n).toBe(ids.length - 1);
    const enc = encodeExample(sp, 'plain', { instruction: 'Q: a', response: 'the' });
    expect(sp.decode(enc.input_ids.slice(enc.promptLength), { verbatim: true })).toBe('the</s>');
  });
});

describe('<unk> tokens', () => {
  test('are counted in meta.json, warned about above 0.5%, and masked out of the labels by default', async () => {
    const { logger, lines } = captureLogger();
    const { summary, rows } = await prepareSp({ template: 'plain' }, logger);
    const unkId = sp.unkTokenId!;
    expect(unkId).toBe(sp.tokenToId('<unk>'));
    const inInputs = rows.flatMap((r) => r.input_ids).filter((id) => id === unkId).length;
    expect(inInputs).toBe(2);
    expect(rows.flatMap((r) => r.labels)).not.toContain(unkId);
    const total = rows.reduce((s, r) => s + r.input_ids.length, 0);
    expect(summary.unk).toEqual({
      token: '<unk>', id: unkId, input_tokens: 2, input_fraction: 2 / total, rows: 2, first_rows: [4, 5],
      label_policy: 'mask', labels_masked: 2, labels_kept: 0,
    });
    const warned = lines.filter((l) => l.level === 40 && l.msg.includes('are <unk>'));
    expect(warned).toHaveLength(1);
    expect(warned[0].msg).toContain('2 such labels were masked to -100');
  });

  test('--unk-labels keep trains on them, and says so', async () => {
    const { logger, lines } = captureLogger();
    const { summary, rows } = await prepareSp({ template: 'plain', unkLabels: 'keep' }, logger);
    expect(rows.flatMap((r) => r.labels).filter((l) => l === sp.unkTokenId)).toHaveLength(2);
    expect(summary.unk).toMatchObject({ label_policy: 'keep', labels_masked: 0, labels_kept: 2 });
    expect(lines.some((l) => l.level === 40 && l.msg.includes('2 such labels are trained on (--unk-labels keep)'))).toBe(true);
  });

  test('a byte-level tokenizer has no <unk>: counted as none, no warning', async () => {
    const { makeTokenizerDir } = await import('./fixtures.js');
    const { logger, lines } = captureLogger();
    const dir = tmpDir();
    const src = join(dir, 'rows.jsonl');
    writeFileSync(src, ROWS.map((r) => JSON.stringify(r)).join('\n'));
    const s = await prepareDataset({ source: src, name: 'bl', outDir: dir, modelDir: makeTokenizerDir(), template: 'plain', evalSamples: 0 }, logger);
    expect(s.unk).toMatchObject({ token: null, id: null, input_tokens: 0, labels_masked: 0 });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });
});
