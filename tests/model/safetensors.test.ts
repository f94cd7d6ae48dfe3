import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, roundToDtype } from '../../src/model/half-float.js';
import {
  encodeSafetensors,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsSync,
  SafetensorsHeaderError,
  SafetensorsOffsetError,
  SafetensorsTruncatedError,
  TensorByteLengthError,
  UnsupportedDtypeError,
  writeSafetensors,
} from '../../src/model/safetensors.js';
import type { HostTensor } from '../../src/model/types.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'st-'));

/** A file assembled byte by byte from the format description, independent of the writer. */
function handMade(header: Record<string, unknown>, data: number[], opts: { lengthOverride?: number } = {}): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(opts.lengthOverride ?? h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

function writeBytes(bytes: Uint8Array): string {
  const path = join(tmp(), 'x.safetensors');
  writeFileSync(path, bytes);
  return path;
}

describe('reading', () => {
  test('decodes a hand-made file: offsets relative to the data buffer, all three dtypes', async () => {
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(1.5, 0);
    f32.writeFloatLE(-2.25, 4);
    // F16: 1.0 = 0x3c00, smallest subnormal 0x0001, -inf 0xfc00; BF16: 1.0 = 0x3f80, -3.0 = 0xc040.
    const f16 = [0x00, 0x3c, 0x01, 0x00, 0x00, 0xfc];
    const bf16 = [0x80, 0x3f, 0x40, 0xc0];
    const path = writeBytes(handMade(
      {
        __metadata__: { format: 'pt', note: 'hi' },
        b: { dtype: 'F16', shape: [3], data_offsets: [8, 14] },
        a: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] },
        c: { dtype: 'BF16', shape: [2], data_offsets: [14, 18] },
      },
      [...f32, ...f16, ...bf16],
    ));
    const { tensors, metadata } = await readSafetensorsFile(path);
    expect(metadata).toEqual({ format: 'pt', note: 'hi' });
    expect(tensors.get('a')).toEqual({ shape: [2, 1], data: new Float32Array([1.5, -2.25]), storedDtype: 'F32' });
    expect([...tensors.get('b')!.data]).toEqual([1, 2 ** -24, -Infinity]);
    expect([...tensors.get('c')!.data]).toEqual([1, -3]);
    expect(readSafetensorsSync(path)).toEqual(tensors);
  });

  test('skip leaves buffers unread, even in dtypes we cannot decode', async () => {
    const path = writeBytes(handMade(
      { mask: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] }, w: { dtype: 'F32', shape: [], data_offsets: [2, 6] } },
      [1, 0, 0, 0, 0x80, 0x3f],
    ));
    const t = await readSafetensors(path, { skip: (n) => n === 'mask' });
    expect([...t.keys()]).toEqual(['w']);
    expect(t.get('w')!.data[0]).toBe(1);
  });
});

