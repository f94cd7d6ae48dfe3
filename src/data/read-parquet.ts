import { open } from 'node:fs/promises';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { DatasetParseError } from './errors.js';

const MAGIC = 'PAR1';

/** Reads every row of a Parquet file as a plain object (column name → value). */
export async function readParquetRows(file: string): Promise<Record<string, unknown>[]> {
  // Check the magic bytes ourselves: hyparquet's own message does not say which end is wrong.
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (size < 12 || head.toString('latin1') !== MAGIC) {
      throw new DatasetParseError(file, 'parquet', `expected the magic bytes "PAR1" at the start of the file`, { byte: 0 });
    }
    await fh.read(tail, 0, 4, size - 4);
    if (tail.toString('latin1') !== MAGIC) {
      throw new DatasetParseError(file, 'parquet', `expected the magic bytes "PAR1" at the end of the file (truncated download?)`, { byte: size - 4 });
    }
  } finally {
    await fh.close();
  }
  try {
    const buffer = await asyncBufferFromFile(file);
    return (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[];
  } catch (err) {
    if (err instanceof DatasetParseError) throw err;
    throw new DatasetParseError(file, 'parquet', (err as Error).message);
  }
}
