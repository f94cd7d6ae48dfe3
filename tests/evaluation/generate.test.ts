import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { evaluateLoss } from '../../src/evaluation/evaluate-loss.js';
import { fitToPositions, generate } from '../../src/evaluation/generate.js';
import { lossStatsFromLogits } from '../../src/evaluation/metrics-loss-reference.js';
import { collate } from '../../src/training/batching.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';

beforeAll(useCpuBackend);

const PROMPTS = [[5, 17, 99, 3], [7, 7, 1], [250, 42, 64, 200, 13, 2]];

describe.each(['llama', 'gpt2'] as const)('%s', (modelType) => {
  test('generation with and without the KV cache gives the same tokens; a batch equals each prompt alone', async () => {
    const { model } = await tinyLm({ modelType });
    const opts = { maxNewTokens: 8, eosTokenId: null, padTokenId: 0 };
    const cached = (await generate(model, PROMPTS, { ...opts, useCache: true })).tokens;
    const uncached = (await generate(model, PROMPTS, { ...opts, useCache: false })).tokens;
    expect(cached).toEqual(uncached);
    expect(cached.every((t) => t.length === 8)).toBe(true);
    for (const [i, p] of PROMPTS.entries()) expect((await generate(model, [p], opts)).tokens[0]).toEqual(cached[i]);
    const before = tf.memory().numTensors;
    await generate(model, PROMPTS, opts);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test('eval loss equals an independent computation from the logits', async () => {
    const { model } = await tinyLm({ modelType });
    const rows = [
      { input_ids: [1, 2, 3, 4, 5], labels: [-100, -100, 3, 4, 5] },
      { input_ids: [9, 8, 7], labels: [-100, 8, 7] },
      { input_ids: [11, 12, 13, 14, 15, 16, 17], labels: [-100, -100, -100, -100, 15, 16, 17] },
    ];
    const got = await evaluateLoss(model, rows, { batchSize: 2, maxSeqLen: 64, padId: 0 });
    // Reference: each row alone, plain JS cross-entropy over the logits.
    let sum = 0;
    let tokens = 0;
    for (const r of rows) {
      const hb = collate([r], 64, 0);
      const logits = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(hb.inputIds, [1, hb.seqLen], 'int32') }).logits.dataSync() as Float32Array);
      const s = lossStatsFromLogits({ logits, labels: Array.from(hb.labels), batchSize: 1, seqLen: hb.seqLen, vocabSize: model.config.vocabSize });
      sum += s.sumLoss;
      tokens += s.tokens;
    }
    expect(got.tokens).toBe(tokens);
    expect(got.meanLoss).toBeCloseTo(sum / tokens, 5);
    model.dispose();
  });
});

describe('positions', () => {
  test('fitToPositions caps new tokens at positions − 1 and cuts prompts from the left', () => {
    expect(fitToPositions([[1, 2, 3], [1, 2, 3, 4, 5, 6]], 4, 8)).toEqual({ prompts: [[1, 2, 3], [3, 4, 5, 6]], maxNewTokens: 4, truncated: 1 });
    expect(fitToPositions([[1, 2, 3]], 20, 8)).toEqual({ prompts: [[3]], maxNewTokens: 7, truncated: 1 });
    expect(fitToPositions([[1, 2]], 6, 8)).toEqual({ prompts: [[1, 2]], maxNewTokens: 6, truncated: 0 });
  });

  test.each(['gpt2', 'llama'] as const)('%s: generation never runs past the positions; a cut prompt generates as its last tokens alone', async (modelType) => {
    const { model } = await tinyLm({ modelType, maxPositions: 16 });
    const long = [5, 17, 99, 3, 7, 7, 1, 250, 42, 64, 200, 13, 2, 9];
    const opts = { maxNewTokens: 8, eosTokenId: null, padTokenId: 0 };
    const res = await generate(model, [long, [7, 7, 1]], opts);
    expect(res.truncatedPrompts).toBe(1);
    expect(res.tokens[0]).toHaveLength(8);
    expect(res.tokens[0]).toEqual((await generate(model, [long.slice(-8)], opts)).tokens[0]);
    expect(res.tokens[1]).toEqual((await generate(model, [[7, 7, 1]], opts)).tokens[0]);
    expect((await generate(model, [[1, 2]], { ...opts, maxNewTokens: 40 })).tokens[0]).toHaveLength(15);
    model.dispose();
  });
});
