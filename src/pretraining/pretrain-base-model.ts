/**
 * Rebuilds the bundled base model from a seed: corpus (src/data/corpus) → byte-level BPE
 * (src/tokenizer-training) → fresh Llama weights (src/model/init-weights) → full-parameter
 * pretraining with the project trainer → Hugging Face folder plus model card.
 * `scripts/pretrain-base-model.ts` is its command line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCorpus } from '../data/corpus/index.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { evaluateLoss } from '../evaluation/evaluate-loss.js';
import { buildModel } from '../model/build-model.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { parseModelConfig } from '../model/config.js';
import { initLlamaWeights } from '../model/init-weights.js';
import type { StoredDtype } from '../model/types.js';
import { train, type StepRecord, type TrainerConfig } from '../training/trainer.js';
import { buildTokenizer } from './build-tokenizer.js';
import { llamaConfigJson } from './llama-config.js';
import { machineInfo } from './machine-info.js';
import { renderModelCard, type ModelCardFacts } from './model-card.js';
import { packDocuments } from './pack-documents.js';

export interface PretrainOptions {
  /** Output model folder (replaced atomically). */
  out: string;
  seed: number;
  /** Optimizer steps: with the seed, what fixes the result. */
  steps: number;
  /** Wall-clock cap in minutes; a run it cuts short is not the reproducible one. */
  minutes: number;
  /** Training documents generated from the seed. */
  documents: number;
  /** Held-out documents (another seed) for the eval loss. */
  evalDocuments: number;
  /** Total vocabulary: 256 bytes + merges + 3 special tokens. */
  vocab: number;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  maxPositions: number;
  /** Windows per optimizer step. */
  batch: number;
  /** Tokens per packed window. */
  seq: number;
  lr: number;
  warmup: number;
  backend: BackendRequest;
  threads?: number;
  dtype: StoredDtype;
  /** The command line, for the model card. */
  command: string;
}

