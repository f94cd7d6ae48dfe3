import type { Command } from 'commander';
import { NATIVE_MATMUL_HELP, type NativeMatmulMode } from '../engine/native-matmul.js';
import { QUANT_FORMATS } from '../config/run-config.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { evaluateModel, type EvaluateModelResult, type EvaluationMetrics } from '../evaluation/evaluate-model.js';
import { EVALUATE_METRIC_PREFIX, findRunAdapter, recordEvaluation } from '../evaluation/evaluation-record.js';
import type { QuantFormat } from '../lora/quantize/types.js';
import { formatTextTable } from '../reporting/text-table.js';
import { ReadOnlyDatabaseError } from '../tracking/sqlite/db-errors.js';
import { openRunStore } from '../tracking/open-store.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { LoraStudyError } from '../util/errors.js';
import { createLogger, type Logger } from '../util/logger.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';
import { interruptFlag } from './signals.js';

interface Opts {
  model?: string;
  dataset?: string;
  adapter?: string;
  run?: number;
  db?: string;
  metricPrefix: string;
  maxSamples?: number;
  batchSize: number;
  maxSeqLen?: number;
  generate: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  samples: number;
  quantization?: string;
  backend: BackendRequest;
  threads?: number;
  nativeMatmul?: NativeMatmulMode;
  json?: boolean;
}

const num = numberFlag;
const S = FLAG_SCHEMAS;
const fmt = (x: number | undefined, d: number) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

/** The metrics table and, when asked for, generations beside their references. */
export function formatEvaluation(r: EvaluateModelResult): string {
  const m = r.metrics;
  const rows: string[][] = [
    ['eval loss (nats)', fmt(m.eval_loss, 4)],
    ['perplexity', fmt(m.perplexity, 3)],
    ['next-token accuracy', fmt(m.token_accuracy, 4)],
    ['exact match', fmt(m.exact_match, 4)],
    ['exact match (strict)', fmt(m.exact_match_strict, 4)],
    ['ROUGE-L F1', fmt(m.rouge_l, 4)],
    ['generation tokens/s', fmt(m.gen_tokens_per_s, 1)],
    ['eval rows / tokens', `${m.eval_samples} / ${m.eval_tokens}`],
  ];
  const head = `${r.adapter ? `base + adapter ${r.adapter}` : 'base model alone'} (${r.model}, ${r.quantization}) on ${r.dataset}`;
  const gen = r.generation ? `generation: max ${r.generation.maxNewTokens} new tokens, temperature ${r.generation.temperature}, top-p ${r.generation.topP}` : 'generation: off';
  const parts = [head, gen, '', formatTextTable(['metric', 'value'], rows)];
  r.samples.forEach((s, i) => {
    parts.push('', `── sample ${i + 1} ──`, `prompt:     ${s.prompt.trim().replace(/\n/g, '\n            ')}`, `reference:  ${s.reference}`, `generated:  ${s.prediction}`);
  });
  return parts.join('\n');
}

/**
 * Records the metrics into the run through a writable connection (the run was read through a
 * read-only one). A read-only database is not an error: the evaluation is printed, and a warning
 * says it was not recorded.
 */
async function recordIntoRun(db: string | undefined, runId: number, metrics: EvaluationMetrics, prefix: string, logger: Logger): Promise<Record<string, number> | null> {
  try {
    const store = await openRunStore(db, { mustExist: true });
    try {
      return await recordEvaluation(store, runId, metrics, prefix);
    } finally {
      await store.close();
    }
  } catch (err) {
    if (!(err instanceof ReadOnlyDatabaseError)) throw err;
    logger.warn(`metrics not recorded into run ${runId}: ${err.message}`);
    return null;
  }
}

