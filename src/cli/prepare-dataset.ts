import { basename, extname } from 'node:path';
import { type Command, Option } from 'commander';
import { BUILTIN_DATASET_NAMES } from '../data/builtin/registry.js';
import { DROP_REASONS } from '../data/drops.js';
import {
  BUILTIN_DEFAULT_SAMPLES,
  DEFAULT_EVAL_FRACTION,
  DEFAULT_MAX_SEQ_LEN,
  DEFAULT_SEED,
  prepareDataset,
  type PrepareSummary,
  UNK_LABEL_POLICIES,
  type UnkLabelPolicy,
} from '../data/prepare.js';
import { DATASET_ALIASES, parseSourceSpec } from '../data/source-spec.js';
import { TEMPLATE_NAMES } from '../data/templates.js';
import { createLogger } from '../util/logger.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';
import { resolveModel } from '../model/hub/resolve-model.js';

interface Options {
  dataset: string;
  name?: string;
  outDir: string;
  model: string;
  template: string;
  numSamples?: number;
  evalSamples?: number;
  evalFraction?: number;
  seed: number;
  maxSeqLen?: number;
  overflow: 'drop' | 'truncate';
  unkLabels: UnkLabelPolicy;
  trainOnInputs?: boolean;
  strict?: boolean;
  fields?: string;
  cacheDir?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** `builtin:mix` → builtin-mix, `hf:tatsu-lab/alpaca` → alpaca, `x/rows.jsonl` → rows. */
export function defaultDatasetName(dataset: string): string {
  const spec = parseSourceSpec(dataset);
  if (spec.kind === 'builtin') return `builtin-${spec.dataset}`;
  if (spec.kind === 'hub') return `${spec.repo.split('/').pop()}${spec.split === 'train' ? '' : `-${spec.split}`}`;
  return basename(spec.path, extname(spec.path));
}

function printSummary(s: PrepareSummary): void {
  const c = s.counts;
  const lines = [
    `prepared ${s.name} → ${s.path}`,
    `  source    ${s.source.spec}${c.available === null ? '' : ` (${c.available} rows)`}`,
    `  template  ${s.template}, tokenizer ${s.tokenizer.path} (sha256 ${s.tokenizer.sha256.slice(0, 12)}…)`,
    `  rows      read ${c.read} = kept ${c.kept} + dropped ${c.dropped}; train ${c.train}, eval ${c.eval}${c.truncated ? `; ${c.truncated} truncated` : ''}`,
    ...Object.entries(s.drops).map(
      ([reason, d]) => `  dropped   ${reason}: ${d!.count} (rows ${d!.first_rows.join(', ')}${d!.count > d!.first_rows.length ? ', …' : ''}) — ${DROP_REASONS[reason as keyof typeof DROP_REASONS]}`,
    ),
    `  tokens    train mean ${s.tokens.train.mean_length}, max ${s.tokens.train.max_length} (max-seq-len ${s.max_seq_len})`,
    ...(s.unk.input_tokens > 0
      ? [`  unknown   ${s.unk.input_tokens} ${s.unk.token} tokens (${(100 * s.unk.input_fraction).toFixed(2)}%) in ${s.unk.rows} rows (rows ${s.unk.first_rows.join(', ')}${s.unk.rows > s.unk.first_rows.length ? ', …' : ''}); labels ${s.unk.label_policy === 'mask' ? `masked: ${s.unk.labels_masked}` : `kept: ${s.unk.labels_kept}`}`]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function register(program: Command): void {
  program
    .command('prepare-dataset')
    .description('tokenize an instruction dataset into data/<name>/{train,eval}.jsonl and meta.json')
    .requiredOption(
      '--dataset <source>',
      `builtin:<task> (${BUILTIN_DATASET_NAMES.join(', ')}), hf:<owner>/<name>[@<revision>][:<split>], ${Object.keys(DATASET_ALIASES).join(', ')}, or a .json/.jsonl/.parquet file or folder`,
    )
    .requiredOption('--model <folder|id>', 'model folder or Hub id (org/name[@revision]) whose tokenizer.json tokenizes the rows')
    .option('--name <name>', 'output folder name under --out-dir (default: from --dataset, e.g. builtin-mix, alpaca)')
    .option('--out-dir <dir>', 'where prepared datasets live', 'data')
    .addOption(new Option('--template <name>', 'prompt template').choices([...TEMPLATE_NAMES]).default('alpaca'))
    .option('--num-samples <n>', `rows to keep (train + eval), sampled with --seed (default: all; built-in: ${BUILTIN_DEFAULT_SAMPLES})`, numberFlag('--num-samples', FLAG_SCHEMAS.positive))
    .option('--eval-samples <n>', 'rows for the eval split (conflicts with --eval-fraction)', numberFlag('--eval-samples', FLAG_SCHEMAS.count))
    .option('--eval-fraction <f>', `fraction of kept rows for the eval split (default ${DEFAULT_EVAL_FRACTION})`, numberFlag('--eval-fraction', FLAG_SCHEMAS.fraction))
    .option('--seed <n>', 'seeds sampling, the split and built-in generation', numberFlag('--seed', FLAG_SCHEMAS.seed), DEFAULT_SEED)
    .option('--max-seq-len <n>', `longest example in tokens (prompt + response + EOS); default ${DEFAULT_MAX_SEQ_LEN}, and never more than the model's positions (a longer value is clipped, with a warning)`, numberFlag('--max-seq-len', FLAG_SCHEMAS.maxSeqLen))
    .addOption(new Option('--overflow <policy>', 'longer examples: drop them, or truncate their tail').choices(['drop', 'truncate']).default('drop'))
    .addOption(new Option('--unk-labels <policy>', "labels that are the tokenizer's <unk>: mask them to -100, or keep (train on) them; both are counted in meta.json").choices([...UNK_LABEL_POLICIES]).default('mask'))
    .option('--train-on-inputs', 'compute the loss on prompt tokens too (default: response tokens only)')
    .option('--strict', 'fail instead of dropping any row')
    .option('--fields <map>', 'column mapping, e.g. prompt=question,response=answer[,input=context][,system=sys] or messages=conversation')
    .option('--overwrite', 'replace <out-dir>/<name> even when it exists and is not a prepared dataset (no meta.json); its contents are deleted')
    .option('--cache-dir <dir>', 'Hub download cache (default $LORA_STUDY_CACHE/hub or ~/.cache/lora-study/hub)')
    .option('--json', 'print the summary as one JSON document on stdout')
    .action((opts: Options) =>
      runCommand('prepare-dataset', opts, async () => {
        const logger = createLogger();
        const summary = await prepareDataset(
          {
            source: opts.dataset,
            name: opts.name ?? defaultDatasetName(opts.dataset),
            outDir: opts.outDir,
            // A Hub id: config.json and the tokenizer files only; the weights wait for the run.
            modelDir: (await resolveModel(opts.model, { logger, parts: 'tokenizer' })).dir,
            template: opts.template,
            numSamples: opts.numSamples,
            evalSamples: opts.evalSamples,
            evalFraction: opts.evalFraction,
            seed: opts.seed,
            maxSeqLen: opts.maxSeqLen,
            overflow: opts.overflow,
            trainOnInputs: opts.trainOnInputs,
            unkLabels: opts.unkLabels,
            strict: opts.strict,
            fields: opts.fields,
            cacheDir: opts.cacheDir,
            overwrite: opts.overwrite,
          },
          logger,
        );
        if (opts.json) printJson(summary);
        else printSummary(summary);
      }),
    );
}
