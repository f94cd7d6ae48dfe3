import type { Command } from 'commander';
import { NATIVE_MATMUL_HELP, type NativeMatmulMode } from '../engine/native-matmul.js';
import { resolveRunConfig, type RunOverrides } from '../config/resolve-run-config.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { runSingle } from '../experiments/run-single.js';
import { openRunStore } from '../tracking/open-store.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { createLogger } from '../util/logger.js';
import { formatRunSummary } from './format-run.js';
import { TrainProgress } from './progress.js';
import { FLAG_SCHEMAS, numberFlag, runConfigFlag } from './numeric-flag.js';
import { RunFailedError, printJson, runCommand } from './run-command.js';
import { interruptFlag } from './signals.js';

interface Opts extends RunOverrides {
  config?: string;
  backend: BackendRequest;
  threads?: number;
  nativeMatmul?: NativeMatmulMode;
  output?: string;
  db?: string;
  track: boolean;
  json?: boolean;
}

const cfg = runConfigFlag;

export function register(program: Command): void {
  program
    .command('run-single')
    .description('fine-tune one LoRA adapter, evaluate it, and record the run')
    .option('-c, --config <file>', 'YAML run config (flags below override its fields)')
    .option('--model <dir|id>', 'Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or Hub id org/name[@revision], downloaded into the HF cache')
    .option('--dataset <dir>', 'prepared dataset folder (from prepare-dataset)')
    .option('--name <name>', 'run name (string, default: "run")')
    .option('--r <n>', 'LoRA rank (int, default: 8)', cfg('--r', 'r'))
    .option('--alpha <x>', 'lora_alpha (number, default: 8)', cfg('--alpha', 'alpha'))
    .option('--dropout <p>', 'lora_dropout (number, default: 0)', cfg('--dropout', 'dropout'))
    .option('--targets <list>', 'target modules: comma list of suffixes, a regex, or all-linear (default: architecture default)')
    .option('--rslora', 'scale by alpha/√r (rsLoRA)')
    .option('--dora', 'DoRA: train a magnitude vector beside LoRA (lora.use_dora)')
    .option('--init <how>', 'init_lora_weights: true|false|gaussian|pissa|pissa_niter_<N>|olora (default: true)', parseInit)
    .option('--loraplus-ratio <x>', 'LoRA+: lora_B (and DoRA\'s magnitude) learn at lr × this (training.loraplus_lr_ratio; PEFT examples: 16)', cfg('--loraplus-ratio', 'loraplusRatio'))
    .option('--quantization <fmt>', 'base-weight precision: fp32|int8|nf4|nf4-dq|fp4 (default: fp32)')
    .option('--steps <n>', 'optimizer steps (int, default: 100)', cfg('--steps', 'steps'))
    .option('--lr <x>', 'peak learning rate (number, default: 2e-4)', cfg('--lr', 'lr'))
    .option('--batch <n>', 'micro-batch size (int, default: 8)', cfg('--batch', 'batch'))
    .option('--grad-accum <n>', 'gradient accumulation steps (int, default: 1)', cfg('--grad-accum', 'gradAccum'))
    .option('--seq-len <n>', 'max sequence length (int, default: 256; clipped to the model\'s positions, with a warning)', cfg('--seq-len', 'seqLen'))
    .option('--warmup <n>', 'warmup steps (int, default: 0)', cfg('--warmup', 'warmup'))
    .option('--eval-samples <n>', 'eval examples (int, default: 200)', cfg('--eval-samples', 'evalSamples'))
    .option('--no-generate', 'skip generation metrics (exact match, ROUGE-L)')
    .option('--seed <n>', 'seed (int, default: 42)', cfg('--seed', 'seed'))
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
    .option('--threads <n>', 'wasm threads (int, default: cores)', numberFlag('--threads', FLAG_SCHEMAS.threads))
    .option('--native-matmul <mode>', NATIVE_MATMUL_HELP)
    .option('-o, --output <dir>', 'output folder for adapter and run.json (default: results/runs/<name>)')
    .option(DB_FLAGS, DB_HELP)
    .option('--no-track', 'do not record the run in the tracker')
    .option('--json', 'print one JSON document with the outcome')
    .action(async (opts: Opts) => {
      await runCommand('run-single', opts, async () => {
        const logger = createLogger();
        const { config: file, backend, threads, nativeMatmul, output, db, track, json, ...overrides } = opts;
        // commander sets generate=true by default through --no-generate; only pass it when it was turned off.
        if (overrides.generate === true) delete overrides.generate;
        const config = resolveRunConfig(file, overrides);
        const engine = await initEngine({ backend, threads, nativeMatmul, logger });
        logger.info({ backend: engine.backend, device: engine.device }, 'engine ready');
        const store = track ? await openRunStore(db) : undefined;
        const progress = new TrainProgress(!json && Boolean(process.stderr.isTTY));
        const stop = interruptFlag();
        try {
          progress.start(config.name, config.training.max_steps);
          const outcome = await runSingle({
            config,
            runtime: { backend, threads, outputDir: output ?? `results/runs/${config.name}`, dbPath: store?.location },
            engine,
            logger,
            store,
            onStep: (rec) => progress.step(rec),
            shouldStop: stop.isSet,
          });
          progress.stop();
          // --json prints one document: the outcome, or for a failed run the error that carries it.
          if (!json) process.stdout.write(`${formatRunSummary(outcome)}\n`);
          if (outcome.status === 'failed') throw new RunFailedError(outcome.error ?? 'run failed', outcome);
          if (json) printJson(outcome);
          return outcome.status === 'completed' ? 0 : 130;
        } finally {
          progress.stop();
          stop.dispose();
          await store?.close();
        }
      });
    });
}

/** `--init true|false|…`: the booleans as booleans, every other value as PEFT's string (validated by the schema). */
function parseInit(v: string): boolean | string {
  return v === 'true' ? true : v === 'false' ? false : v;
}
