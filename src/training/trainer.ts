import * as tf from '@tensorflow/tfjs-core';
import type { Logger } from 'pino';
import type { CausalLM } from '../model/causal-lm.js';
import { bufferBytes, resetBufferPeak } from '../engine/buffer-bytes.js';
import { silentLogger } from '../util/logger.js';
import { Rng } from '../util/random.js';
import { AdamW, disposePrepared } from './adamw.js';
import { disposeBatch, toTensors } from './batch-tensors.js';
import { collate, type TokenizedExample } from './batching.js';
import { EmptyDatasetError, NonFiniteLossError } from './errors.js';
import { causalLmLoss, hostNextTokenTargets } from './loss.js';
import { learningRateAt, type SchedulerName } from './lr-schedule.js';

export interface TrainerConfig {
  maxSteps: number;
  learningRate: number;
  microBatchSize: number;
  gradientAccumulationSteps: number;
  maxSeqLen: number;
  warmupSteps: number;
  scheduler: SchedulerName;
  weightDecay: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  seed: number;
}

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerS: number;
  msFwdBwd: number;
  msOptimizer: number;
}

export interface TrainResult {
  steps: StepRecord[];
  wallTimeS: number;
  trainTokens: number;
  trainSamples: number;
  tokensPerS: number;
  samplesPerS: number;
  msPerStep: number;
  msFwdBwd: number;
  msOptimizer: number;
  /** Highest tfjs bytes in use during a profiled training step, as tf.memory counts them (views counted again). */
  peakBytes: number;
  /** Highest bytes in distinct tfjs buffers during training (each buffer once): the real peak. */
  peakBufferBytes: number;
  optimizerBytes: number;
  /** tfjs tensor count after the first and the last step (flat when nothing leaks). */
  tensorsAfterFirstStep: number;
  tensorsAfterLastStep: number;
}

