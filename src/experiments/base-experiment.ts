import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../config/run-config.js';
import { readPreparedDataset, preparedTokenizerHash, type PreparedDataset, warnUnkLabels } from '../data/read-prepared.js';
import { clipToPositions } from '../data/seq-len.js';
import { backendGpuBytes, peakRssBytes, queryGpuMemory } from '../engine/memory.js';
import { evaluateLoss } from '../evaluation/evaluate-loss.js';
import { evaluateGeneration } from '../evaluation/evaluate-generation.js';
import { EvaluationInterruptedError } from '../evaluation/interrupt.js';
import { describeOutOfMemory } from './out-of-memory.js';
import { countParameters } from '../evaluation/param-count.js';
import { injectLora, type InjectedLora } from '../lora/inject.js';
import { loraPlusLrScales } from '../training/loraplus.js';
import { saveAdapter, ADAPTER_WEIGHTS } from '../lora/peft-adapter.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';
import { variedOf } from '../studies/config-path.js';
import type { StudyDefinition } from '../studies/types.js';
import type { StartRunParams } from '../tracking/types.js';
import { train, type TrainResult } from '../training/trainer.js';
import { LoraStudyError } from '../util/errors.js';
import { computeMfu } from './mfu.js';
import { gitCommit, packageVersions } from './provenance.js';
import { baseLinearBytes, quantizeBase } from '../lora/quantize/quantize-base.js';
import { LoadSampler } from './machine-load.js';
import { runIdentity } from './run-identity.js';
import { writeRunJson } from './run-json.js';
import type { ExperimentContext, RunOutcome, RunSummary } from './types.js';
import { parseHubModelId } from '../model/hub/model-id.js';
import { resolveModel } from '../model/hub/resolve-model.js';

type EvalSummary = Pick<RunSummary, 'eval_loss' | 'perplexity' | 'token_accuracy' | 'eval_tokens' | 'exact_match' | 'exact_match_strict' | 'rouge_l' | 'gen_tokens_per_s'>;

/** What an evaluation stopped by Ctrl-C leaves: no measured value (stored as NULL). */
const NOT_EVALUATED: EvalSummary = { eval_loss: Number.NaN, perplexity: Number.NaN, token_accuracy: Number.NaN, eval_tokens: 0 };

export class ExperimentValidationError extends LoraStudyError {}

/**
 * The lifecycle every run shares: validate → load model and data → build adapter → train →
 * evaluate → profile → record → release. What differs per study is data (src/studies): its
 * label, its checks, the config path it varies. The order matters: quantization must happen
 * before the adapter is attached, and memory is released even when a phase fails.
 */
export class BaseExperiment {
  protected loaded: LoadedModel | null = null;
  protected data: PreparedDataset | null = null;
  protected lora: InjectedLora | null = null;
  protected trainResult: TrainResult | null = null;
  protected runId: number | null = null;
  /** The machine's load while this run trained (the report compares timings only under comparable load). */
  protected readonly machineLoad = new LoadSampler();
  readonly outputDir: string;

  constructor(
    readonly study: StudyDefinition,
    readonly config: RunConfig,
    protected readonly ctx: ExperimentContext,
  ) {
    this.outputDir = resolve(ctx.runtime.outputDir);
  }

  /** The experiment type recorded in the tracker: the study's `type`. */
  get experimentType(): string {
    return this.study.type;
  }

  /** Label of the setting this run's study varies, e.g. `r=8`. */
  variantLabel(): string {
    return this.ctx.variant ?? this.study.label(this.config);
  }

  /** Cheap checks that need no model load (dry-run uses them too). */
  validate(): void {
    const c = this.config;
    // A Hub id's files are checked (and fetched) when it is resolved, at load.
    for (const f of parseHubModelId(c.model) ? [] : ['config.json', 'tokenizer.json']) {
      if (!existsSync(join(c.model, f))) {
        throw new ExperimentValidationError(`model folder ${c.model} has no ${f}`, { hint: 'point `model:` at a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)' });
      }
    }
    if (!existsSync(join(c.dataset, 'meta.json'))) {
      throw new ExperimentValidationError(`dataset ${c.dataset} is not a prepared dataset (no meta.json)`, {
        hint: `run \`lora-study prepare-dataset --dataset builtin:mix --name <name> --model ${c.model}\` and point \`dataset:\` at data/<name>`,
      });
    }
    // Not wrong, but they confound the study: say so instead of silently mixing effects.
    for (const warning of this.study.validate?.(c) ?? []) this.ctx.logger.warn({ run: c.name }, warning);
  }

  /** Hook: change the frozen base before the adapter is attached (quantization). */
  protected prepareBase(): void {
    quantizeBase(this.model.model, this.config.quantization);
  }

  protected get model(): LoadedModel {
    if (!this.loaded) throw new Error('internal: model used before load()');
    return this.loaded;
  }

