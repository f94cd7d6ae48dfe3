import { open } from 'node:fs/promises';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { firstInvalidUtf8 } from '../util/text-file.js';
import { DatasetParseError } from './errors.js';

const MAGIC = 'PAR1';
const utf8 = new TextDecoder();

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
    // Strings strictly: hyparquet's own decoder turns bytes that are not UTF-8 into U+FFFD.
    // Values come from decompressed pages, so the error shows the value rather than a file offset.
    const stringFromBytes = (bytes: Uint8Array | undefined) => {
      if (bytes === undefined || bytes === null) return bytes;
      const bad = firstInvalidUtf8(bytes);
      if (bad >= 0) {
        const shown = new TextDecoder().decode(bytes.subarray(0, 80));
        throw new DatasetParseError(file, 'parquet', `a string value is not UTF-8: byte 0x${bytes[bad].toString(16).padStart(2, '0')} at byte ${bad} of ${JSON.stringify(shown)}; write the strings as UTF-8`);
      }
      return utf8.decode(bytes);
    };
    return (await parquetReadObjects({ file: buffer, parsers: { stringFromBytes } })) as Record<string, unknown>[];
  } catch (err) {
    if (err instanceof DatasetParseError) throw err;
    throw new DatasetParseError(file, 'parquet', (err as Error).message);
  }
}