export interface TrainParams {
  model: CausalLM;
  /** The variables to train (LoRA A/B, or the base weights for full fine-tuning). */
  variables: tf.Variable[];
  /** Learning-rate multiplier per variable (LoRA+ parameter groups); default 1 each. */
  lrScales?: number[];
  examples: TokenizedExample[];
  config: TrainerConfig;
  padId: number;
  logger?: Logger;
  onStep?: (rec: StepRecord) => void;
  /** Checked between steps; a set flag stops training cleanly (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** Endless seeded stream of examples: a fresh permutation every epoch. */
function* exampleStream(examples: TokenizedExample[], seed: number): Generator<TokenizedExample> {
  const rng = new Rng(seed);
  for (;;) {
    const order = rng.shuffle(examples.map((_, i) => i));
    for (const i of order) yield examples[i];
  }
}

/**
 * The training loop: micro-batches with dynamic padding, gradient accumulation weighted by loss
 * tokens (so the update equals one big batch's), global-norm clipping, AdamW with warmup and
 * decay. Every step's tensors live inside tf.tidy; only variables persist.
 */
export async function train(p: TrainParams): Promise<TrainResult> {
  const { model, variables, config: c } = p;
  const logger = p.logger ?? silentLogger;
  const usable = p.examples.filter((e) => e.labels.slice(1, c.maxSeqLen).some((l) => l !== -100));
  if (usable.length === 0) throw new EmptyDatasetError('the training split');
  const stream = exampleStream(usable, c.seed);
  const optimizer = new AdamW(variables, { beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, weightDecay: c.weightDecay, lrScales: p.lrScales });
  const steps: StepRecord[] = [];
  let peakBytes = 0;
  let tensorsAfterFirstStep = 0;
  let tensorsAfterLastStep = 0;
  let optimizerBytes = 0;
  let trainTokens = 0;
  let trainSamples = 0;
  const t0 = performance.now();
  resetBufferPeak();
  try {
    for (let step = 0; step < c.maxSteps; step++) {
      if (p.shouldStop?.()) break;
      const micro = Array.from({ length: c.gradientAccumulationSteps }, () =>
        collate(Array.from({ length: c.microBatchSize }, () => stream.next().value as TokenizedExample), c.maxSeqLen, p.padId),
      );
      const totalLossTokens = micro.reduce((s, b) => s + b.lossTokens, 0);
      const tokens = micro.reduce((s, b) => s + b.realTokens, 0);
      const profile = step === 0 || step === 1;
      const tStep = performance.now();
      let lossSum = 0;
      let accum: tf.Tensor[] | null = null;
      // Read-backs are asynchronous: WebGPU has no synchronous read under Node.
      const runMicro = async () => {
        for (const [mi, hb] of micro.entries()) {
          const bt = toTensors(hb);
          // Shifted targets and mask from the host labels: no device kernels or tape nodes for them.
          const targets = hostNextTokenTargets(hb.labels, hb.batchSize, hb.seqLen);
          const { value, grads } = tf.variableGrads(() => {
            const { logits } = model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask, training: true, dropoutSeed: c.seed * 100003 + step * 131 + mi });
            return causalLmLoss(logits, targets, Math.max(1, totalLossTokens));
          }, variables);
          tf.dispose([targets.safeTarget, targets.mask]);
          lossSum += (await value.data())[0];
          const g = variables.map((v) => grads[v.name]);
          if (accum === null) accum = g;
          else {
            const prev: tf.Tensor[] = accum;
            accum = prev.map((a, i) => tf.add(a, g[i]));
            prev.forEach((t) => t.dispose());
            g.forEach((t) => t.dispose());
          }
          value.dispose();
          disposeBatch(bt);
        }
      };
      if (profile) {
        const info = await tf.profile(runMicro);
        peakBytes = Math.max(peakBytes, info.peakBytes);
      } else await runMicro();
      const grads = accum as unknown as tf.Tensor[];
      // Flat per optimizer group, with the global norm computed from them (the same bits as globalNorm).
      const prepared = optimizer.prepare(grads);
      grads.forEach((g) => g.dispose());
      const gradNorm = (await prepared.norm.data())[0];
      const tOpt = performance.now();
      if (!Number.isFinite(lossSum) || !Number.isFinite(gradNorm)) {
        disposePrepared(prepared);
        throw new NonFiniteLossError(step + 1, Number.isFinite(lossSum) ? gradNorm : lossSum);
      }
      const lr = learningRateAt(step, { lr: c.learningRate, warmupSteps: c.warmupSteps, totalSteps: c.maxSteps, scheduler: c.scheduler });
      const scale = c.maxGradNorm > 0 && gradNorm > c.maxGradNorm ? c.maxGradNorm / (gradNorm + 1e-6) : 1;
      optimizer.step(prepared, lr, scale);
      disposePrepared(prepared);
      // Force completion so timings mean something on asynchronous backends.
      await variables[0]?.data();
      const tEnd = performance.now();
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
      tensorsAfterLastStep = tf.memory().numTensors;
      trainTokens += tokens;
      trainSamples += c.microBatchSize * c.gradientAccumulationSteps;
      const rec: StepRecord = {
        step: step + 1,
        loss: lossSum,
        lr,
        gradNorm,
        tokens,
        tokensPerS: tokens / ((tEnd - tStep) / 1000),
        msFwdBwd: tOpt - tStep,
        msOptimizer: tEnd - tOpt,
      };
      steps.push(rec);
      logger.debug(rec, 'train step');
      p.onStep?.(rec);
      // Yield to the event loop so signals (Ctrl-C) and progress output get through.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
    optimizerBytes = optimizer.stateBytes();
    optimizer.dispose();
  }
  const wallTimeS = (performance.now() - t0) / 1000;
  // Skip the first step in speed figures: it includes kernel compilation and warm-up.
  const timed = steps.length > 1 ? steps.slice(1) : steps;
  const timedS = timed.reduce((s, r) => s + (r.msFwdBwd + r.msOptimizer) / 1000, 0);
  const timedTokens = timed.reduce((s, r) => s + r.tokens, 0);
  return {
    steps,
    wallTimeS,
    trainTokens,
    trainSamples,
    tokensPerS: timedS > 0 ? timedTokens / timedS : 0,
    samplesPerS: timedS > 0 ? (timed.length * c.microBatchSize * c.gradientAccumulationSteps) / timedS : 0,
    msPerStep: timed.length ? (timedS * 1000) / timed.length : 0,
    msFwdBwd: timed.length ? timed.reduce((s, r) => s + r.msFwdBwd, 0) / timed.length : 0,
    msOptimizer: timed.length ? timed.reduce((s, r) => s + r.msOptimizer, 0) / timed.length : 0,
    peakBytes,
    peakBufferBytes: bufferBytes().peak,
    optimizerBytes,
    tensorsAfterFirstStep,
    tensorsAfterLastStep,
  };
}
