import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LoraStudyError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { cleanJsonMessage, jsonErrorPosition, readJsonFile, readUtf8File } from '../util/text-file.js';
import { IGNORE_INDEX } from './encode.js';
import type { PreparedRow } from './write-prepared.js';

const PREPARE_AGAIN = 'create it with `lora-study prepare-dataset --dataset <source> --name <name> --model <model folder>`';

export class PreparedDatasetError extends LoraStudyError {
  constructor(readonly path: string, reason: string, hint?: string) {
    super(`prepared dataset ${path}: ${reason}`, { hint: hint ?? PREPARE_AGAIN });
  }
}

/** A token id or label of a prepared row that the model cannot take. */
export class PreparedIdRangeError extends PreparedDatasetError {
  constructor(where: string, readonly field: 'input_ids' | 'labels', readonly index: number, readonly id: number, readonly vocabSize: number, model: string) {
    super(
      where,
      `${field}[${index}] is ${id}, outside the vocabulary of ${model} (vocab_size ${vocabSize}: ids 0…${vocabSize - 1}${field === 'labels' ? ', or -100 for an ignored position' : ''})`,
      `the dataset was tokenized for another model or edited by hand; prepare it again with --model ${model}`,
    );
  }
}

const rowSchema = z
  .object({
    prompt: z.string(),
    response: z.string(),
    input_ids: z.array(z.number().int().nonnegative()),
    labels: z.array(z.number().int()),
    prompt_length: z.number().int().nonnegative().optional(),
    id: z.string().optional(),
    task: z.string().optional(),
  })
  .passthrough();

export interface PreparedDataset {
  dir: string;
  train: PreparedRow[];
  eval: PreparedRow[];
  meta: Record<string, unknown>;
  /** The 1-based line of `train.jsonl` / `eval.jsonl` each row came from, for errors. */
  lines: { train: number[]; eval: number[] };
}

const BROKEN_FILE_HINT = 'the file was edited or cut short; prepare the dataset again (`lora-study prepare-dataset … --name <name>`) rather than editing it';

function readSplit(dir: string, split: 'train' | 'eval'): { rows: PreparedRow[]; lines: number[] } {
  const file = join(dir, `${split}.jsonl`);
  if (!existsSync(file)) throw new PreparedDatasetError(dir, `${split}.jsonl is missing`);
  const rows: PreparedRow[] = [];
  const lineNumbers: number[] = [];
  const lines = readUtf8File(file).split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      const column = jsonErrorPosition(err as Error, line) + 1;
      throw new PreparedDatasetError(`${at}:${column}`, `not valid JSON (${cleanJsonMessage(err as Error)})`, BROKEN_FILE_HINT);
    }
    const r = rowSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new PreparedDatasetError(at, `field "${issue.path.join('.')}": ${issue.message}`, BROKEN_FILE_HINT);
    }
    if (r.data.labels.length !== r.data.input_ids.length) {
      throw new PreparedDatasetError(at, `labels has ${r.data.labels.length} entries but input_ids has ${r.data.input_ids.length}`, BROKEN_FILE_HINT);
    }
    const promptLength = r.data.prompt_length ?? r.data.labels.findIndex((l) => l !== IGNORE_INDEX);
    rows.push({ id: r.data.id ?? `${split}-${i + 1}`, row: i + 1, ...r.data, prompt_length: Math.max(0, promptLength) } as PreparedRow);
    lineNumbers.push(i + 1);
  });
  return { rows, lines: lineNumbers };
}

/**
 * Reads `train.jsonl`, `eval.jsonl` and `meta.json` of a prepared dataset (contract 3), validating
 * every row; with `model`, also every id against the model's vocabulary (`checkPreparedIds`).
 */
export function readPreparedDataset(dir: string, model?: { vocabSize: number; name: string }): PreparedDataset {
  if (!existsSync(dir)) throw new PreparedDatasetError(dir, 'folder not found');
  const metaFile = join(dir, 'meta.json');
  if (!existsSync(metaFile)) throw new PreparedDatasetError(dir, 'meta.json is missing (an interrupted prepare-dataset?)');
  const meta = readJsonFile(metaFile, BROKEN_FILE_HINT);
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new PreparedDatasetError(metaFile, 'must hold a JSON object', BROKEN_FILE_HINT);
  const train = readSplit(dir, 'train');
  const evalSplit = readSplit(dir, 'eval');
  const data: PreparedDataset = { dir, train: train.rows, eval: evalSplit.rows, meta: meta as Record<string, unknown>, lines: { train: train.lines, eval: evalSplit.lines } };
  if (model) checkPreparedIds(data, model.vocabSize, model.name);
  return data;
}

/**
 * Every input id must index the model's embedding (0 ≤ id < vocabSize) and every label must be
 * such an id or -100: an id past the table crashes tfjs far from its cause, and a label past
 * it trains to a meaningless loss. The error names the file, line, position and id.
 */
export function checkPreparedIds(data: PreparedDataset, vocabSize: number, model: string): void {
  for (const split of ['train', 'eval'] as const) {
    data[split].forEach((r, k) => {
      const where = () => `${join(data.dir, `${split}.jsonl`)}:${data.lines[split][k] ?? '?'}`;
      r.input_ids.forEach((id, i) => {
        if (!(id >= 0 && id < vocabSize)) throw new PreparedIdRangeError(where(), 'input_ids', i, id, vocabSize, model);
      });
      r.labels.forEach((id, i) => {
        if (id !== IGNORE_INDEX && !(id >= 0 && id < vocabSize)) throw new PreparedIdRangeError(where(), 'labels', i, id, vocabSize, model);
      });
    });
  }
}

/** The tokenizer hash recorded by prepare-dataset, to check it matches the model's. */
export function preparedTokenizerHash(meta: Record<string, unknown>): string | null {
  const tok = meta.tokenizer as { hash?: unknown; sha256?: unknown } | undefined;
  const h = tok?.hash ?? tok?.sha256;
  return typeof h === 'string' ? h : null;
}

/**
 * Says so when training labels are the tokenizer's `<unk>` (a dataset prepared with
 * `--unk-labels keep`, by an older version, or by another tool): the run trains on them. Returns
 * how many there are.
 */
export function warnUnkLabels(data: PreparedDataset, tokenizer: { unkTokenId: number | null; unkToken: string | null }, logger: Logger): number {
  const unk = tokenizer.unkTokenId;
  if (unk === null) return 0;
  let count = 0;
  let rows = 0;
  for (const r of data.train) {
    let inRow = 0;
    for (const l of r.labels) if (l === unk) inRow++;
    count += inRow;
    if (inRow) rows++;
  }
  if (count > 0) {
    logger.warn(
      { unk_labels: count, rows, dataset: data.dir },
      `${count} training labels in ${rows} rows of ${data.dir} are ${tokenizer.unkToken} (id ${unk}), and this run trains on them; prepare the dataset again without --unk-labels keep to mask them`,
    );
  }
  return count;
}