export async function pretrainBaseModel(o: PretrainOptions, log: (msg: string) => void): Promise<ModelCardFacts> {
  const machine = machineInfo();
  const t0 = performance.now();

  // 1. Corpus: training documents, then held-out documents from a different seed.
  const trainDocs = generateCorpus({ seed: o.seed, documents: o.documents });
  const evalDocs = generateCorpus({ seed: o.seed + 1_000_003, documents: o.evalDocuments });
  log(`corpus: ${trainDocs.length} train / ${evalDocs.length} eval documents`);

  // 2. Tokenizer, trained on the training documents only.
  const work = mkdtempSync(join(tmpdir(), 'pretrain-'));
  const tok = buildTokenizer({ texts: trainDocs.map((d) => d.text), vocabSize: o.vocab, modelMaxLength: o.maxPositions, dir: work });
  const eos = tok.tokenizer.eosTokenId!;
  const encode = (docs: { text: string }[]): number[][] => docs.map((d) => tok.tokenizer.encode(d.text));
  const windowLen = o.seq;
  const trainWindows = packDocuments(encode(trainDocs), { windowLen, eosId: eos });
  const evalWindows = packDocuments(encode(evalDocs), { windowLen, eosId: eos });
  const corpusTokens = trainWindows.reduce((s, w) => s + w.input_ids.length, 0);
  log(`tokenizer: vocab ${tok.vocabSize} (${tok.merges} merges); ${corpusTokens} train tokens in ${trainWindows.length} windows`);

  // 3. Fresh model.
  const engine = await initEngine({ backend: o.backend, threads: o.threads });
  // initEngine already rewrote wasm's transposed matmuls (see src/engine/wasm-matmul-transpose.ts).
  const fastTranspose = engine.backend === 'wasm';
  log(`engine: ${engine.backend} on ${engine.device}${fastTranspose ? ' (transposed matmuls rewritten as transpose + matmul)' : ''}`);
  const configJson = llamaConfigJson({
    vocabSize: tok.vocabSize,
    hiddenSize: o.hidden,
    numLayers: o.layers,
    numHeads: o.heads,
    numKvHeads: o.kvHeads,
    intermediateSize: o.intermediate,
    maxPositionEmbeddings: o.maxPositions,
    eosTokenId: eos,
  });
  const config = parseModelConfig(configJson, 'config.json');
  const model = buildModel({ config, tensors: initLlamaWeights(config, { seed: o.seed }), trainableBase: true });
  const variables = model.baseVariables();
  const params = variables.reduce((s, v) => s + v.size, 0);
  log(`model: ${params} parameters`);

  // 4. Pretraining.
  const trainer: TrainerConfig = {
    maxSteps: o.steps,
    learningRate: o.lr,
    microBatchSize: o.batch,
    gradientAccumulationSteps: 1,
    maxSeqLen: windowLen,
    warmupSteps: o.warmup,
    scheduler: 'cosine',
    weightDecay: 0.1,
    maxGradNorm: 1,
    beta1: 0.9,
    beta2: 0.95,
    epsilon: 1e-8,
    seed: o.seed,
  };
  const evalOpts = { batchSize: 32, maxSeqLen: windowLen, padId: eos };
  const initialEval = await evaluateLoss(model, evalWindows, evalOpts);
  log(`initial eval loss ${initialEval.meanLoss.toFixed(3)}`);
  const deadline = performance.now() + o.minutes * 60_000;
  const curve: StepRecord[] = [];
  const result = await train({
    model,
    variables,
    examples: trainWindows,
    config: trainer,
    padId: eos,
    onStep: (r) => {
    curve.push(r);
      if (r.step % 25 === 0 || r.step === 1) log(`step ${r.step}/${trainer.maxSteps} loss ${r.loss.toFixed(3)} lr ${r.lr.toExponential(2)} ${Math.round(r.tokensPerS)} tok/s`);
    },
    shouldStop: () => performance.now() > deadline,
  });
  const finalEval = await evaluateLoss(model, evalWindows, evalOpts);
  const stepsDone = result.steps.length;
  const lastLosses = curve.slice(-20).map((r) => r.loss);
  const finalTrainLoss = lastLosses.reduce((s, x) => s + x, 0) / Math.max(1, lastLosses.length);
  log(`done: ${stepsDone} steps, train loss ${finalTrainLoss.toFixed(3)} (mean of last 20), eval loss ${finalEval.meanLoss.toFixed(3)}`);

  // 5. The Hugging Face folder and its model card.
  const dtype = o.dtype;
  await saveCheckpoint(o.out, { config: configJson, tensors: model.exportTensors(), tokenizerDir: work, dtype });
  const wallS = (performance.now() - t0) / 1000;
  const facts: ModelCardFacts = {
    command: o.command,
    seed: o.seed,
    params,
    config: configJson,
    dtype,
    corpus: { trainDocuments: trainDocs.length, evalDocuments: evalDocs.length, trainTokens: corpusTokens, windows: trainWindows.length },
    tokenizer: { vocabSize: tok.vocabSize, merges: tok.merges },
    trainer,
    stepsDone,
    tokensSeen: result.trainTokens,
    initialEvalLoss: initialEval.meanLoss,
    finalEvalLoss: finalEval.meanLoss,
    finalEvalAccuracy: finalEval.accuracy,
    finalTrainLoss,
    curve: curve.filter((r) => r.step === 1 || r.step % 100 === 0 || r.step === stepsDone).map((r) => ({ step: r.step, loss: r.loss })),
    trainSeconds: result.wallTimeS,
    wallSeconds: wallS,
    tokensPerS: result.tokensPerS,
    engine: `${engine.backend} (${engine.device}), ${engine.threads} threads`,
    machine,
    stoppedEarly: stepsDone < trainer.maxSteps,
  };
  writeFileSync(join(o.out, 'README.md'), renderModelCard(facts));
  rmSync(work, { recursive: true, force: true });
  model.dispose();
  log(`wrote ${o.out} in ${(wallS / 60).toFixed(1)} min`);
  return facts;
}
