import { expect, test } from 'vitest';
import { renderModelCard, type ModelCardFacts } from '../../src/pretraining/model-card.js';
import { llamaConfigJson } from '../../src/pretraining/llama-config.js';

const facts: ModelCardFacts = {
  command: 'npx tsx scripts/pretrain-base-model.ts --out models/tiny-llama --seed 0',
  seed: 0,
  params: 885_888,
  config: llamaConfigJson({ vocabSize: 768, hiddenSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 384, maxPositionEmbeddings: 256, eosTokenId: 765 }),
  dtype: 'F32',
  corpus: { trainDocuments: 60_000, evalDocuments: 500, trainTokens: 1_691_443, windows: 21_549 },
  tokenizer: { vocabSize: 768, merges: 509 },
  trainer: { maxSteps: 600, learningRate: 3e-3, microBatchSize: 16, gradientAccumulationSteps: 1, maxSeqLen: 96, warmupSteps: 40, scheduler: 'cosine', weightDecay: 0.1, maxGradNorm: 1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, seed: 0 },
  stepsDone: 600,
  tokensSeen: 900_000,
  initialEvalLoss: 6.634,
  finalEvalLoss: 0.912,
  finalEvalAccuracy: 0.71,
  finalTrainLoss: 0.95,
  curve: [{ step: 1, loss: 6.62 }, { step: 600, loss: 0.93 }],
  trainSeconds: 1200,
  wallSeconds: 1300,
  tokensPerS: 800,
  engine: 'wasm (CPU: wasm SIMD+threads x2), 2 threads',
  machine: { cpuModel: 'AMD EPYC', cores: 2, loadAverage: 6.5, platform: 'linux x64', node: 'v20.20.2' },
  stoppedEarly: false,
};

test('the model card states the command, size, config, data, losses, time and machine', () => {
  const card = renderModelCard(facts);
  for (const s of [facts.command, '885,888', '| layers | 4 |', '4 / 2 (head dim 32)', '1,691,443 tokens', '| eval, after training | 0.912', '21.7 min in all', 'AMD EPYC, 2 cores', 'wasm (CPU', 'the run finished all its planned steps']) {
    expect(card).toContain(s);
  }
  expect(card.startsWith('---\nlicense: mit\n')).toBe(true);
});

test('a run cut short by the time cap says it is not the reproducible one', () => {
  expect(renderModelCard({ ...facts, stepsDone: 420, stoppedEarly: true })).toContain('cut short by --minutes at step 420 of 600');
});
