import { join, resolve } from 'node:path';
import { loadTokenizer } from '../model/tokenizer.js';
import { LoraStudyError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { DropTally, SAMPLE_ROWS_PER_REASON } from './drops.js';
import { encodeExample, fitToLength, LABEL_RULE, maskUnkLabels, type OverflowPolicy } from './encode.js';
import { PrepareOptionError } from './errors.js';
import type { FieldMap } from './fields.js';
import { loadSource } from './load-source.js';
import { clipToPositions, modelMaxPositions } from './seq-len.js';
import { formatSourceSpec, parseSourceSpec } from './source-spec.js';
import { assertTemplateName, renderPrompt, type TemplateName } from './templates.js';
import { type PreparedRow, preparedDatasetOwnership, writePreparedDataset } from './write-prepared.js';
import { assertNotOverInputs, assertReplaceableDir } from '../util/owned-dir.js';
import { PATH_SEGMENT_RULE, pathSegmentProblem } from '../util/path-segment.js';

export interface PrepareParams {
  /** `builtin:<task>`, `hf:<owner>/<name>[@<rev>][:<split>]`, `alpaca`, or a file/folder path. */
  source: string;
  /** Output folder name: the dataset is written to `<outDir>/<name>/`. */
  name: string;
  /** Replace an existing non-empty `<outDir>/<name>` even when it is not a prepared dataset (no meta.json). */
  overwrite?: boolean;
  /** Default `data`. */
  outDir?: string;
  /** Model folder whose tokenizer.json (and tokenizer_config.json) tokenizes the rows. */
  modelDir: string;
  /** `alpaca` | `chatml` | `model` | `plain`. */
  template: TemplateName | string;
  /** Rows to keep (train + eval), read in seeded random order; default all (built-in: 2000). */
  numSamples?: number;
  /** Exactly this many kept rows go to eval. Conflicts with evalFraction. */
  evalSamples?: number;
  /** This fraction (rounded) of kept rows goes to eval; default 0.1. Conflicts with evalSamples. */
  evalFraction?: number;
  /** Seeds the reading order (hence sample and split) and the built-in generator; default 42. */
  seed?: number;
  /** Longest example in tokens, prompt + response + EOS; default 512; never more than the model's positions (clipped, with a warning). */
  maxSeqLen?: number;
  /** What to do with longer examples; default `drop`. */
  overflow?: OverflowPolicy;
  /** Also train on prompt tokens (labels are then the input ids everywhere); default false. */
  trainOnInputs?: boolean;
  /**
   * Labels that are the tokenizer's `<unk>`: `mask` (default) sets them to -100 and counts them in
   * meta.json; `keep` trains on them (still counted, with a warning).
   */
  unkLabels?: UnkLabelPolicy;
  /** Fail instead of dropping any row; default false. */
  strict?: boolean;
  /** Column mapping (`--fields` text or a FieldMap); default: detected from the rows. */
  fields?: string | FieldMap;
  /** Hub download cache; default `$LORA_STUDY_CACHE/hub` or `~/.cache/lora-study/hub`. */
  cacheDir?: string;
  /** Hub endpoint; default HF_ENDPOINT, then https://huggingface.co. */
  hubUrl?: string;
  /** Hub token; default HF_TOKEN. */
  accessToken?: string;
  fetch?: typeof fetch;
  /** Clock for created_at (tests). */
  now?: () => Date;
}

export const BUILTIN_DEFAULT_SAMPLES = 2000;
export const DEFAULT_SEED = 42;
export const DEFAULT_MAX_SEQ_LEN = 512;
export const DEFAULT_EVAL_FRACTION = 0.1;
/** Above this share of `<unk>` input tokens prepare-dataset warns. */
export const UNK_WARN_FRACTION = 0.005;
export const UNK_LABEL_POLICIES = ['mask', 'keep'] as const;
export type UnkLabelPolicy = (typeof UNK_LABEL_POLICIES)[number];

export class StrictModeError extends LoraStudyError {
  constructor(readonly drops: DropTally) {
    super(`--strict: ${drops.total} row${drops.total === 1 ? '' : 's'} would be dropped: ${drops.describe()}`, {
      hint: 'fix those rows, or run without --strict to drop and count them',
    });
  }
}

export class NothingKeptError extends LoraStudyError {
  constructor(readonly read: number, readonly drops: DropTally) {
    super(`no usable rows: ${read} read, all dropped${drops.total ? ` (${drops.describe()})` : ''}`);
  }
}

interface TokenStats {
  examples: number;
  tokens: number;
  labelled_tokens: number;
  max_length: number;
  mean_length: number;
}

function tokenStats(rows: PreparedRow[]): TokenStats {
  let tokens = 0;
  let labelled = 0;
  let max = 0;
  for (const r of rows) {
    tokens += r.input_ids.length;
    for (const l of r.labels) if (l !== -100) labelled++;
    max = Math.max(max, r.input_ids.length);
  }
  return { examples: rows.length, tokens, labelled_tokens: labelled, max_length: max, mean_length: rows.length ? Math.round((tokens / rows.length) * 10) / 10 : 0 };
}

/** `<unk>` tokens among the kept rows: how many, where, and what happened to the ones that were labels. */
class UnkTally {
  tokens = 0;
  inputTokens = 0;
  labelsMasked = 0;
  labelsKept = 0;
  rows = 0;
  firstRows: number[] = [];
  constructor(private readonly unkId: number | null) {}

  add(enc: { input_ids: number[]; labels: number[] }, row: number, masked: number): void {
    this.tokens += enc.input_ids.length;
    this.labelsMasked += masked;
    if (this.unkId === null) return;
    let n = 0;
    for (const id of enc.input_ids) if (id === this.unkId) n++;
    for (const l of enc.labels) if (l === this.unkId) this.labelsKept++;
    if (n === 0) return;
    this.inputTokens += n;
    this.rows++;
    // Rows arrive in shuffled order; keep the lowest numbers, which are the easiest to find.
    this.firstRows = [...this.firstRows, row].sort((a, b) => a - b).slice(0, SAMPLE_ROWS_PER_REASON);
  }

  summary(token: string | null, policy: UnkLabelPolicy) {
    return {
      token,
      id: this.unkId,
      input_tokens: this.inputTokens,
      input_fraction: this.tokens ? this.inputTokens / this.tokens : 0,
      rows: this.rows,
      first_rows: this.firstRows,
      label_policy: policy,
      labels_masked: this.labelsMasked,
      labels_kept: this.labelsKept,
    };
  }
}

function validate(p: PrepareParams): void {
  const isInt = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);
  const nameProblem = pathSegmentProblem(p.name);
  if (nameProblem) throw new PrepareOptionError(['name'], `${JSON.stringify(p.name)} ${nameProblem}; it must be ${PATH_SEGMENT_RULE}`);
  if (p.evalSamples !== undefined && p.evalFraction !== undefined) throw new PrepareOptionError(['eval-samples', 'eval-fraction'], 'give one or the other, not both');
  if (!isInt(p.evalSamples, 0)) throw new PrepareOptionError(['eval-samples'], `must be a whole number ≥ 0, got ${p.evalSamples}`);
  if (p.evalFraction !== undefined && !(p.evalFraction >= 0 && p.evalFraction < 1)) throw new PrepareOptionError(['eval-fraction'], `must be in [0, 1), got ${p.evalFraction}`);
  if (!isInt(p.numSamples, 1)) throw new PrepareOptionError(['num-samples'], `must be a whole number ≥ 1, got ${p.numSamples}`);
  if (!isInt(p.maxSeqLen, 2)) throw new PrepareOptionError(['max-seq-len'], `must be a whole number ≥ 2, got ${p.maxSeqLen}`);
  if (!isInt(p.seed, 0)) throw new PrepareOptionError(['seed'], `must be a whole number ≥ 0, got ${p.seed}`);
  if (p.overflow !== undefined && p.overflow !== 'drop' && p.overflow !== 'truncate') throw new PrepareOptionError(['overflow'], `must be drop or truncate, got ${p.overflow}`);
  if (p.unkLabels !== undefined && !(UNK_LABEL_POLICIES as readonly string[]).includes(p.unkLabels)) throw new PrepareOptionError(['unk-labels'], `must be ${UNK_LABEL_POLICIES.join(' or ')}, got ${p.unkLabels}`);
}

