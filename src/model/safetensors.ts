/**
 * The safetensors format (https://github.com/huggingface/safetensors#format):
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   UTF-8 JSON: { "__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]} }
 *   rest      the byte buffer; data_offsets are relative to its start, not to the file's
 * Tensors are read one at a time through a file handle, so a shard is never held twice in memory.
 * Host byte order is assumed little-endian (every platform Node supports in practice).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import { assert } from '../util/errors.js';
import { decodeHalf, encodeHalf } from './half-float.js';
import {
  SafetensorsHeaderError,
  SafetensorsOffsetError,
  SafetensorsTruncatedError,
  TensorByteLengthError,
  UnsupportedDtypeError,
} from './safetensors-errors.js';
import type { HostTensor, StoredDtype } from './types.js';

export * from './safetensors-errors.js';

const DTYPE_BYTES: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
const MAX_HEADER_BYTES = 100_000_000;

interface TensorEntry {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface ReadOptions {
  /** Tensors to leave unread (non-parameter buffers); their dtype is not checked either. */
  skip?: (name: string) => boolean;
}

export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

function parseHeaderLength(path: string, first8: Uint8Array, size: number): number {
  const n = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (n + 8n > BigInt(size)) throw new SafetensorsTruncatedError(path, Number(n) + 8, size, null);
  // A huge "length" usually means this is not a safetensors file at all.
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsHeaderError(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  return Number(n);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseHeader(
  path: string,
  headerBytes: Uint8Array,
  fileSize: number,
  skip: (name: string) => boolean,
): { entries: TensorEntry[]; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new SafetensorsHeaderError(path, `header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsHeaderError(path, 'header is not a JSON object');
  }
  const dataStart = 8 + headerBytes.length;
  const entries: TensorEntry[] = [];
  const spans: Array<{ name: string; begin: number; end: number }> = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new SafetensorsHeaderError(path, '__metadata__ is not an object of strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const offsets = e?.data_offsets;
    if (
      e === null || typeof e !== 'object' || typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) || !e.shape.every(isNonNegInt) ||
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[1] < offsets[0]
    ) {
      throw new SafetensorsHeaderError(path, `entry "${name}" needs {dtype, shape: int[], data_offsets: [begin, end]}, got ${JSON.stringify(raw)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (dataStart + end > fileSize) throw new SafetensorsTruncatedError(path, dataStart + end, fileSize, name);
    spans.push({ name, begin, end });
    if (skip(name)) continue;
    if (!(e.dtype in DTYPE_BYTES)) throw new UnsupportedDtypeError(path, name, e.dtype);
    const dtype = e.dtype as StoredDtype;
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (expected !== end - begin) throw new TensorByteLengthError(path, name, shape, dtype, expected, end - begin);
    entries.push({ name, dtype, shape, begin: dataStart + begin, end: dataStart + end });
  }
  checkContiguous(path, spans);
  return { entries, metadata };
}

/** Every tensor starts where the previous one (by offset) ends: no overlap, no gap. */
function checkContiguous(path: string, spans: Array<{ name: string; begin: number; end: number }>): void {
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: { name: string; end: number } = { name: '', end: 0 };
  for (const s of spans) {
    if (s.begin < prev.end) {
      throw new SafetensorsOffsetError(path, s.name, `(bytes ${s.begin}–${s.end}) overlaps tensor "${prev.name}" (which ends at ${prev.end})`);
    }
    if (s.begin > prev.end) {
      throw new SafetensorsOffsetError(path, s.name, `starts at byte ${s.begin}, leaving a gap after ${prev.name ? `tensor "${prev.name}" (which ends at ${prev.end})` : 'the header'}`);
    }
    prev = s;
  }
}

function decodeTensor(entry: TensorEntry, bytes: Uint8Array): HostTensor {
  let data: Float32Array;
  if (entry.dtype === 'F32') {
    data = new Float32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes); // copy: the source may not be 4-byte aligned
  } else {
    data = decodeHalf(bytes, entry.dtype);
  }
  return { shape: entry.shape, data, storedDtype: entry.dtype };
}

/**
 * The read as a generator of byte ranges `[offset, length]`, so one parser serves both the
 * async and the sync reader: each driver answers a range with its bytes.
 */
function* readPlan(path: string, size: number, opts: ReadOptions): Generator<[number, number], SafetensorsFile, Uint8Array> {
  if (size < 8) throw new SafetensorsTruncatedError(path, 8, size, null);
  const n = parseHeaderLength(path, yield [0, 8], size);
  const { entries, metadata } = parseHeader(path, yield [8, n], size, opts.skip ?? (() => false));
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) tensors.set(e.name, decodeTensor(e, yield [e.begin, e.end - e.begin]));
  return { tensors, metadata };
}

/** Reads every tensor (converted to float32) and the `__metadata__` of a .safetensors file. */
export async function readSafetensorsFile(path: string, opts: ReadOptions = {}): Promise<SafetensorsFile> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const plan = readPlan(path, size, opts);
    for (let step = plan.next(); ; ) {
      if (step.done) return step.value;
      const [offset, length] = step.value;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      assert(bytesRead === length, () => `${path}: read ${bytesRead} of ${length} bytes at ${offset}`);
      step = plan.next(buf);
    }
  } finally {
    await fh.close();
  }
}

