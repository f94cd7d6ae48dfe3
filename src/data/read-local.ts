import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readUtf8File } from '../util/text-file.js';
import { DatasetNotFoundError } from './errors.js';
import { parseJsonFile, parseJsonLines } from './read-json.js';
import { readParquetRows } from './read-parquet.js';

export const DATA_FILE_EXTENSIONS = ['.parquet', '.jsonl', '.ndjson', '.json'] as const;

/** What a source file contributed, for meta.json. */
export interface SourceFileInfo {
  path: string;
  format: 'json' | 'jsonl' | 'parquet';
  rows: number;
  bytes: number;
  sha256: string;
}

/** The rows of a source, in file order; row n (1-based) is `rows[n - 1]`. */
export interface RawRows {
  rows: unknown[];
  files: SourceFileInfo[];
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function readDataFile(path: string): Promise<{ rows: unknown[]; info: SourceFileInfo }> {
  const ext = extname(path).toLowerCase();
  const bytes = statSync(path).size;
  let rows: unknown[];
  let format: SourceFileInfo['format'];
  if (ext === '.parquet') {
    rows = await readParquetRows(path);
    format = 'parquet';
  } else if (ext === '.jsonl' || ext === '.ndjson') {
    rows = parseJsonLines(path, readUtf8File(path));
    format = 'jsonl';
  } else if (ext === '.json') {
    ({ rows, format } = parseJsonFile(path, readUtf8File(path)));
  } else {
    throw new DatasetNotFoundError(path, `unsupported file type "${ext || '(none)'}"`, `use one of: ${DATA_FILE_EXTENSIONS.join(', ')}`);
  }
  return { rows, info: { path, format, rows: rows.length, bytes, sha256: sha256File(path) } };
}

/** Reads files in the given order, concatenating their rows. */
export async function readDataFiles(paths: string[]): Promise<RawRows> {
  const rows: unknown[] = [];
  const files: SourceFileInfo[] = [];
  for (const p of paths) {
    const r = await readDataFile(p);
    for (const row of r.rows) rows.push(row);
    files.push(r.info);
  }
  return { rows, files };
}

/** A data file, or every data file directly inside a folder (sorted by name). */
export function listLocalDataFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DatasetNotFoundError(path, 'no such file or folder');
  }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => !f.startsWith('.') && (DATA_FILE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new DatasetNotFoundError(path, `the folder has no ${DATA_FILE_EXTENSIONS.join('/')} files`);
  return files;
}
