import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { makeTinyTokenizerConfig, makeTinyTokenizerJson } from '../helpers/tiny-tokenizer.js';
test('tiny tokenizer round trip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(makeTinyTokenizerConfig()));
  const tok = loadTokenizer(dir);
  const ids = tok.encode('the cat sat in the hat, 12+30=42 ünï');
  expect(tok.decode(ids)).toBe('the cat sat in the hat, 12+30=42 ünï');
  expect(tok.encode('<|endoftext|>')).toEqual([tok.eosTokenId]);
});

test('a malformed tokenizer_config.json names the file, line and column, with a hint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), '{\n  "eos_token": "<|endoftext|>",\n  "bos_token": ,\n}\n');
  const file = join(dir, 'tokenizer_config.json');
  expect(() => loadTokenizer(dir)).toThrow(`${file} (line 3, column 16): not valid JSON`);
  expect(() => loadTokenizer(dir)).toThrow(expect.objectContaining({ hint: expect.stringContaining('tokenizer.save_pretrained') }));
  writeFileSync(file, JSON.stringify({ eos_token: 7 }));
  expect(() => loadTokenizer(dir)).toThrow(`${file}: field "eos_token" must be a token string or {"content": "…"}, got 7`);
  writeFileSync(file, '[]');
  expect(() => loadTokenizer(dir)).toThrow(`${file}: must hold a JSON object, found an array`);
});

test('tokenizer files that are not UTF-8 are refused with the byte offset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  const json = JSON.stringify(makeTinyTokenizerJson());
  writeFileSync(join(dir, 'tokenizer.json'), json);
  writeFileSync(join(dir, 'tokenizer_config.json'), Buffer.concat([Buffer.from('{"eos_token": "<|endoftext|>", "x": "'), Buffer.from([0xff]), Buffer.from('"}')]));
  expect(() => loadTokenizer(dir)).toThrow(`${join(dir, 'tokenizer_config.json')}: not UTF-8 text: byte 0xff is not valid UTF-8 at byte offset 37 (line 1)`);
  writeFileSync(join(dir, 'tokenizer.json'), Buffer.concat([Buffer.from(json.slice(0, 20)), Buffer.from([0xc3, 0x28]), Buffer.from(json.slice(20))]));
  expect(() => loadTokenizer(dir)).toThrow(/tokenizer\.json: not UTF-8 text: byte 0xc3 is not valid UTF-8 at byte offset 20 \(line 1\)/);
});