export function readSafetensorsFileSync(path: string, opts: ReadOptions = {}): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    const plan = readPlan(path, size, opts);
    for (let step = plan.next(); ; ) {
      if (step.done) return step.value;
      const [offset, length] = step.value;
      const buf = Buffer.alloc(length);
      const got = readSync(fd, buf, 0, length, offset);
      assert(got === length, () => `${path}: read ${got} of ${length} bytes at ${offset}`);
      step = plan.next(buf);
    }
  } finally {
    closeSync(fd);
  }
}

/** A tensor as a .safetensors header lists it: name, stored dtype, shape; no data is read. */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: StoredDtype;
  shape: number[];
}

/**
 * Reads only the header of a .safetensors file (the first 8 + N bytes), checked as a full read
 * checks it (offsets inside the file, byte lengths matching shape × dtype, no overlap or gap).
 */
export function readSafetensorsHeaderSync(path: string, opts: ReadOptions = {}): SafetensorsHeaderEntry[] {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size < 8) throw new SafetensorsTruncatedError(path, 8, size, null);
    const first8 = Buffer.alloc(8);
    readSync(fd, first8, 0, 8, 0);
    const n = safetensorsHeaderLength(path, first8, size);
    const header = Buffer.alloc(n);
    const got = readSync(fd, header, 0, n, 8);
    assert(got === n, () => `${path}: read ${got} of ${n} header bytes`);
    return parseSafetensorsHeader(path, header, size, opts);
  } finally {
    closeSync(fd);
  }
}

/**
 * The header length N a file's first 8 bytes give, checked against the file's size (`path`
 * names the file in errors: a path, or a URL for a header read over HTTP).
 */
export function safetensorsHeaderLength(path: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8) throw new SafetensorsTruncatedError(path, 8, Math.min(fileSize, first8.length), null);
  return parseHeaderLength(path, first8, fileSize);
}

/** The tensors of a header's N JSON bytes, checked as readSafetensorsHeaderSync checks them. */
export function parseSafetensorsHeader(path: string, headerBytes: Uint8Array, fileSize: number, opts: ReadOptions = {}): SafetensorsHeaderEntry[] {
  return parseHeader(path, headerBytes, fileSize, opts.skip ?? (() => false)).entries.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
}

export async function readSafetensors(path: string, opts: ReadOptions = {}): Promise<Map<string, HostTensor>> {
  return (await readSafetensorsFile(path, opts)).tensors;
}

export function readSafetensorsSync(path: string, opts: ReadOptions = {}): Map<string, HostTensor> {
  return readSafetensorsFileSync(path, opts).tensors;
}

export interface WriteOptions {
  /** Dtype every tensor is stored in (default F32); F16/BF16 round to nearest even. */
  dtype?: StoredDtype;
  /** `__metadata__`; defaults to `{format: "pt"}`, which transformers and PEFT check for. */
  metadata?: Record<string, string>;
}

export type TensorSet = Record<string, HostTensor> | Map<string, HostTensor>;

export function tensorEntries(tensors: TensorSet): Array<[string, HostTensor]> {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  // Sorted names make the bytes depend only on the contents (reproducible files, stable hashes).
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Bytes a tensor will occupy when stored as `dtype` (used to plan shards). */
export function storedBytes(t: HostTensor, dtype: StoredDtype): number {
  return t.data.length * DTYPE_BYTES[dtype];
}

/** The complete bytes of a .safetensors file holding `tensors`. */
export function encodeSafetensors(tensors: TensorSet, opts: WriteOptions = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const entries = tensorEntries(tensors);
  const header: Record<string, unknown> = { __metadata__: opts.metadata ?? { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of entries) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    assert(numel === t.data.length, () => `tensor "${name}": shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
    const bytes = storedBytes(t, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  // Pad with spaces (valid JSON whitespace) so the byte buffer starts 8-byte aligned, as the
  // reference writer does; readers that memory-map the file rely on that alignment.
  const rawLen = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat((8 - (rawLen % 8)) % 8);
  const headerLen = Buffer.byteLength(headerText, 'utf8');
  const out = new Uint8Array(8 + headerLen + offset);
  Buffer.from(out.buffer).writeBigUInt64LE(BigInt(headerLen), 0);
  out.set(Buffer.from(headerText, 'utf8'), 8);
  let pos = 8 + headerLen;
  for (const [, t] of entries) {
    const len = storedBytes(t, dtype);
    const dst = out.subarray(pos, pos + len);
    if (dtype === 'F32') dst.set(new Uint8Array(t.data.buffer, t.data.byteOffset, len));
    else encodeHalf(t.data, dtype, dst);
    pos += len;
  }
  return out;
}

/** Writes a .safetensors file atomically: readers never see a partly written file. */
export async function writeSafetensors(path: string, tensors: TensorSet, opts: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, opts));
}
