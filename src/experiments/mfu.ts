import { measureMatmulGflops } from '../engine/matmul-peak.js';
import { achievedFlopsPerSecond, mfu, trainingFlopsPerToken } from '../evaluation/flops.js';
import type { LoraShape } from '../evaluation/param-count-lora.js';
import type { ModelConfig } from '../model/types.js';

let peakCache: { backend: string; gflops: number } | null = null;

/** The backend's plain matmul rate, measured once per process on a square 512 matmul. */
export async function matmulPeakGflops(backend: string): Promise<number> {
  if (peakCache?.backend !== backend) {
    const r = await measureMatmulGflops({ m: 512, k: 512, n: 512, iters: 5, warmup: 2 });
    peakCache = { backend, gflops: r.gflops };
  }
  return peakCache.gflops;
}

/** Model FLOPs utilisation of LoRA training against the measured matmul peak. */
export async function computeMfu(config: ModelConfig, lora: LoraShape, seqLen: number, tokensPerS: number, backend: string): Promise<{ mfu?: number; matmul_peak_gflops?: number }> {
  if (!(tokensPerS > 0)) return {};
  const perToken = trainingFlopsPerToken(config, { seqLen: Math.max(1, Math.round(seqLen)), method: { kind: 'lora', ...lora } }).total;
  const peak = await matmulPeakGflops(backend);
  return { mfu: mfu(achievedFlopsPerSecond(perToken, tokensPerS), peak * 1e9), matmul_peak_gflops: peak };
}