  protected async load(): Promise<void> {
    const { dir } = await resolveModel(this.config.model, { logger: this.ctx.logger });
    this.loaded = await loadModel(dir, { logger: this.ctx.logger });
    this.data = readPreparedDataset(this.config.dataset, { vocabSize: this.loaded.model.config.vocabSize, name: this.config.model });
    const want = preparedTokenizerHash(this.data.meta);
    if (want && want !== this.loaded.tokenizer.hash) {
      throw new ExperimentValidationError(`dataset ${this.config.dataset} was tokenized with a different tokenizer than ${this.config.model}`, {
        hint: 'prepare the dataset again with --model pointing at this model folder',
      });
    }
    warnUnkLabels(this.data, this.loaded.tokenizer, this.ctx.logger);
    this.seqLen = clipToPositions(this.config.training.max_seq_len, this.loaded.model.config.maxPositionEmbeddings, 'training.max_seq_len', this.ctx.logger);
  }

  /** training.max_seq_len, clipped to the model's positions (warned once, at load). */
  protected seqLen = 0;

  protected buildAdapter(): void {
    this.lora = injectLora(this.model.model, this.config.lora, { seed: this.config.seed });
  }

  protected padId(): number {
    const t = this.model.tokenizer;
    return t.padTokenId ?? t.eosTokenId ?? 0;
  }

  protected async trainPhase(): Promise<TrainResult> {
    const t = this.config.training;
    this.machineLoad.sample();
    const shape = { phase: 'training' as const, backend: this.ctx.engine.backend, batchSize: t.batch_size, maxSeqLen: this.seqLen, gradientAccumulationSteps: t.gradient_accumulation_steps };
    const result = await train({
      model: this.model.model,
      variables: this.lora!.variables,
      lrScales: loraPlusLrScales(this.lora!.kinds, t.loraplus_lr_ratio),
      examples: this.data!.train,
      padId: this.padId(),
      logger: this.ctx.logger,
      shouldStop: this.ctx.shouldStop,
      onStep: (rec) => {
        this.machineLoad.sample();
        this.ctx.onStep?.(rec, t.max_steps);
      },
      config: {
        maxSteps: t.max_steps,
        learningRate: t.learning_rate,
        microBatchSize: t.batch_size,
        gradientAccumulationSteps: t.gradient_accumulation_steps,
        maxSeqLen: this.seqLen,
        warmupSteps: t.warmup_steps,
        scheduler: t.lr_scheduler,
        weightDecay: t.weight_decay,
        maxGradNorm: t.max_grad_norm,
        beta1: t.adam_beta1,
        beta2: t.adam_beta2,
        epsilon: t.adam_epsilon,
        seed: this.config.seed,
      },
    }).catch((err: unknown) => {
      throw describeOutOfMemory(err, shape);
    });
    if (this.ctx.store && this.runId !== null) {
      await this.ctx.store.logSteps(this.runId, result.steps.map((s) => ({ step: s.step, loss: s.loss, lr: s.lr, gradNorm: s.gradNorm, tokensPerS: s.tokensPerS, extra: { ms_fwd_bwd: s.msFwdBwd, ms_optimizer: s.msOptimizer } })));
    }
    return result;
  }

  /** Eval loss and generation metrics; throws EvaluationInterruptedError on Ctrl-C between batches or generation steps. */
  protected async evaluatePhase(): Promise<EvalSummary> {
    const e = this.config.eval;
    const rows = this.data!.eval.slice(0, e.max_samples);
    if (rows.length === 0) throw new ExperimentValidationError(`dataset ${this.config.dataset} has an empty eval split`);
    const shouldStop = this.ctx.shouldStop;
    this.ctx.logger.info({ run: this.config.name, rows: rows.length, generate: e.generate }, 'evaluating');
    const oom = (err: unknown) => {
      throw describeOutOfMemory(err, { phase: 'evaluation', backend: this.ctx.engine.backend, batchSize: e.batch_size, maxSeqLen: this.seqLen });
    };
    const loss = await evaluateLoss(this.model.model, rows, { batchSize: e.batch_size, maxSeqLen: this.seqLen, padId: this.padId(), shouldStop }).catch(oom);
    const out: EvalSummary = { eval_loss: loss.meanLoss, perplexity: loss.perplexity, token_accuracy: loss.accuracy, eval_tokens: loss.tokens };
    if (e.generate) {
      const gen = await evaluateGeneration(this.model.model, this.model.tokenizer, rows, { batchSize: e.batch_size, maxNewTokens: e.max_new_tokens, padTokenId: this.padId(), logger: this.ctx.logger, shouldStop }).catch(oom);
      if (gen.scores) {
        out.exact_match = gen.scores.exactMatch;
        out.exact_match_strict = gen.scores.exactMatchStrict;
        out.rouge_l = gen.scores.rougeL.f1;
      }
      out.gen_tokens_per_s = gen.tokensPerS;
    }
    return out;
  }

