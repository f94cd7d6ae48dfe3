import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DatasetNotFoundError, PrepareOptionError } from '../../src/data/errors.js';
import { NothingKeptError, prepareDataset, type PrepareParams, StrictModeError } from '../../src/data/prepare.js';
import type { PreparedRow } from '../../src/data/write-prepared.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { CHATML_JINJA, FIXTURES, makeTokenizerDir, tmpDir } from './fixtures.js';

const modelDir = makeTokenizerDir({ chatTemplate: CHATML_JINJA });
const tok = loadTokenizer(modelDir);

function readJsonl(path: string): PreparedRow[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PreparedRow);
}

async function prepare(over: Partial<PrepareParams>) {
  const outDir = over.outDir ?? tmpDir();
  const summary = await prepareDataset({ source: join(FIXTURES, 'alpaca.json'), name: 'ds', outDir, modelDir, template: 'alpaca', ...over });
  const meta = JSON.parse(readFileSync(join(outDir, 'ds', 'meta.json'), 'utf8'));
  return { summary, meta, train: readJsonl(join(outDir, 'ds', 'train.jsonl')), evalRows: readJsonl(join(outDir, 'ds', 'eval.jsonl')), outDir };
}

describe('prepareDataset', () => {
  test('every kind of bad row is dropped, counted by reason with row numbers: read = kept + dropped', async () => {
    const { summary, meta, train, evalRows } = await prepare({ source: join(FIXTURES, 'bad-rows.jsonl'), template: 'plain', maxSeqLen: 64, evalSamples: 1 });
    expect(meta.counts).toEqual({ available: 16, read: 16, kept: 5, dropped: 11, train: 4, eval: 1, truncated: 0 });
    expect(meta.drops).toEqual({
      not_an_object: { count: 2, first_rows: [2, 12] },
      missing_field: { count: 2, first_rows: [3, 13] },
      non_string_field: { count: 1, first_rows: [4] },
      empty_prompt: { count: 1, first_rows: [5] },
      empty_response: { count: 1, first_rows: [6] },
      too_long: { count: 2, first_rows: [8, 16] },
      duplicate: { count: 2, first_rows: [7, 15] },
    });
    const total = Object.values(meta.drops as Record<string, { count: number }>).reduce((s, d) => s + d.count, 0);
    expect(meta.counts.read).toBe(meta.counts.kept + total);
    expect([...train, ...evalRows].map((r) => r.row).sort((a, b) => a - b)).toEqual([1, 9, 10, 11, 14]);
    expect(summary.counts).toEqual(meta.counts);
  });

  test('--overflow truncate keeps long rows, cut to max-seq-len, and drops prompts that fill it', async () => {
    const { meta, train, evalRows } = await prepare({ source: join(FIXTURES, 'bad-rows.jsonl'), template: 'plain', maxSeqLen: 64, overflow: 'truncate', evalSamples: 0 });
    expect(meta.drops.too_long).toBeUndefined();
    expect(meta.drops.prompt_too_long).toEqual({ count: 1, first_rows: [16] });
    expect(meta.counts).toMatchObject({ kept: 6, truncated: 1 });
    const cut = [...train, ...evalRows].find((r) => r.row === 8)!;
    expect(cut).toMatchObject({ truncated: true });
    expect(cut.input_ids).toHaveLength(64);
  });

  test('--strict turns a dropped row into an error and writes nothing', async () => {
    const outDir = tmpDir();
    const err = await prepareDataset({ source: join(FIXTURES, 'bad-rows.jsonl'), name: 'ds', outDir, modelDir, template: 'plain', maxSeqLen: 64, strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrictModeError);
    expect((err as Error).message).toContain('11 rows would be dropped');
    expect((err as Error).message).toContain('duplicate: 2 (rows 7, 15)');
    expect(existsSync(join(outDir, 'ds'))).toBe(false);
  });

  test('rows: prompt, response, input_ids, labels (-100 over the prompt, EOS last); meta records the tokenizer', async () => {
    const { meta, train, evalRows } = await prepare({ evalFraction: 0.5 });
    expect(train.length + evalRows.length).toBe(6);
    expect(evalRows).toHaveLength(3);
    for (const r of [...train, ...evalRows]) {
      expect(r.input_ids.slice(0, r.prompt_length)).toEqual(tok.encode(r.prompt));
      expect(r.labels.slice(0, r.prompt_length).every((l) => l === -100)).toBe(true);
      expect(r.labels.slice(r.prompt_length)).toEqual(r.input_ids.slice(r.prompt_length));
      expect(r.input_ids.at(-1)).toBe(tok.eosTokenId);
      expect(tok.decode(r.input_ids.slice(r.prompt_length))).toBe(r.response);
      expect(r.prompt).toMatch(/^Below is an instruction/);
    }
    expect(meta.tokenizer).toMatchObject({ path: join(modelDir, 'tokenizer.json'), sha256: tok.hash });
    expect(meta.source).toMatchObject({ kind: 'file', files: [{ format: 'json', rows: 6 }] });
    expect(meta).toMatchObject({ template: 'alpaca', seed: 42, max_seq_len: 512, overflow: 'drop', train_on_inputs: false });
    expect(Date.parse(meta.created_at)).not.toBeNaN();
  });

  test('the same seed gives the same split; another seed another; --num-samples samples', async () => {
    const source = join(FIXTURES, 'bad-rows.jsonl');
    const ids = (r: { train: PreparedRow[]; evalRows: PreparedRow[] }) => [r.train.map((x) => x.id), r.evalRows.map((x) => x.id)];
    const a = await prepare({ source, template: 'plain', seed: 1, evalSamples: 2 });
    const b = await prepare({ source, template: 'plain', seed: 1, evalSamples: 2 });
    expect(ids(b)).toEqual(ids(a));
    const others = await Promise.all([2, 3, 4].map((seed) => prepare({ source, template: 'plain', seed, evalSamples: 2 })));
    expect(others.some((o) => JSON.stringify(ids(o)) !== JSON.stringify(ids(a)))).toBe(true);
    const s = await prepare({ source: 'builtin:arithmetic', template: 'plain', numSamples: 30, evalSamples: 5 });
    expect(s.meta.counts).toMatchObject({ kept: 30, train: 25, eval: 5, available: null });
    expect(s.meta.counts.read).toBe(30 + s.meta.counts.dropped);
  });

  test('JSON Lines prompt/completion, chat messages under chatml and model templates, Parquet', async () => {
    const pc = await prepare({ source: join(FIXTURES, 'prompt-completion.jsonl'), template: 'chatml', evalSamples: 0 });
    expect(pc.train).toHaveLength(4);
    expect(pc.train.find((r) => r.row === 2)!.prompt).toBe('<|im_start|>user\nCapital of Italy?<|im_end|>\n<|im_start|>assistant\n');

    const chat = await prepare({ source: join(FIXTURES, 'chat.jsonl'), template: 'model', evalSamples: 0 });
    expect(chat.meta.counts).toMatchObject({ read: 6, kept: 3 });
    expect(chat.meta.drops).toEqual({ bad_messages: { count: 2, first_rows: [4, 5] }, missing_field: { count: 1, first_rows: [6] } });
    const multi = chat.train.find((r) => r.row === 3)!;
    expect(multi.prompt).toContain('<|im_start|>assistant\napple<|im_end|>\n<|im_start|>user\nAnother');
    expect(multi.response).toBe('pear');
    const asAlpaca = await prepare({ source: join(FIXTURES, 'chat.jsonl'), template: 'alpaca', evalSamples: 0 });
    expect(asAlpaca.meta.drops.multi_turn).toEqual({ count: 1, first_rows: [3] });

    const pq = await prepare({ source: join(FIXTURES, 'alpaca.parquet'), evalSamples: 1 });
    expect(pq.meta.counts).toMatchObject({ read: 5, kept: 4, dropped: 1 });
    expect(pq.meta.drops).toEqual({ empty_response: { count: 1, first_rows: [5] } });
  });

  test('builtin: the offline default; rows carry the task for exact-match scoring', async () => {
    const { meta, train } = await prepare({ source: 'builtin:mix', template: 'plain', numSamples: 200, maxSeqLen: 64 });
    expect(meta.counts).toMatchObject({ kept: 200, train: 180, eval: 20 });
    expect(meta.source).toEqual({ spec: 'builtin:mix', kind: 'builtin', dataset: 'mix' });
    expect(new Set(train.map((r) => r.task)).size).toBe(7);
    expect(meta.tokens.train.max_length).toBeLessThan(64);
  });

  test('options and sources that cannot work fail clearly', async () => {
    await expect(prepare({ evalSamples: 1, evalFraction: 0.2 })).rejects.toThrow(PrepareOptionError);
    await expect(prepare({ evalSamples: 1, evalFraction: 0.2 })).rejects.toThrow('--eval-samples / --eval-fraction');
    await expect(prepare({ evalSamples: 6 })).rejects.toThrow(/leave no training rows/);
    await expect(prepare({ source: join(FIXTURES, 'missing.jsonl') })).rejects.toThrow(DatasetNotFoundError);
    await expect(prepare({ source: 'builtin:nope' })).rejects.toThrow(/unknown built-in dataset "builtin:nope"/);
    await expect(prepare({ name: '../x' })).rejects.toThrow(/one folder name/);
    await expect(prepare({ template: 'model', modelDir: makeTokenizerDir() })).rejects.toThrow(/has no chat_template/);
    await expect(prepare({ source: 'builtin:sort', maxSeqLen: 4, numSamples: 5 })).rejects.toThrow(NothingKeptError);
  });

  test('writes atomically: a failure leaves the previous dataset untouched, no temp folders', async () => {
    const first = await prepare({});
    const before = readFileSync(join(first.outDir, 'ds', 'train.jsonl'), 'utf8');
    writeFileSync(join(first.outDir, 'broken.json'), '[{"instruction": "a", "output": "b"},');
    await expect(prepare({ outDir: first.outDir, source: join(first.outDir, 'broken.json') })).rejects.toThrow(/line 1, column \d+/);
    expect(readFileSync(join(first.outDir, 'ds', 'train.jsonl'), 'utf8')).toBe(before);
    const again = await prepare({ outDir: first.outDir, source: join(FIXTURES, 'alpaca.parquet') });
    expect(again.meta.source.files[0].format).toBe('parquet');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(first.outDir).sort()).toEqual(['broken.json', 'ds']);
  });
});