export function register(program: Command): void {
  program
    .command('evaluate-model')
    .description('evaluate a base model, or base + LoRA adapter, on a prepared dataset\'s eval split')
    .option('--model <dir|id>', 'Hugging Face model folder or Hub id org/name[@revision] (default with --run: the run\'s model)')
    .option('--dataset <dir>', 'prepared dataset folder (default with --run: the run\'s dataset)')
    .option('--adapter <dir>', 'PEFT adapter folder to attach (default: none, the base alone)')
    .option('--run <id>', 'tracked run id: evaluates its adapter and records the metrics into it', num('--run', S.runId))
    .option(DB_FLAGS, `${DB_HELP}; read and written with --run`)
    .option('--metric-prefix <prefix>', 'prefix of the metric names recorded with --run ("" overwrites the run\'s own)', EVALUATE_METRIC_PREFIX)
    .option('--max-samples <n>', 'evaluate the first N eval rows (int, default: all)', num('--max-samples', S.evalMaxSamples))
    .option('--batch-size <n>', 'rows per forward pass / generation batch (int)', num('--batch-size', S.evalBatchSize), 16)
    .option('--max-seq-len <n>', 'truncate rows for the loss (int, default: no truncation)', num('--max-seq-len', S.maxSeqLen))
    .option('--no-generate', 'skip generation (exact match, ROUGE-L, generation tokens/s)')
    .option('--max-new-tokens <n>', 'generation length limit (int)', num('--max-new-tokens', S.maxNewTokens), 32)
    .option('--temperature <t>', 'sampling temperature, 0 = greedy (number ≥ 0)', num('--temperature', S.temperature), 0)
    .option('--top-p <p>', 'nucleus sampling mass, 1 = off (number in (0, 1])', num('--top-p', S.topP), 1)
    .option('--seed <n>', 'sampling seed (int)', num('--seed', S.seed), 0)
    .option('--samples <n>', 'print N generations beside their references (int)', num('--samples', S.count), 0)
    .option('--quantization <fmt>', `base-weight precision: ${QUANT_FORMATS.join('|')} (default: fp32, or the run's)`)
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu', 'auto')
    .option('--threads <n>', 'wasm threads (int, default: cores)', num('--threads', S.threads))
    .option('--native-matmul <mode>', NATIVE_MATMUL_HELP)
    .option('--json', 'print one JSON document with the result')
    .action(async (opts: Opts) => {
      await runCommand('evaluate-model', opts, async () => {
        const logger = createLogger();
        if (opts.run !== undefined && opts.adapter) throw new LoraStudyError('--run and --adapter both name an adapter', { hint: 'pass one of them' });
        if (opts.quantization !== undefined && !(QUANT_FORMATS as readonly string[]).includes(opts.quantization)) {
          throw new LoraStudyError(`--quantization "${opts.quantization}" is not a known format`, { hint: `use one of: ${QUANT_FORMATS.join(', ')}` });
        }
        const store = opts.run !== undefined ? await openRunStore(opts.db, { readonly: true }) : undefined;
        try {
          const fromRun = store ? await findRunAdapter(store, opts.run!) : null;
          const model = opts.model ?? fromRun?.model ?? undefined;
          const dataset = opts.dataset ?? fromRun?.dataset ?? undefined;
          if (!model || !dataset) throw new LoraStudyError(`--${model ? 'dataset' : 'model'} is required`, { hint: 'name the base model folder and a prepared dataset, or a tracked --run' });
          const engine = await initEngine({ backend: opts.backend, threads: opts.threads, nativeMatmul: opts.nativeMatmul, logger });
          const stop = interruptFlag('stopping evaluation after the current batch or generation step');
          const result = await evaluateModel({
            model,
            dataset,
            adapter: opts.adapter ?? fromRun?.adapterDir ?? null,
            quantization: (opts.quantization ?? fromRun?.quantization ?? 'fp32') as QuantFormat,
            maxSamples: opts.maxSamples,
            batchSize: opts.batchSize,
            maxSeqLen: opts.maxSeqLen,
            generate: opts.generate,
            maxNewTokens: opts.maxNewTokens,
            temperature: opts.temperature,
            topP: opts.topP,
            seed: opts.seed,
            samples: opts.samples,
            logger,
            shouldStop: stop.isSet,
          }).finally(() => stop.dispose());
          const recorded = store ? await recordIntoRun(opts.db, opts.run!, result.metrics, opts.metricPrefix, logger) : null;
          if (opts.json) printJson({ ...result, engine, run: opts.run ?? null, recorded });
          else {
            process.stdout.write(`${formatEvaluation(result)}\n`);
            if (recorded) process.stdout.write(`\nrecorded ${Object.keys(recorded).length} metrics into run ${opts.run} (${opts.metricPrefix}*)\n`);
          }
        } finally {
          await store?.close();
        }
      });
    });
}
