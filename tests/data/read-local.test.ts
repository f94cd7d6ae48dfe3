import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DatasetNotFoundError, DatasetParseError } from '../../src/data/errors.js';
import { lineColumn, parseJsonFile } from '../../src/data/read-json.js';
import { listLocalDataFiles, readDataFile } from '../../src/data/read-local.js';
import { FIXTURES, tmpDir } from './fixtures.js';

describe('local data files', () => {
  test('Alpaca JSON, JSON Lines (blank lines skipped) and Parquet', async () => {
    const json = await readDataFile(join(FIXTURES, 'alpaca.json'));
    expect(json.info).toMatchObject({ format: 'json', rows: 6 });
    expect(json.rows[1]).toEqual({ instruction: 'Translate to French.', input: 'Good morning', output: 'Bonjour' });
    const jsonl = await readDataFile(join(FIXTURES, 'prompt-completion.jsonl'));
    expect(jsonl.rows).toHaveLength(4);
    const pq = await readDataFile(join(FIXTURES, 'alpaca.parquet'));
    expect(pq.info).toMatchObject({ format: 'parquet', rows: 5 });
    expect(pq.rows[2]).toEqual({ instruction: 'What is the capital of France?', input: null, output: 'Paris' });
    expect(pq.info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a .json file holding JSON Lines is read as JSON Lines', () => {
    expect(parseJsonFile('x.json', '{"a":1}\n{"a":2}\n')).toEqual({ rows: [{ a: 1 }, { a: 2 }], format: 'jsonl' });
  });

  test('invalid JSON: the file, line and column', async () => {
    const file = join(FIXTURES, 'broken.json');
    const err = await readDataFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetParseError);
    expect((err as DatasetParseError).position).toEqual({ line: 3, column: 23 });
    expect((err as Error).message).toContain(`${file} (line 3, column 23): not valid JSON`);
  });

  test('invalid JSON Lines: the file and line', async () => {
    const err = (await readDataFile(join(FIXTURES, 'broken.jsonl')).catch((e: unknown) => e)) as DatasetParseError;
    expect(err).toBeInstanceOf(DatasetParseError);
    expect(err.position.line).toBe(2);
    expect(err.message).toMatch(/broken\.jsonl \(line 2, column \d+\): not valid JSON Lines/);
  });

  test('truncated Parquet: the file and byte position', async () => {
    const err = (await readDataFile(join(FIXTURES, 'truncated.parquet')).catch((e: unknown) => e)) as DatasetParseError;
    expect(err).toBeInstanceOf(DatasetParseError);
    expect(err.position).toEqual({ byte: 196 });
    expect(err.message).toMatch(/truncated\.parquet \(byte 196\): not valid Parquet/);
  });

  test('a missing file or unknown extension says so', async () => {
    expect(() => listLocalDataFiles(join(FIXTURES, 'nope.jsonl'))).toThrow(DatasetNotFoundError);
    expect(() => listLocalDataFiles(join(FIXTURES, 'nope.jsonl'))).toThrow(/no such file or folder/);
    const csv = join(tmpDir(), 'rows.csv');
    writeFileSync(csv, 'a,b\n');
    await expect(readDataFile(csv)).rejects.toThrow(/unsupported file type "\.csv"/);
  });

  test('a folder lists its data files in name order', () => {
    const files = listLocalDataFiles(FIXTURES).map((f) => f.slice(FIXTURES.length + 1));
    expect(files).toEqual([...files].sort());
    expect(files).toContain('alpaca.parquet');
  });

  test('lineColumn', () => {
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('encodings', () => {
  test('a dataset file that is not UTF-8 is refused with its byte offset and line', async () => {
    const file = join(tmpDir(), 'latin1.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"instruction": "a", "output": "b"}\n{"instruction": "Caf'), Buffer.from([0xe9]), Buffer.from('?", "output": "x"}\n')]));
    await expect(readDataFile(file)).rejects.toThrow(`${file}: not UTF-8 text: byte 0xe9 is not valid UTF-8 at byte offset 56 (line 2)`);
    const json = join(tmpDir(), 'latin1.json');
    writeFileSync(json, Buffer.concat([Buffer.from('[{"instruction": "'), Buffer.from([0xfc]), Buffer.from('", "output": "x"}]')]));
    await expect(readDataFile(json)).rejects.toThrow('at byte offset 18 (line 1)');
  });
});

test('a Parquet string that is not UTF-8 is refused, showing the value', async () => {
  const bytes = readFileSync(join(FIXTURES, 'alpaca.parquet'));
  // The fixture is uncompressed: "Paris" sits in a data page behind its 4-byte length.
  const at = bytes.indexOf(Buffer.from([5, 0, 0, 0, ...Buffer.from('Paris')])) + 4;
  bytes[at + 1] = 0xe9;
  const file = join(tmpDir(), 'latin1.parquet');
  writeFileSync(file, bytes);
  await expect(readDataFile(file)).rejects.toThrow(`${file}: not valid Parquet: a string value is not UTF-8: byte 0xe9 at byte 1 of "P\uFFFDris"`);
});
