import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { PreparedDatasetError, PreparedIdRangeError, readPreparedDataset } from '../../src/data/read-prepared.js';
import { runConfigSchema } from '../../src/config/run-config.js';
import { initEngine } from '../../src/engine/backend.js';
import { evaluateModel } from '../../src/evaluation/evaluate-model.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const row = (over: Record<string, unknown> = {}) => JSON.stringify({ prompt: 'p', response: 'r', input_ids: [1, 2, 3, 4], labels: [-100, -100, 3, 4], ...over });

/** A prepared dataset folder written by hand: `train` and `eval` are the files' exact text. */
function writeDataset(train: string | Buffer, evalText: string | Buffer = `${row()}\n`, meta: string = '{"format_version": 1}'): string {
  const dir = mkdtempSync(join(tmpdir(), 'prepared-'));
  writeFileSync(join(dir, 'train.jsonl'), train);
  writeFileSync(join(dir, 'eval.jsonl'), evalText);
  writeFileSync(join(dir, 'meta.json'), meta);
  return dir;
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('reading a prepared dataset', () => {
  test('a malformed line of train.jsonl names the file, line and column, with a hint', () => {
    const dir = writeDataset(`${row()}\n{"prompt": "p", "response": \n`);
    const err = caught(() => readPreparedDataset(dir));
    expect(err).toBeInstanceOf(PreparedDatasetError);
    expect(err.message).toMatch(new RegExp(`^prepared dataset ${join(dir, 'train.jsonl')}:2:\\d+: not valid JSON`));
    expect((err as PreparedDatasetError).hint).toContain('prepare the dataset again');
  });

  test('a malformed meta.json names the file, line and column', () => {
    const dir = writeDataset(`${row()}\n`, undefined, '{\n  "format_version": 1,\n}');
    expect(() => readPreparedDataset(dir)).toThrow(`${join(dir, 'meta.json')} (line 3, column 1): not valid JSON`);
  });

  test('a prepared file that is not UTF-8 is refused with its byte offset', () => {
    const dir = writeDataset(Buffer.concat([Buffer.from(`${row()}\n${row({ prompt: 'caf' }).slice(0, 15)}`), Buffer.from([0xe9]), Buffer.from(`${row().slice(15)}\n`)]));
    expect(() => readPreparedDataset(dir)).toThrow(new RegExp(`train\\.jsonl: not UTF-8 text: byte 0xe9 is not valid UTF-8 at byte offset ${row().length + 16} \\(line 2\\)`));
  });

  test('ids and labels are checked against the model vocabulary: file, line, position and id', () => {
    const model = { vocabSize: 10, name: 'models/m' };
    const ok = writeDataset(`${row()}\n${row({ input_ids: [9, 0, 1, 2], labels: [-100, 0, 9, -100] })}\n`);
    expect(readPreparedDataset(ok, model).train).toHaveLength(2);

    const badInput = writeDataset(`${row()}\n\n${row({ input_ids: [1, 2, 10, 4] })}\n`);
    const err = caught(() => readPreparedDataset(badInput, model));
    expect(err).toBeInstanceOf(PreparedIdRangeError);
    expect(err.message).toBe(`prepared dataset ${join(badInput, 'train.jsonl')}:3: input_ids[2] is 10, outside the vocabulary of models/m (vocab_size 10: ids 0…9)`);
    expect((err as PreparedIdRangeError).hint).toContain('--model models/m');

    const badLabel = writeDataset(`${row()}\n`, `${row()}\n${row({ labels: [-100, -1, 3, 4] })}\n`);
    expect(() => readPreparedDataset(badLabel, model)).toThrow(`${join(badLabel, 'eval.jsonl')}:2: labels[1] is -1, outside the vocabulary of models/m (vocab_size 10: ids 0…9, or -100 for an ignored position)`);
    // Without a model only the structure is checked.
    expect(readPreparedDataset(badLabel).eval).toHaveLength(2);
  });
});

describe('a dataset loaded for a model', () => {
  const root = mkdtempSync(join(tmpdir(), 'prepared-model-'));
  const modelDir = join(root, 'model');
  beforeAll(async () => {
    await useCpuBackend();
    await writeTinyModel(modelDir, { modelType: 'gpt2', seed: 1, hiddenSize: 16, numLayers: 1, numHeads: 2 });
  });

  test('evaluate-model refuses an out-of-range label before running the model', async () => {
    const data = join(root, 'data');
    await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: data, modelDir, template: 'plain', numSamples: 4, evalSamples: 2, maxSeqLen: 64 });
    const dir = join(data, 'rev');
    const evalRows = readFileSync(join(dir, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = evalRows[1].labels.length - 1;
    evalRows[1].labels[last] = 100000;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'eval.jsonl'), evalRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await expect(evaluateModel({ model: modelDir, dataset: dir, generate: false })).rejects.toThrow(
      `prepared dataset ${join(dir, 'eval.jsonl')}:2: labels[${last}] is 100000, outside the vocabulary of ${modelDir}`,
    );
  });

  test('a run says so when it trains on <unk> labels (a dataset made by another tool)', async () => {
    const unkModel = join(root, 'unk-model');
    await writeTinyModel(unkModel, { modelType: 'gpt2', seed: 1, hiddenSize: 16, numLayers: 1, numHeads: 2 });
    const cfg = JSON.parse(readFileSync(join(unkModel, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(unkModel, 'tokenizer_config.json'), JSON.stringify({ ...cfg, unk_token: '<|im_start|>' }));
    const unk = loadTokenizer(unkModel).unkTokenId!;
    const data = join(root, 'unk-data');
    await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: data, modelDir: unkModel, template: 'plain', numSamples: 6, evalSamples: 2, maxSeqLen: 64 });
    const dir = join(data, 'rev');
    const train = readFileSync(join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    train[0].labels[train[0].labels.length - 2] = unk;
    train[0].input_ids[train[0].labels.length - 2] = unk;
    writeFileSync(join(dir, 'train.jsonl'), train.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { logger, warnings } = captureLogger();
    const config = runConfigSchema.parse({
      name: 'unk', model: unkModel, dataset: dir, seed: 1, lora: { r: 2, lora_alpha: 4, target_modules: ['c_attn'] },
      training: { max_steps: 1, batch_size: 2, learning_rate: 1e-3, max_seq_len: 64 }, eval: { max_samples: 2, batch_size: 2, generate: false },
    });
    const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: join(root, 'unk-out') }, engine: await initEngine({ backend: 'cpu' }), logger });
    expect(out.status).toBe('completed');
    expect(warnings()).toContain(`1 training labels in 1 rows of ${dir} are <|im_start|> (id ${unk}), and this run trains on them; prepare the dataset again without --unk-labels keep to mask them`);
  });
});
