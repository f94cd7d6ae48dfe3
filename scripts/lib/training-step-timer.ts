// Whole LoRA training steps of a bench shape, for the in-process A/B scripts
// (bench-native-matmul.ts, bench-native-ops.ts, measure-warmup.ts's set-up): they switch kernels between calls of run().
import { readFileSync } from 'node:fs';
import { BENCH_SHAPES, buildRandomModel, type BenchShape } from '../../src/evaluation/bench-shapes.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { train } from '../../src/training/trainer.js';
import { Rng } from '../../src/util/random.js';

export interface StepTimes {
  /** Wall ms of each step after the two warm-up steps. */
  wall: number[];
  /** Process CPU ms (user + system, every thread) per step over the whole run, warm-up included: less sensitive to other processes than wall time. */
  cpuPerStep: number;
  /** CPU ms of the main (JS) thread alone per step over the whole run (Linux schedstat; null elsewhere): the engine's and JS's share, without the kernel pool's threads. */
  mainThreadCpuPerStep: number | null;
}

/** Nanoseconds the main thread has run (Linux: /proc/self/task/<pid>/schedstat), or null. */
function mainThreadNs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** A bench shape's random model with LoRA (seed 0) and `steps` batches of random token examples (seed 1). */
export function benchLoraSetup(shape: BenchShape, steps: number) {
  const model = buildRandomModel(shape);
  const lora = injectLora(model, loraConfigSchema.parse({ r: shape.lora.r, lora_alpha: shape.lora.alpha, target_modules: shape.lora.targetModules }), { seed: 0 });
  const rng = new Rng(1);
  const examples = Array.from({ length: shape.batchSize * steps }, () => {
    const ids = Array.from({ length: shape.seqLen }, () => rng.int(model.config.vocabSize));
    return { input_ids: ids, labels: ids };
  });
  return { model, lora, examples };
}

/** Builds the shape's random model with LoRA; run() trains `steps` steps and times them. */
export function trainingStepTimer(shapeName: string, steps: number): { run: () => Promise<StepTimes> } {
  const shape = BENCH_SHAPES.find((s) => s.name === shapeName);
  if (!shape) throw new Error(`no bench shape ${shapeName}`);
  const { model, lora, examples } = benchLoraSetup(shape, steps);
  const run = async (): Promise<StepTimes> => {
    const c0 = process.cpuUsage();
    const m0 = mainThreadNs();
    const res = await train({
      model, variables: lora.variables, examples, padId: 0,
      config: {
        maxSteps: steps, learningRate: 1e-4, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1,
        maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1,
        beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 0,
      },
    });
    const cpu = process.cpuUsage(c0);
    const m1 = mainThreadNs();
    // The first two steps are warm-up (kernel set-up, the trainer's profiled step).
    return { wall: res.steps.slice(2).map((s) => s.msFwdBwd + s.msOptimizer), cpuPerStep: (cpu.user + cpu.system) / 1000 / steps,
      mainThreadCpuPerStep: m0 === null || m1 === null ? null : (m1 - m0) / 1e6 / steps,
    };
  };
  return { run };
}