  /** Cost figures; `measureMfu` false (an interrupted run) skips the seconds-long matmul-peak measurement. */
  protected async profilePhase(tr: TrainResult, measureMfu = true): Promise<Omit<RunSummary, 'eval_loss' | 'perplexity' | 'token_accuracy' | 'eval_tokens' | 'exact_match' | 'exact_match_strict' | 'rouge_l' | 'gen_tokens_per_s' | 'wall_time_s'>> {
    const m = this.model.model;
    const params = countParameters(m.config);
    const linear = baseLinearBytes(m);
    const linearParams = linear.fp32 / 4;
    const trainable = this.lora!.trainableParams;
    const gpu = this.ctx.engine.backend === 'tensorflow' || this.ctx.engine.backend === 'webgpu' ? queryGpuMemory() : null;
    const gpuBytes = backendGpuBytes();
    const seqLen = tr.trainSamples > 0 ? tr.trainTokens / tr.trainSamples : this.config.training.max_seq_len;
    const lora = {
      r: this.config.lora.r,
      targetModules: this.lora!.modules,
      ranks: new Map(this.lora!.modules.map((n) => [n, m.linears.get(n)!.lora!.r])),
      // DoRA's weight norm runs once per forward pass, shared by the micro-batch's tokens.
      ...(this.config.lora.use_dora ? { dora: { tokensPerForward: this.config.training.batch_size * seqLen } } : {}),
    };
    const mfu = measureMfu ? await computeMfu(m.config, lora, seqLen, tr.tokensPerS, this.ctx.engine.backend) : {};
    return {
      trainable_params: trainable,
      total_params: params.total + trainable,
      trainable_pct: (100 * trainable) / (params.total + trainable),
      adapter_bytes: 0,
      base_weight_bytes: linear.actual + (params.total - linearParams) * 4,
      base_weight_bytes_fp32: params.total * 4,
      lora_weight_bytes: trainable * 4,
      optimizer_bytes: tr.optimizerBytes,
      // Distinct buffers when the engine hook is in (always, through tfjs-setup); tf.memory's
      // per-tensor count, which counts reshape views again, is kept beside it.
      peak_tfjs_bytes: tr.peakBufferBytes > 0 ? tr.peakBufferBytes : tr.peakBytes,
      peak_tfjs_tensor_bytes: tr.peakBytes,
      peak_rss_bytes: peakRssBytes(),
      ...(gpu && gpu.length ? { gpu_memory_used_bytes: gpu[0].memoryUsedMiB * 1024 * 1024 } : {}),
      ...(gpuBytes ? { gpu_backend_bytes: gpuBytes.allocated } : {}),
      train_loss_first: tr.steps[0]?.loss ?? Number.NaN,
      train_loss_final: tr.steps.at(-1)?.loss ?? Number.NaN,
      train_tokens: tr.trainTokens,
      train_tokens_per_s: tr.tokensPerS,
      samples_per_s: tr.samplesPerS,
      ms_per_step: tr.msPerStep,
      ms_fwd_bwd: tr.msFwdBwd,
      ms_optimizer: tr.msOptimizer,
      train_time_s: tr.wallTimeS,
      ...this.machineLoad.record(),
      ...mfu,
    };
  }

  protected release(): void {
    this.loaded?.model.dispose();
    this.loaded = null;
    this.lora = null;
  }

  /**
   * Records the run as failed. A tracker write that fails here (a lock held too long, a full
   * disk) must neither escape — the suite would stop and mislabel itself — nor vanish: it is
   * logged and returned, so the outcome and the suite's status say it.
   */
  private async recordFailure(message: string, wallTimeS: number): Promise<string | undefined> {
    const { store, logger } = this.ctx;
    if (!store || this.runId === null) return undefined;
    try {
      await store.finishRun(this.runId, { status: 'failed', error: message, wallTimeS });
      return undefined;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      logger.error({ run: this.config.name, runId: this.runId, err: why }, 'the tracker could not record the run as failed; it stays `running` until the next run-suite marks it interrupted');
      return why;
    }
  }

  /** What the tracker records about this run when it starts. */
  runParams(): StartRunParams {
    const c = this.config;
    return {
      suiteId: this.ctx.suiteId ?? null,
      name: c.name,
      experimentType: this.experimentType,
      config: c,
      configHash: runIdentity(c),
      seed: c.seed,
      variant: this.variantLabel(),
      ...variedOf(c, this.study.varies),
      rank: c.lora.r,
      targetModules: c.lora.target_modules === undefined ? null : Array.isArray(c.lora.target_modules) ? c.lora.target_modules : [c.lora.target_modules],
      quantization: c.quantization,
      model: c.model,
      dataset: c.dataset,
      backend: this.ctx.engine.backend,
      device: this.ctx.engine.device,
      packageVersions: packageVersions(),
      gitCommit: gitCommit(),
      status: 'running',
    };
  }

