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
