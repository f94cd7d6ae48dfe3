import type { EngineInfo } from '../engine/types.js';
import type { RunConfig, RuntimeSettings } from '../config/run-config.js';
import type { RunSink } from '../tracking/run-store.js';
import type { StepRecord } from '../training/trainer.js';
import type { Logger } from '../util/logger.js';

/** Everything an experiment needs that is not part of its config. */
export interface ExperimentContext {
  runtime: RuntimeSettings;
  engine: EngineInfo;
  logger: Logger;
  /** Where the run is recorded (SQLite or Postgres behind one interface); none for `--no-track`. */
  store?: RunSink;
  /** Complete the run only if no other row completed its config first (queue workers). */
  exclusive?: boolean;
  suiteId?: number | null;
  /** Human label of the varied setting (e.g. `r=8`), shown in progress and stored on the run. */
  variant?: string;
  onPhase?: (phase: ExperimentPhase) => void;
  onStep?: (rec: StepRecord, maxSteps: number) => void;
  /** Set on Ctrl-C: training stops at the next step boundary and the run is marked interrupted. */
  shouldStop?: () => boolean;
}

export type ExperimentPhase = 'validate' | 'load' | 'adapter' | 'train' | 'evaluate' | 'profile' | 'record' | 'release';

/** Every figure a run produces (also run.json's `summary`). */
export interface RunSummary {
  trainable_params: number;
  total_params: number;
  trainable_pct: number;
  adapter_bytes: number;
  base_weight_bytes: number;
  base_weight_bytes_fp32: number;
  lora_weight_bytes: number;
  optimizer_bytes: number;
  /** Peak bytes in distinct tfjs buffers during training. */
  peak_tfjs_bytes: number;
  /** The same peak as tf.memory().numBytes counts it (views counted again; larger). */
  peak_tfjs_tensor_bytes: number;
  peak_rss_bytes: number;
  gpu_memory_used_bytes?: number;
  /** GPU buffer bytes the backend's pool holds after training (webgpu; its high-water mark). */
  gpu_backend_bytes?: number;
  train_loss_first: number;
  train_loss_final: number;
  train_tokens: number;
  train_tokens_per_s: number;
  samples_per_s: number;
  ms_per_step: number;
  ms_fwd_bwd: number;
  ms_optimizer: number;
  train_time_s: number;
  /** The 1-minute load average while training (mean and highest of the per-step samples; absent on Windows). */
  load_avg_1m?: number;
  load_avg_1m_max?: number;
  /** Logical cores the process could use. */
  cpu_count: number;
  mfu?: number;
  matmul_peak_gflops?: number;
  eval_loss: number;
  perplexity: number;
  token_accuracy: number;
  eval_tokens: number;
  exact_match?: number;
  exact_match_strict?: number;
  rouge_l?: number;
  gen_tokens_per_s?: number;
  wall_time_s: number;
}

export interface RunOutcome {
  name: string;
  status: 'completed' | 'failed' | 'interrupted';
  runId: number | null;
  outputDir: string;
  error?: string;
  /** Set when the tracker failed to record this outcome (the run row may still say `running`). */
  trackerError?: string;
  summary?: RunSummary;
}
