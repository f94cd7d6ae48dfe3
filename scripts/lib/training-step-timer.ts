// Whole LoRA training steps of a bench shape, for the in-process A/B scripts
// (bench-native-matmul.ts, bench-native-ops.ts): they switch kernels between calls of run().
import { BENCH_SHAPES, buildRandomModel } from '../../src/evaluation/bench-shapes.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { train } from '../../src/training/trainer.js';
import { Rng } from '../../src/util/random.js';

export interface StepTimes {
  /** Wall ms of each step after the two warm-up steps. */
  wall: number[];
  /** Process CPU ms (user + system, every thread) per step over the whole run, warm-up included: less sensitive to other processes than wall time. */
  cpuPerStep: number;
}

/** Builds the shape's random model with LoRA; run() trains `steps` steps and times them. */
export function trainingStepTimer(shapeName: string, steps: number): { run: () => Promise<StepTimes> } {
  const shape = BENCH_SHAPES.find((s) => s.name === shapeName);
  if (!shape) throw new Error(`no bench shape ${shapeName}`);
  const model = buildRandomModel(shape);
  const lora = injectLora(model, loraConfigSchema.parse({ r: shape.lora.r, lora_alpha: shape.lora.alpha, target_modules: shape.lora.targetModules }), { seed: 0 });
  const rng = new Rng(1);
  const examples = Array.from({ length: shape.batchSize * steps }, () => {
    const ids = Array.from({ length: shape.seqLen }, () => rng.int(model.config.vocabSize));
    return { input_ids: ids, labels: ids };
  });
  const run = async (): Promise<StepTimes> => {
    const c0 = process.cpuUsage();
    const res = await train({
      model, variables: lora.variables, examples, padId: 0,
      config: {
        maxSteps: steps, learningRate: 1e-4, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1,
        maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1,
        beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 0,
      },
    });
    const cpu = process.cpuUsage(c0);
    // The first two steps are warm-up (kernel set-up, the trainer's profiled step).
    return { wall: res.steps.slice(2).map((s) => s.msFwdBwd + s.msOptimizer), cpuPerStep: (cpu.user + cpu.system) / 1000 / steps };
  };
  return { run };
}
