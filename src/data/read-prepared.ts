import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LoraStudyError } from '../util/errors.js';
import type { PreparedRow } from './write-prepared.js';

export class PreparedDatasetError extends LoraStudyError {
  constructor(readonly path: string, reason: string, hint?: string) {
    super(`prepared dataset ${path}: ${reason}`, {
      hint: hint ?? 'create it with `lora-study prepare-dataset --dataset <source> --name <name> --model <model folder>`',
    });
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
}

function readSplit(dir: string, split: 'train' | 'eval'): PreparedRow[] {
  const file = join(dir, `${split}.jsonl`);
  if (!existsSync(file)) throw new PreparedDatasetError(dir, `${split}.jsonl is missing`);
  const rows: PreparedRow[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new PreparedDatasetError(`${file}:${i + 1}`, `not valid JSON (${(err as Error).message})`);
    }
    const r = rowSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new PreparedDatasetError(`${file}:${i + 1}`, `field "${issue.path.join('.')}": ${issue.message}`);
    }
    if (r.data.labels.length !== r.data.input_ids.length) {
      throw new PreparedDatasetError(`${file}:${i + 1}`, `labels has ${r.data.labels.length} entries but input_ids has ${r.data.input_ids.length}`);
    }
    const promptLength = r.data.prompt_length ?? r.data.labels.findIndex((l) => l !== -100);
    rows.push({ id: r.data.id ?? `${split}-${i + 1}`, row: i + 1, ...r.data, prompt_length: Math.max(0, promptLength) } as PreparedRow);
  });
  return rows;
}

/** Reads `train.jsonl`, `eval.jsonl` and `meta.json` of a prepared dataset (contract 3), validating every row. */
export function readPreparedDataset(dir: string): PreparedDataset {
  if (!existsSync(dir)) throw new PreparedDatasetError(dir, 'folder not found');
  const metaFile = join(dir, 'meta.json');
  if (!existsSync(metaFile)) throw new PreparedDatasetError(dir, 'meta.json is missing (an interrupted prepare-dataset?)');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
  return { dir, train: readSplit(dir, 'train'), eval: readSplit(dir, 'eval'), meta };
}

/** The tokenizer hash recorded by prepare-dataset, to check it matches the model's. */
export function preparedTokenizerHash(meta: Record<string, unknown>): string | null {
  const tok = meta.tokenizer as { hash?: unknown; sha256?: unknown } | undefined;
  const h = tok?.hash ?? tok?.sha256;
  return typeof h === 'string' ? h : null;
}