/**
 * Turns an instruction dataset into `<outDir>/<name>/{train,eval}.jsonl` and `meta.json`
 * (DESIGN.md contract 3). Rows are read in seeded random order until `numSamples` are kept;
 * every row read is either kept or dropped under one counted reason (read = kept + dropped).
 * Returns the summary that meta.json holds, plus the output path.
 */
export async function prepareDataset(params: PrepareParams, logger: Logger = silentLogger) {
  validate(params);
  const template = assertTemplateName(params.template);
  const seed = params.seed ?? DEFAULT_SEED;
  const overflow = params.overflow ?? 'drop';
  const trainOnInputs = params.trainOnInputs ?? false;
  const unkLabels = params.unkLabels ?? 'mask';
  const spec = parseSourceSpec(params.source);
  const dir = resolve(params.outDir ?? 'data', params.name);
  // Refuse before any download or tokenizing: never replace what the tool did not write.
  assertNotOverInputs(dir, 'the output folder', [
    { flag: '--model', path: params.modelDir },
    ...(spec.kind === 'file' ? [{ flag: '--dataset', path: spec.path }] : []),
  ]);
  assertReplaceableDir(dir, preparedDatasetOwnership(params.overwrite));
  const tokenizer = loadTokenizer(params.modelDir);
  // Never longer than the model's positions: the default silently, an explicit value with a warning.
  const positions = modelMaxPositions(params.modelDir);
  const maxSeqLen = params.maxSeqLen === undefined ? Math.min(DEFAULT_MAX_SEQ_LEN, positions ?? Infinity) : clipToPositions(params.maxSeqLen, positions, 'max-seq-len', logger);
  // Fail on a missing chat template before any download or parsing.
  if (template === 'model') renderPrompt(template, { instruction: 'x', response: '' }, tokenizer);

  const source = await loadSource(spec, { seed, fields: params.fields, cacheDir: params.cacheDir, hubUrl: params.hubUrl, accessToken: params.accessToken, fetch: params.fetch }, logger);
  const numSamples = params.numSamples ?? (spec.kind === 'builtin' ? BUILTIN_DEFAULT_SAMPLES : undefined);
  // An endless generator whose rows all drop (say, --max-seq-len too small) must still stop.
  const readLimit = spec.kind === 'builtin' ? (numSamples ?? BUILTIN_DEFAULT_SAMPLES) * 20 + 1000 : Infinity;

  const drops = new DropTally();
  const kept: PreparedRow[] = [];
  let read = 0;
  let truncated = 0;
  const unk = new UnkTally(tokenizer.unkTokenId);
  for (const c of source.candidates) {
    if ((numSamples !== undefined && kept.length >= numSamples) || read >= readLimit) break;
    read++;
    if ('drop' in c.result) {
      drops.add(c.result.drop, c.row);
      continue;
    }
    const ex = c.result.ok;
    if (ex.history?.length && (template === 'alpaca' || template === 'plain')) {
      drops.add('multi_turn', c.row);
      continue;
    }
    const fit = fitToLength(encodeExample(tokenizer, template, ex, { trainOnInputs }), maxSeqLen, overflow);
    if ('drop' in fit) {
      drops.add(fit.drop, c.row);
      continue;
    }
    if (fit.truncated) truncated++;
    const enc = fit.ok;
    unk.add(enc, c.row, unkLabels === 'mask' ? maskUnkLabels(enc, tokenizer.unkTokenId) : 0);
    kept.push({
      id: c.id,
      row: c.row,
      ...(c.task ? { task: c.task } : {}),
      prompt: enc.prompt,
      response: ex.response,
      prompt_length: enc.promptLength,
      input_ids: enc.input_ids,
      labels: enc.labels,
      ...(fit.truncated ? { truncated: true as const } : {}),
    });
    if (read % 10000 === 0) logger.info({ read, kept: kept.length }, 'preparing');
  }

  if (params.strict && drops.total > 0) throw new StrictModeError(drops);
  if (kept.length === 0) throw new NothingKeptError(read, drops);
  const evalCount = params.evalSamples ?? Math.round(kept.length * (params.evalFraction ?? DEFAULT_EVAL_FRACTION));
  if (evalCount >= kept.length && kept.length > 0 && evalCount > 0) {
    throw new PrepareOptionError([params.evalSamples !== undefined ? 'eval-samples' : 'eval-fraction'], `${evalCount} eval rows would leave no training rows (${kept.length} kept)`);
  }
  const unkSummary = unk.summary(tokenizer.unkToken, unkLabels);
  if (unkSummary.input_fraction > UNK_WARN_FRACTION) {
    logger.warn(
      { unk: unkSummary },
      `${unkSummary.input_tokens} of ${unk.tokens} tokens (${(100 * unkSummary.input_fraction).toFixed(2)}%) are ${tokenizer.unkToken}: text the tokenizer cannot represent (first rows ${unkSummary.first_rows.join(', ')}); ` +
        (unkLabels === 'mask' ? `${unkSummary.labels_masked} such labels were masked to -100` : `${unkSummary.labels_kept} such labels are trained on (--unk-labels keep)`),
    );
  }
  const evalRows = kept.slice(0, evalCount);
  const train = kept.slice(evalCount);

  const meta = {
    format_version: 1,
    name: params.name,
    created_at: (params.now?.() ?? new Date()).toISOString(),
    source: { spec: formatSourceSpec(spec), kind: spec.kind, ...source.details },
    fields: source.fields,
    template,
    tokenizer: { path: tokenizer.source, sha256: tokenizer.hash, vocab_size: tokenizer.vocabSize, eos_token_id: tokenizer.eosTokenId },
    seed,
    max_seq_len: maxSeqLen,
    model_max_positions: positions,
    overflow,
    train_on_inputs: trainOnInputs,
    labels: LABEL_RULE,
    unk: unkSummary,
    num_samples: numSamples ?? null,
    eval_samples: params.evalSamples ?? null,
    eval_fraction: params.evalSamples !== undefined ? null : (params.evalFraction ?? DEFAULT_EVAL_FRACTION),
    counts: { available: source.available, read, kept: kept.length, dropped: drops.total, train: train.length, eval: evalRows.length, truncated },
    drops: drops.toJSON(),
    tokens: { train: tokenStats(train), eval: tokenStats(evalRows) },
  };
  await writePreparedDataset(dir, train, evalRows, meta, params.overwrite);
  logger.info({ dir, train: train.length, eval: evalRows.length, dropped: drops.total }, 'prepared dataset written');
  return { path: dir, files: { train: join(dir, 'train.jsonl'), eval: join(dir, 'eval.jsonl'), meta: join(dir, 'meta.json') }, ...meta };
}

export type PrepareSummary = Awaited<ReturnType<typeof prepareDataset>>;
export type DatasetMeta = Omit<PrepareSummary, 'path' | 'files'>;