describe('errors', () => {
  const good = (): Buffer => handMade({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);

  test('header length larger than the file', async () => {
    const bytes = good();
    const path = writeBytes(bytes.subarray(0, 20));
    const err = await readSafetensors(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsTruncatedError);
    expect(err).toMatchObject({ path, fileBytes: 20, tensor: null });
    expect((err as Error).message).toMatch(/truncated safetensors file: header needs \d+ bytes but the file has 20/);
  });

  test('a file shorter than the 8-byte length prefix', async () => {
    await expect(readSafetensors(writeBytes(new Uint8Array(3)))).rejects.toBeInstanceOf(SafetensorsTruncatedError);
  });

  test('data_offsets past the end of the file name the tensor', async () => {
    const bytes = good();
    const path = writeBytes(bytes.subarray(0, bytes.length - 1));
    await expect(readSafetensors(path)).rejects.toMatchObject({
      name: 'SafetensorsTruncatedError', tensor: 'w', neededBytes: bytes.length, fileBytes: bytes.length - 1,
    });
  });

  test('header that is not JSON', async () => {
    const path = writeBytes(handMade({ w: 1 }, []).fill(0x7b, 8, 12)); // "{{{{" ...
    const err = await readSafetensors(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsHeaderError);
    expect((err as Error).message).toContain('header is not valid JSON');
  });

  test('header entry without data_offsets', async () => {
    const path = writeBytes(handMade({ w: { dtype: 'F32', shape: [1] } }, [0, 0, 0, 0]));
    await expect(readSafetensors(path)).rejects.toThrow(/entry "w" needs \{dtype, shape/);
  });

  test('unsupported dtype names the tensor and the dtype', async () => {
    const path = writeBytes(handMade({ 'model.pos': { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)));
    await expect(readSafetensors(path)).rejects.toSatisfy(
      (e) => e instanceof UnsupportedDtypeError && e.tensor === 'model.pos' && e.dtype === 'I64' && /only F32, F16 and BF16/.test(e.message),
    );
  });

  test('overlapping data_offsets are refused, naming both tensors', async () => {
    const path = writeBytes(handMade(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      new Array(8).fill(0),
    ));
    const err = await readSafetensors(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsOffsetError);
    expect((err as Error).message).toMatch(/tensor "b" \(bytes 4–8\) overlaps tensor "a"/);
    expect(() => readSafetensorsSync(path)).toThrow(SafetensorsOffsetError);
  });

  test('two tensors sharing the same bytes are refused', async () => {
    const path = writeBytes(handMade(
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      new Array(4).fill(0),
    ));
    await expect(readSafetensors(path)).rejects.toThrow(/overlaps tensor/);
  });

  test('a gap between tensors is refused like the reference implementation does', async () => {
    const path = writeBytes(handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)));
    await expect(readSafetensors(path)).rejects.toThrow(/tensor "a" starts at byte 4, leaving a gap after the header/);
  });

  test('a skipped tensor past the end of the file is still refused, named', async () => {
    const path = writeBytes(handMade(
      { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, mask: { dtype: 'BOOL', shape: [100], data_offsets: [4, 104] } },
      new Array(8).fill(0),
    ));
    await expect(readSafetensors(path, { skip: (n) => n === 'mask' })).rejects.toMatchObject({ name: 'SafetensorsTruncatedError', tensor: 'mask' });
  });

  test('byte length different from shape × dtype size', async () => {
    const path = writeBytes(handMade({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, [0, 0, 0, 0]));
    await expect(readSafetensors(path)).rejects.toMatchObject({
      constructor: TensorByteLengthError, tensor: 'w', expectedBytes: 6, actualBytes: 4, shape: [3], dtype: 'F16',
    });
  });
});

describe('half floats', () => {
  test('F16 special values, subnormals and rounding', () => {
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // a tie rounds to even (zero)
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(f32ToF16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the smallest normal
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // halfway to 2^16 overflows to infinity
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10 goes to even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  test('every F16 bit pattern survives decode → encode', () => {
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (!Number.isNaN(v) && f32ToF16Bits(v) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  test('BF16 rounding ties to even and keeps NaN', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8))).toBe(1); // tie → even
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(bf16BitsToF32(f32ToBf16Bits(NaN))).toBeNaN();
    expect(bf16BitsToF32(f32ToBf16Bits(-Infinity))).toBe(-Infinity);
  });
});

describe('write → read', () => {
  const rand = (n: number, seed: number): Float32Array => {
    let s = seed;
    return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 8);
  };
  const tensors = (): Record<string, HostTensor> => ({
    'z.weight': { shape: [3, 5], data: rand(15, 1) },
    'a.bias': { shape: [7], data: Float32Array.from([0, -0, 1e-30, 3e38, -Infinity, 2 ** -20, 1 / 3]) },
    scalar: { shape: [], data: Float32Array.of(42) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  });

  test('F32 is exact; header is padded to 8 bytes, keys sorted, format pt', async () => {
    const path = join(tmp(), 'm.safetensors');
    await writeSafetensors(path, new Map(Object.entries(tensors())));
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(header)).toEqual(['__metadata__', 'a.bias', 'empty', 'scalar', 'z.weight']);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const back = await readSafetensors(path);
    for (const [name, t] of Object.entries(tensors())) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(back.get(name)!.data).toEqual(t.data);
    }
  });

  test.each(['F16', 'BF16'] as const)('%s within its precision, exact where representable', async (dtype) => {
    const path = join(tmp(), 'h.safetensors');
    const data = rand(1000, 7);
    const exact = Float32Array.from([0, 1, -2, 0.5, 0.375, -1024, 2 ** -14]);
    await writeSafetensors(path, { r: { shape: [10, 100], data }, e: { shape: [7], data: exact } }, { dtype, metadata: { who: 'test' } });
    const file = await readSafetensorsFile(path);
    expect(file.metadata).toEqual({ who: 'test' });
    expect(file.tensors.get('e')!.data).toEqual(exact);
    const got = file.tensors.get('r')!;
    expect(got.storedDtype).toBe(dtype);
    expect(got.data).toEqual(roundToDtype(data, dtype));
    const relTol = dtype === 'F16' ? 2 ** -11 : 2 ** -8; // half an ulp of the stored mantissa
    for (let i = 0; i < data.length; i++) expect(Math.abs(got.data[i] - data[i])).toBeLessThanOrEqual(Math.abs(data[i]) * relTol + 1e-7);
  });

  test('shape/data mismatch is refused before anything is written', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"w": shape \[2, 2\] has 4 elements but data has 3/);
  });
});
