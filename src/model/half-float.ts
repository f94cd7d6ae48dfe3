/**
 * IEEE 754 binary16 (F16) and bfloat16 (BF16) <-> float32 conversions for safetensors I/O.
 * Encoding rounds to nearest, ties to even, as PyTorch's `.half()` / `.bfloat16()` do, so a
 * tensor written here is bit-identical to the one PyTorch would write from the same float32s.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let f16Table: Float32Array | null = null;

/** Every binary16 bit pattern decoded once (256 KiB), so decoding a tensor is a table lookup. */
function f16DecodeTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24; // zero and subnormals: no implicit leading 1
    else if (exp === 0x1f) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

export function f16BitsToF32(h: number): number {
  return f16DecodeTable()[h & 0xffff];
}

export function f32ToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, quiet NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: overflows to infinity
  if (e <= 0) {
    // Result is subnormal (or zero): value = m · 2^-24, m = significand >> (126 - exp).
    const shift = 126 - exp;
    if (shift > 24) return sign; // below half the smallest subnormal
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && m & 1)) m++; // may carry into the smallest normal: correct
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still right
  return sign | h;
}

export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

export function f32ToBf16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** Decodes `n` little-endian 16-bit values starting at `bytes[0]` into a new Float32Array. */
export function decodeHalf(bytes: Uint8Array, kind: 'F16' | 'BF16'): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  if (kind === 'F16') {
    const t = f16DecodeTable();
    for (let i = 0; i < n; i++) out[i] = t[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  } else {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) outBits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
  }
  return out;
}

/** Encodes float32 values as little-endian 16-bit values into `out` (2·data.length bytes). */
export function encodeHalf(data: Float32Array, kind: 'F16' | 'BF16', out: Uint8Array): void {
  const enc = kind === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < data.length; i++) {
    const h = enc(data[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
}

/** What a float32 array becomes after a trip through `kind` (for tests and expected values). */
export function roundToDtype(data: Float32Array, kind: 'F32' | 'F16' | 'BF16'): Float32Array {
  if (kind === 'F32') return Float32Array.from(data);
  const bytes = new Uint8Array(data.length * 2);
  encodeHalf(data, kind, bytes);
  return decodeHalf(bytes, kind);
}
