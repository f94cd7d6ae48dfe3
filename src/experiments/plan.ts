import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PlannedRun } from '../config/expand-suite.js';
import type { PrepareSpec } from '../config/suite-config.js';
import { trainingFlopsPerToken } from '../evaluation/flops.js';
import { countParameters } from '../evaluation/param-count.js';
import { planLora } from '../lora/lora-plan.js';
import { quantizedBytes } from '../lora/quantize/quantized-bytes.js';
import type { MemoryLimit } from '../engine/memory-limit.js';
import { checkCheckpointShapes, readCheckpointShapes } from '../model/checkpoint-shapes.js';
import { parseModelConfig } from '../model/config.js';
import { linearModules } from '../model/model-shapes.js';
import type { ModelConfig } from '../model/types.js';
import { parseHubModelId } from '../model/hub/model-id.js';
import { localModelDir } from '../model/hub/resolve-model.js';
import { missingModelFiles } from '../model/hub/cache-layout.js';
import { hubHeaderCheck } from '../model/hub/hub-plan.js';

/**
 * Fraction of the measured matmul peak a training step is assumed to reach when estimating
 * time before anything ran; the benchmark (scripts/bench-train.ts) measures the real figure.
 */
export const ASSUMED_TRAIN_EFFICIENCY = 0.3;

export interface PlanRow {
  name: string;
  variant: string;
  seed: number;
  ok: boolean;
  error?: string;
  /** Set by run-suite --resume: a completed run with the same config hash exists. */
  skip?: string;
  modules?: number;
  trainable_params?: number;
  trainable_pct?: number;
  base_weight_bytes?: number;
  est_peak_bytes?: number;
  /** The memory the backend can give the run (see engine/memory-limit.ts), when known. */
  memory_limit_bytes?: number;
  /** false when est_peak_bytes exceeds memory_limit_bytes: the run is refused as `will not fit`. */
  fits?: boolean;
  est_train_tokens?: number;
  est_time_s?: number;
}

/**
 * config.json, checked against the shapes in the safetensors headers (never trusted alone). A
 * Hub id is read from its cached snapshot (prefetchModelConfigs put config.json there); the
 * plan downloads no weights: its config is checked against the weights in the cache, else
 * against the headers prefetchSafetensorsHeaders read from the Hub, else (a note says so) not.
 */
function readModelConfig(spec: string): ModelConfig {
  if (parseHubModelId(spec)) {
    const file = join(localModelDir(spec), 'config.json');
    if (!existsSync(file)) throw new Error(`the cached snapshot of ${spec} has no config.json (${file})`);
    const config = parseModelConfig(JSON.parse(readFileSync(file, 'utf8')), file);
    if (missingModelFiles(dirname(file)).length === 0) readCheckpointShapes(dirname(file), config);
    else {
      const h = hubHeaderCheck(spec);
      if (h) checkCheckpointShapes(h.label, config, h.files, h.read);
    }
    return config;
  }
  const dir = spec;
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`model folder ${dir} has no config.json`);
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new Error(`model folder ${dir} has no tokenizer.json`);
  if (!existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'model.safetensors.index.json'))) {
    throw new Error(`model folder ${dir} has no model.safetensors (or sharded index)`);
  }
  const config = parseModelConfig(JSON.parse(readFileSync(file, 'utf8')), file);
  readCheckpointShapes(dir, config);
  return config;
}

/** Mean tokens per training example: from meta.json when prepared, else half of max_seq_len. */
function meanTokens(datasetDir: string, maxSeqLen: number): number {
  const meta = join(datasetDir, 'meta.json');
  if (existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { tokens?: { train?: { mean_length?: number } } };
    const mean = m.tokens?.train?.mean_length;
    if (typeof mean === 'number' && mean > 0) return Math.min(mean, maxSeqLen);
  }
  return maxSeqLen / 2;
}

