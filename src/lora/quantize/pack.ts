/**
 * Host-side packing of small codes into int32 words (tfjs has no int8 or 4-bit dtype), and the
 * lookup tables that turn a 16-bit half-word back into code values on the backend.
 *
 * Layout ("halves"): a word's low 16 bits hold consecutive codes from the first half of the
 * padded code array and its high 16 bits the same positions of the second half. Splitting every
 * word into (low, high) and concatenating all lows before all highs then yields the codes in
 * their original order, so one gather on the concatenated half-words dequantizes without any
 * interleaving copy (see `unpack.ts`).
 */
import { assert } from '../../util/errors.js';

/**
 * Pack 4-bit codes (values 0..15; `codes.length` a multiple of 8) eight per int32.
 * Word w holds codes 4w..4w+3 in bits 0..15 (4 bits each, lowest first) and codes H+4w..H+4w+3
 * in bits 16..31, where H = codes.length / 2.
 */
export function pack4BitHalves(codes: Uint8Array): Int32Array {
  assert(codes.length % 8 === 0, () => `pack4BitHalves: ${codes.length} codes is not a multiple of 8`);
  const half = codes.length / 2;
  const words = new Int32Array(codes.length / 8);
  for (let w = 0; w < words.length; w++) {
    const a = 4 * w;
    const b = half + 4 * w;
    words[w] =
      codes[a] | (codes[a + 1] << 4) | (codes[a + 2] << 8) | (codes[a + 3] << 12) |
      (codes[b] << 16) | (codes[b + 1] << 20) | (codes[b + 2] << 24) | (codes[b + 3] << 28);
  }
  return words;
}

/**
 * Pack signed 8-bit codes (-128..127; `codes.length` a multiple of 4) four per int32, as
 * two's-complement bytes: word w holds codes 2w, 2w+1 in bits 0..15 and H+2w, H+2w+1 in bits
 * 16..31, H = codes.length / 2.
 */
export function pack8BitHalves(codes: Int8Array): Int32Array {
  assert(codes.length % 4 === 0, () => `pack8BitHalves: ${codes.length} codes is not a multiple of 4`);
  const half = codes.length / 2;
  const words = new Int32Array(codes.length / 4);
  for (let w = 0; w < words.length; w++) {
    const a = 2 * w;
    const b = half + 2 * w;
    words[w] = (codes[a] & 0xff) | ((codes[a + 1] & 0xff) << 8) | ((codes[b] & 0xff) << 16) | ((codes[b + 1] & 0xff) << 24);
  }
  return words;
}

/**
 * Pack unsigned bytes (0..255; `bytes.length` a multiple of 4) four per int32, by quarters:
 * byte k (bits 8k..8k+7) of word w is element k·Q + w, Q = bytes.length / 4. Used for the small
 * second-level code arrays, which are unpacked byte by byte (`unpackBytesQuarters`).
 */
export function packBytesQuarters(bytes: Uint8Array): Int32Array {
  assert(bytes.length % 4 === 0, () => `packBytesQuarters: ${bytes.length} bytes is not a multiple of 4`);
  const q = bytes.length / 4;
  const words = new Int32Array(q);
  for (let w = 0; w < q; w++) {
    words[w] = bytes[w] | (bytes[q + w] << 8) | (bytes[2 * q + w] << 16) | (bytes[3 * q + w] << 24);
  }
  return words;
}

/** Row u of the table holds the four code values of the 4-bit codes in half-word u: [65536, 4]. */
export function halfWordTable4Bit(code: Float32Array): Float32Array {
  assert(code.length === 16, () => `halfWordTable4Bit: a 4-bit code has 16 values, got ${code.length}`);
  const table = new Float32Array(65536 * 4);
  for (let u = 0; u < 65536; u++) {
    table[4 * u] = code[u & 15];
    table[4 * u + 1] = code[(u >> 4) & 15];
    table[4 * u + 2] = code[(u >> 8) & 15];
    table[4 * u + 3] = code[(u >> 12) & 15];
  }
  return table;
}

/** Row u of the table holds the two signed bytes of half-word u as numbers: [65536, 2]. */
export function halfWordTableInt8(): Float32Array {
  const table = new Float32Array(65536 * 2);
  for (let u = 0; u < 65536; u++) {
    table[2 * u] = (u << 24) >> 24;
    table[2 * u + 1] = (u << 16) >> 24;
  }
  return table;
}
