/**
 * The summary metrics the tools write and the report reads. Names are free-form (a new metric
 * needs no schema change), but these are the ones with a fixed meaning; docs/tracking-schema.md
 * lists the same table. `better` tells the report which direction is an improvement.
 */
export interface MetricInfo {
  unit: string | null;
  better: 'lower' | 'higher' | null;
  description: string;
}

export const KNOWN_METRICS = {
  // quality
  eval_loss: { unit: 'nats', better: 'lower', description: 'mean cross-entropy per target token on the eval split' },
  perplexity: { unit: null, better: 'lower', description: 'exp(eval_loss)' },
  token_accuracy: { unit: 'fraction', better: 'higher', description: 'share of target tokens predicted exactly (teacher forcing)' },
  exact_match: { unit: 'fraction', better: 'higher', description: 'share of eval examples whose greedy generation equals the reference' },
  rouge_l: { unit: 'fraction', better: 'higher', description: 'ROUGE-L F1 of greedy generations against references' },
  train_loss: { unit: 'nats', better: 'lower', description: 'mean training loss over the last logging window' },
  // size
  trainable_params: { unit: 'params', better: 'lower', description: 'parameters the optimizer updates (LoRA A and B)' },
  total_params: { unit: 'params', better: null, description: 'base model parameters plus trainable parameters' },
  trainable_pct: { unit: '%', better: 'lower', description: '100 · trainable_params / total_params' },
  adapter_bytes: { unit: 'bytes', better: 'lower', description: 'size of adapter_model.safetensors on disk' },
  // memory
  peak_tfjs_bytes: { unit: 'bytes', better: 'lower', description: 'peak bytes in distinct tfjs buffers during training (a buffer shared by views counted once)' },
  peak_tfjs_tensor_bytes: { unit: 'bytes', better: 'lower', description: 'the same peak as tf.memory().numBytes counts it (every view counted again)' },
  base_weight_bytes: { unit: 'bytes', better: 'lower', description: 'resident bytes of the (possibly quantized) base weights' },
  lora_weight_bytes: { unit: 'bytes', better: 'lower', description: 'resident bytes of the LoRA A and B weights' },
  optimizer_bytes: { unit: 'bytes', better: 'lower', description: 'resident bytes of optimizer state (Adam moments)' },
  peak_rss_bytes: { unit: 'bytes', better: 'lower', description: 'peak resident set size of the process' },
  // speed
  train_tokens_per_s: { unit: 'tokens/s', better: 'higher', description: 'training tokens processed per second (mean over steps after warm-up)' },
  samples_per_s: { unit: 'samples/s', better: 'higher', description: 'training examples per second' },
  ms_per_step: { unit: 'ms', better: 'lower', description: 'median wall time of one optimizer step' },
  ms_fwd_bwd: { unit: 'ms', better: 'lower', description: 'median time of forward plus backward within a step' },
  ms_optimizer: { unit: 'ms', better: 'lower', description: 'median time of the optimizer update within a step' },
  gen_tokens_per_s: { unit: 'tokens/s', better: 'higher', description: 'greedy generation speed during evaluation' },
  mfu: { unit: 'fraction', better: 'higher', description: 'model FLOPs utilisation: achieved / peak FLOP/s of the device' },
  // machine (so the report compares step times only under comparable load)
  load_avg_1m: { unit: null, better: null, description: "the machine's 1-minute load average while training: mean of a sample taken at every step" },
  load_avg_1m_max: { unit: null, better: null, description: 'the highest of those samples' },
  cpu_count: { unit: 'cores', better: null, description: 'logical cores the process could use (os.availableParallelism())' },
  train_steps: { unit: 'steps', better: null, description: 'optimizer steps actually taken' },
} as const satisfies Record<string, MetricInfo>;

export type KnownMetricName = keyof typeof KNOWN_METRICS;

export function metricInfo(name: string): MetricInfo | null {
  return (KNOWN_METRICS as Record<string, MetricInfo>)[name] ?? null;
}
