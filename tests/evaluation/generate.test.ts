import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { evaluateLoss } from '../../src/evaluation/evaluate-loss.js';
import { generate } from '../../src/evaluation/generate.js';
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
    const cached = generate(model, PROMPTS, { ...opts, useCache: true }).tokens;
    const uncached = generate(model, PROMPTS, { ...opts, useCache: false }).tokens;
    expect(cached).toEqual(uncached);
    expect(cached.every((t) => t.length === 8)).toBe(true);
    PROMPTS.forEach((p, i) => expect(generate(model, [p], opts).tokens[0]).toEqual(cached[i]));
    const before = tf.memory().numTensors;
    generate(model, PROMPTS, opts);
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
    const got = evaluateLoss(model, rows, { batchSize: 2, maxSeqLen: 64, padId: 0 });
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