/**
 * Peak bytes of one training step, estimated: base weights at their precision, LoRA weights,
 * their gradients and two Adam moments, plus activations kept for the backward pass (per layer
 * roughly 16·C values per token and 2·H·T attention scores per token), each adapted module's
 * x·A (r values per token, and its gradient) and the logits (logits, log-softmax and one-hot:
 * 3·V per token).
 */
export function estimatePeakBytes(
  c: ModelConfig,
  baseBytes: number,
  trainable: number,
  tokensPerStep: number,
  seqLen: number,
  loraRankSum = 0,
): number {
  const perTokenLayer = 16 * c.hiddenSize + 4 * c.intermediateSize + 2 * c.numHeads * seqLen;
  const activations = tokensPerStep * (c.numLayers * perTokenLayer + 2 * loraRankSum + 3 * c.vocabSize) * 4;
  return baseBytes + trainable * 4 * 4 + activations;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Validates one run without loading weights and estimates what it will cost. With a memory
 * limit, a run whose estimated peak exceeds it is not ok: its error starts `will not fit`.
 */
export function planRun(run: PlannedRun, opts: { prepare?: PrepareSpec; matmulGflops: number; memoryLimit?: MemoryLimit }): PlanRow {
  const row: PlanRow = { name: run.name, variant: run.variant, seed: run.seed, ok: true };
  try {
    const c = run.config;
    const mc = readModelConfig(c.model);
    if (!existsSync(join(c.dataset, 'meta.json')) && !opts.prepare) {
      throw new Error(`dataset ${c.dataset} is not prepared and the suite has no prepare: block`);
    }
    const linears = linearModules(mc);
    const lora = planLora(linears, c.lora, mc.modelType);
    const trainable = lora.trainableParams;
    const params = countParameters(mc);
    // QLoRA quantizes every block linear; embeddings, norms, biases and the head stay float32.
    let linearParams = 0;
    let linearBytes = 0;
    for (const m of linears) {
      if (m.layer === null) continue;
      linearParams += m.inFeatures * m.outFeatures;
      linearBytes += quantizedBytes([m.outFeatures, m.inFeatures], c.quantization);
    }
    const baseBytes = linearBytes + (params.total - linearParams) * 4;
    const t = c.training;
    const seqLen = meanTokens(c.dataset, t.max_seq_len);
    const tokensPerStep = t.batch_size * seqLen; // one micro-batch is live at a time
    const trainTokens = t.max_steps * t.batch_size * t.gradient_accumulation_steps * seqLen;
    const flops = trainingFlopsPerToken(mc, { seqLen: Math.round(seqLen), method: { kind: 'lora', r: c.lora.r, targetModules: lora.modules, ranks: new Map(lora.modules.map((n, i) => [n, lora.ranks[i]])), ...(c.lora.use_dora ? { dora: { tokensPerForward: tokensPerStep } } : {}) } }).total;
    Object.assign(row, {
      modules: lora.modules.length,
      trainable_params: trainable,
      trainable_pct: (100 * trainable) / (params.total + trainable),
      base_weight_bytes: baseBytes,
      est_peak_bytes: estimatePeakBytes(mc, baseBytes, trainable, tokensPerStep, seqLen, lora.ranks.reduce((a, b) => a + b, 0)),
      est_train_tokens: Math.round(trainTokens),
      est_time_s: opts.matmulGflops > 0 ? (flops * trainTokens) / (opts.matmulGflops * 1e9 * ASSUMED_TRAIN_EFFICIENCY) : undefined,
    });
    const limit = opts.memoryLimit;
    if (limit) {
      row.memory_limit_bytes = limit.bytes;
      row.fits = row.est_peak_bytes! <= limit.bytes;
      if (!row.fits) {
        row.ok = false;
        row.error = `will not fit: estimated peak ${gib(row.est_peak_bytes!)} > ${gib(limit.bytes)}, ${limit.what}`;
      }
    }
  } catch (err) {
    row.ok = false;
    row.error = err instanceof Error ? err.message : String(err);
  }
  return row;
}
