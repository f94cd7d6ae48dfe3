import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from '../util/atomic-write.js';
import type { DirOwnership } from '../util/owned-dir.js';

/** One line of train.jsonl / eval.jsonl (DESIGN.md contract 3). */
export interface PreparedRow {
  /** Stable id: `row-<n>` for file sources, the generator's id for built-in ones. */
  id: string;
  /** 1-based row number in the source (built-in: position in the generated stream). */
  row: number;
  /** The built-in task, for exact-match scoring. */
  task?: string;
  /** The rendered prompt text (template applied): what the model reads before answering. */
  prompt: string;
  /** The reference answer, without template text or EOS. */
  response: string;
  /** How many leading tokens of `input_ids` are the prompt: generation starts after them. */
  prompt_length: number;
  input_ids: number[];
  /** -100 where the loss ignores the token; no shift (the loss shifts, as in Hugging Face). */
  labels: number[];
  /** Present (true) when --overflow truncate cut the example. */
  truncated?: true;
}

const CHUNK_CHARS = 1 << 20;

async function writeJsonl(path: string, rows: PreparedRow[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    let buf = '';
    for (const r of rows) {
      buf += `${JSON.stringify(r)}\n`;
      if (buf.length >= CHUNK_CHARS) {
        await fh.write(buf);
        buf = '';
      }
    }
    if (buf) await fh.write(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `train.jsonl`, `eval.jsonl` and `meta.json` into `dir` as one atomic step: a crash
 * leaves the previous dataset (or nothing), never a partial one. meta.json is written last.
 */
/** A prepared dataset folder is ours when it has meta.json: only then is it replaced (or with --overwrite). */
export const preparedDatasetOwnership = (overwrite = false): DirOwnership => ({ marker: 'meta.json', what: 'prepared dataset', overwrite });

export async function writePreparedDataset(dir: string, train: PreparedRow[], evalRows: PreparedRow[], meta: unknown, overwrite = false): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    await writeJsonl(join(tmp, 'train.jsonl'), train);
    await writeJsonl(join(tmp, 'eval.jsonl'), evalRows);
    const fh = await open(join(tmp, 'meta.json'), 'w');
    try {
      await fh.write(`${JSON.stringify(meta, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }, preparedDatasetOwnership(overwrite));
}