  /**
   * Runs the whole lifecycle; never throws for a run-level failure (it is recorded instead).
   * `claimed` is a run row the caller already claimed (RunStore.claimRun); otherwise one is started.
   */
  async execute(claimed?: { runId: number }): Promise<RunOutcome> {
    const { store, logger } = this.ctx;
    const t0 = performance.now();
    const c = this.config;
    const phase = (p: Parameters<NonNullable<ExperimentContext['onPhase']>>[0]) => this.ctx.onPhase?.(p);
    const tensorsBefore = tf.memory().numTensors;
    if (store) this.runId = claimed?.runId ?? (await store.startRun(this.runParams()));
    try {
      phase('validate');
      this.validate();
      phase('load');
      await this.load();
      phase('adapter');
      this.prepareBase();
      this.buildAdapter();
      phase('train');
      this.trainResult = await this.trainPhase();
      let interrupted: string | null = this.ctx.shouldStop?.() ? 'interrupted before max_steps' : null;
      phase('evaluate');
      // Ctrl-C during evaluation stops it between batches / generation steps: the trained adapter
      // is still saved, the eval metrics are left out (NULL), and the run is recorded interrupted.
      let evalSummary: EvalSummary = NOT_EVALUATED;
      try {
        evalSummary = await this.evaluatePhase();
      } catch (err) {
        if (!(err instanceof EvaluationInterruptedError)) throw err;
        interrupted ??= err.message;
        logger.warn({ run: c.name }, `${err.message}: saving the adapter and recording the run as interrupted`);
      }
      if (!interrupted && this.ctx.shouldStop?.()) interrupted = 'interrupted after evaluation';
      phase('profile');
      const profile = await this.profilePhase(this.trainResult, !interrupted);
      phase('record');
      const adapterDir = join(this.outputDir, 'adapter');
      await saveAdapter(adapterDir, this.model.model, this.lora!, { baseModel: c.model });
      const summary: RunSummary = { ...profile, ...evalSummary, adapter_bytes: statSync(join(adapterDir, ADAPTER_WEIGHTS)).size, wall_time_s: (performance.now() - t0) / 1000 };
      const status = interrupted ? 'interrupted' : 'completed';
      await writeRunJson(this.outputDir, { config: c, experimentType: this.experimentType, variant: this.variantLabel(), engine: this.ctx.engine, status, summary, steps: this.trainResult.steps, modules: this.lora!.modules });
      let recorded: RunOutcome['status'] = status;
      if (store && this.runId !== null) {
        await store.recordMetrics(this.runId, summary as unknown as Record<string, number>);
        await store.addArtifact(this.runId, 'adapter', adapterDir, summary.adapter_bytes);
        await store.addArtifact(this.runId, 'run_json', join(this.outputDir, 'run.json'));
        const final = await store.finishRun(this.runId, {
          status, wallTimeS: summary.wall_time_s, error: interrupted, exclusive: this.ctx.exclusive,
        });
        recorded = final === 'completed' ? 'completed' : 'interrupted';
        if (final !== status) logger.warn({ run: c.name, runId: this.runId }, 'another worker completed this run first; this copy is recorded interrupted');
      }
      logger.info({ run: c.name, eval_loss: summary.eval_loss, exact_match: summary.exact_match }, 'run finished');
      return { name: c.name, status: recorded, runId: this.runId, outputDir: this.outputDir, summary };
    } catch (err) {
      // Keep the hint: a failed run's error is all the user sees of it later (runs show, report).
      const hint = err instanceof LoraStudyError && err.hint ? ` — ${err.hint}` : '';
      const message = `${err instanceof Error ? err.message : String(err)}${hint}`;
      logger.error({ run: c.name, err: message }, 'run failed');
      const trackerError = await this.recordFailure(message, (performance.now() - t0) / 1000);
      return {
        name: c.name, status: 'failed', runId: this.runId, outputDir: this.outputDir,
        error: trackerError ? `${message}; and the tracker could not record it: ${trackerError}` : message,
        ...(trackerError ? { trackerError } : {}),
      };
    } finally {
      phase('release');
      // After an engine fault (the wasm heap overrun by a batch too large) disposing can throw
      // too; that must not replace the outcome already recorded with its actionable error.
      try {
        this.release();
      } catch (err) {
        logger.warn({ run: c.name, err: err instanceof Error ? err.message : String(err) }, 'could not release the model after the run; the engine may be unusable in this process');
      }
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) logger.warn({ run: c.name, leaked }, 'tensors still allocated after the run');
    }
  }
}
