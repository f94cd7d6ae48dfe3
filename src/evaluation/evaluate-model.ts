import { clipToPositions } from '../data/seq-len.js';
import { checkPreparedIds, preparedTokenizerHash, readPreparedDataset } from '../data/read-prepared.js';
import { quantizeBase } from '../lora/quantize/quantize-base.js';
import { loadAdapter } from '../lora/peft-adapter.js';
import type { QuantFormat } from '../lora/quantize/types.js';
import { loadModel } from '../model/load-model.js';
import { LoraStudyError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { evaluateGeneration, type GenerationSample } from './evaluate-generation.js';
import { evaluateLoss } from './evaluate-loss.js';
import { resolveModel } from '../model/hub/resolve-model.js';

export class EvaluateModelError extends LoraStudyError {}

export interface EvaluateModelParams {
  /** Hugging Face model folder of the base model. */
  model: string;
  /** Prepared dataset folder; its eval split is evaluated. */
  dataset: string;
  /** PEFT adapter folder to attach to the base; null or absent evaluates the base alone. */
  adapter?: string | null;
  /** Precision of the frozen base weights, applied before the adapter (as in training). Default fp32. */
  quantization?: QuantFormat;
  /** The first N rows of eval.jsonl. Default: all of them. */
  maxSamples?: number;
  /** Rows per forward pass and per generation batch. Default 16. */
  batchSize?: number;
  /** Truncate rows to this many tokens for the loss. Default: none (the HF definition over the whole split). */
  maxSeqLen?: number;
  /** Generate answers and score them (exact match, ROUGE-L). Default true. */
  generate?: boolean;
  /** Generation length limit per row. Default 32. */
  maxNewTokens?: number;
  /** 0 = greedy (default). */
  temperature?: number;
  /** Nucleus sampling mass; 1 = off (default). */
  topP?: number;
  /** Seeds sampling when temperature > 0. Default 0. */
  seed?: number;
  /** How many generations to return beside their references. Default 0. */
  samples?: number;
  logger?: Logger;
  /** Checked between batches and generation steps (Ctrl-C): throws EvaluationInterruptedError when set. */
  shouldStop?: () => boolean;
}

/** The figures of one evaluation, under the metric names of tracking/metric-names.ts. */
export interface EvaluationMetrics {
  eval_loss: number;
  perplexity: number;
  token_accuracy: number;
  eval_tokens: number;
  eval_samples: number;
  exact_match?: number;
  exact_match_strict?: number;
  rouge_l?: number;
  gen_tokens_per_s?: number;
}

export interface EvaluateModelResult {
  model: string;
  dataset: string;
  adapter: string | null;
  quantization: QuantFormat;
  /** The generation settings, or null with generation off. */
  generation: { maxNewTokens: number; temperature: number; topP: number } | null;
  metrics: EvaluationMetrics;
  samples: GenerationSample[];
  wallTimeS: number;
}

/**
 * Evaluates a base model, or base + adapter, on a prepared dataset's eval split: eval loss (the
 * mean cross-entropy over every `labels != -100` position, next-token shifted, so an
 * independent implementation gets the same number from the same files), perplexity, next-token
 * accuracy, and, unless turned off, generations scored with exact match and ROUGE-L.
 */
export async function evaluateModel(params: EvaluateModelParams): Promise<EvaluateModelResult> {
  const logger = params.logger ?? silentLogger;
  const t0 = performance.now();
  const quantization = params.quantization ?? 'fp32';
  const batchSize = params.batchSize ?? 16;
  const data = readPreparedDataset(params.dataset);
  const rows = data.eval.slice(0, params.maxSamples ?? data.eval.length);
  if (rows.length === 0) throw new EvaluateModelError(`dataset ${params.dataset} has an empty eval split`);
  const resolved = await resolveModel(params.model, { logger });
  const loaded = await loadModel(resolved.dir, { logger });
  try {
    const want = preparedTokenizerHash(data.meta);
    if (want && want !== loaded.tokenizer.hash) {
      throw new EvaluateModelError(`dataset ${params.dataset} was tokenized with a different tokenizer than ${params.model}`, {
        hint: 'prepare the dataset again with --model pointing at this model folder',
      });
    }
    const { model, tokenizer } = loaded;
    checkPreparedIds(data, model.config.vocabSize, params.model);
    quantizeBase(model, quantization);
    if (params.adapter) await loadAdapter(params.adapter, model);
    const padId = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
    const maxSeqLen = clipToPositions(params.maxSeqLen ?? Math.max(...rows.map((r) => r.input_ids.length)), model.config.maxPositionEmbeddings, 'max_seq_len', logger);
    logger.info({ rows: rows.length, adapter: params.adapter ?? null, quantization }, 'evaluating loss');
    const loss = await evaluateLoss(model, rows, { batchSize, maxSeqLen, padId, shouldStop: params.shouldStop });
    const metrics: EvaluationMetrics = {
      eval_loss: loss.meanLoss,
      perplexity: loss.perplexity,
      token_accuracy: loss.accuracy,
      eval_tokens: loss.tokens,
      eval_samples: rows.length,
    };
    const generateOn = params.generate ?? true;
    const generation = generateOn ? { maxNewTokens: params.maxNewTokens ?? 32, temperature: params.temperature ?? 0, topP: params.topP ?? 1 } : null;
    let samples: GenerationSample[] = [];
    if (generation) {
      logger.info({ rows: rows.length, ...generation }, 'generating');
      const gen = await evaluateGeneration(model, tokenizer, rows, { batchSize, padTokenId: padId, seed: params.seed, logger, shouldStop: params.shouldStop, ...generation });
      if (gen.scores) {
        metrics.exact_match = gen.scores.exactMatch;
        metrics.exact_match_strict = gen.scores.exactMatchStrict;
        metrics.rouge_l = gen.scores.rougeL.f1;
      }
      metrics.gen_tokens_per_s = gen.tokensPerS;
      samples = gen.samples.slice(0, params.samples ?? 0);
    }
    return {
      model: resolved.spec,
      dataset: params.dataset,
      adapter: params.adapter ?? null,
      quantization,
      generation,
      metrics,
      samples,
      wallTimeS: (performance.now() - t0) / 1000,
    };
  } finally {
    loaded.model.dispose();
  }
}

