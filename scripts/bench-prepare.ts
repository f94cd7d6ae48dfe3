// Examples per second for tokenizing and writing Alpaca-style rows (prepare-dataset's hot path).
//   npx tsx scripts/bench-prepare.ts [--rows 50000] [--model <folder>] [--json]
// Without --model it uses the tests' tiny byte-level BPE tokenizer (8 merges), which yields
// close to one token per byte: a pessimistic case for the token count written per row.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeExample } from '../src/data/encode.js';
import { prepareDataset } from '../src/data/prepare.js';
import { Rng } from '../src/data/prng.js';
import { loadTokenizer } from '../src/model/tokenizer.js';
import { makeTinyTokenizerConfig, makeTinyTokenizerJson } from '../tests/helpers/tiny-tokenizer.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    model: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const n = Number(values.rows);
const work = mkdtempSync(join(tmpdir(), 'bench-prepare-'));

let modelDir = values.model;
if (!modelDir) {
  modelDir = join(work, 'model');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
  writeFileSync(join(modelDir, 'tokenizer_config.json'), JSON.stringify(makeTinyTokenizerConfig()));
}

// Alpaca-like rows: a 6–16 word instruction, an input a third of the time, a 10–60 word answer.
const VOCAB = 'the a of to and in is for that with on as it by be this are from or an at which one can water light small time people data model system world simple example answer question explain describe list give write three important different'.split(' ');
const rng = new Rng(1);
const sentence = (lo: number, hi: number) => Array.from({ length: rng.int(lo, hi) }, () => rng.pick(VOCAB)).join(' ');
const rows = Array.from({ length: n }, (_, i) => ({
  instruction: `${sentence(6, 16)} #${i}.`,
  input: rng.next() < 0.33 ? sentence(4, 20) : '',
  output: `${sentence(10, 60)}.`,
}));
const file = join(work, 'alpaca.json');
writeFileSync(file, JSON.stringify(rows));

const tok = loadTokenizer(modelDir);
let t = performance.now();
let tokens = 0;
for (const r of rows) tokens += encodeExample(tok, 'alpaca', { instruction: r.instruction, input: r.input, response: r.output }).input_ids.length;
const encodeS = (performance.now() - t) / 1000;

t = performance.now();
const summary = await prepareDataset({ source: file, name: 'bench', outDir: join(work, 'out'), modelDir, template: 'alpaca', maxSeqLen: 4096, evalFraction: 0.02 });
const totalS = (performance.now() - t) / 1000;

const result = {
  rows: n,
  kept: summary.counts.kept,
  mean_tokens: Math.round(tokens / n),
  encode_examples_per_s: Math.round(n / encodeS),
  prepare_examples_per_s: Math.round(n / totalS),
  prepare_seconds: Math.round(totalS * 100) / 100,
  node: process.version,
};
rmSync(work, { recursive: true, force: true });
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(
    `${n} Alpaca-style rows, ${result.mean_tokens} tokens each on average\n` +
      `  render + tokenize only:                 ${result.encode_examples_per_s} examples/s\n` +
      `  prepare-dataset (read, tokenize, write): ${result.prepare_examples_per_s} examples/s (${result.prepare_seconds} s)\n`,
  );
}
