/**
 * The code values of the quantized formats, exactly as bitsandbytes (and therefore QLoRA,
 * Dettmers et al. 2023, arXiv:2305.14314) defines them. A code value is multiplied by its
 * block's absmax scale to give the weight back.
 */

/**
 * NF4 (4-bit NormalFloat): index → value, from bitsandbytes `csrc/kernels.cu`
 * (`nf4_dequantization_lut`) and `functional.py` (`get_4bit_type('nf4')`). Ascending; index 7 is
 * an exact zero, index 15 is exactly 1 (the block absmax).
 */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * FP4 as bitsandbytes implements it (2 exponent bits, 1 mantissa bit, with bitsandbytes' own
 * bias and subnormal): `get_4bit_type('fp4')` lists
 * `[0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3]` normalised by the max
 * (12); bit 3 is the sign (`dDequantizeFP4Tree` in `csrc/kernels.cu`). Not sorted by index.
 */
export const FP4_CODE: Float32Array = Float32Array.from(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => v / 12),
);

/**
 * The signed 8-bit "dynamic" map QLoRA uses to double-quantize the block scales:
 * bitsandbytes `create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)`, the default
 * code of `quantize_blockwise`. For exponent i = 0..6 it holds the 2^i midpoints of
 * `linspace(0.1, 1, 2^i + 1)` scaled by 10^(i-6), both signs, plus 0 and 1; 256 values sorted.
 * Computed here in double precision then rounded to float32 (bitsandbytes computes the linspace
 * in float32, so the last bit of a few values may differ; quantize and dequantize here share this
 * one table, so nothing depends on that bit).
 */
export function dynamicMap8Bit(): Float32Array {
  const maxExponentBits = 7;
  const values: number[] = [];
  for (let i = 0; i < maxExponentBits; i++) {
    const items = 2 ** i + 1;
    const scale = 10 ** (-(maxExponentBits - 1) + i);
    for (let k = 0; k + 1 < items; k++) {
      const lo = 0.1 + (0.9 * k) / (items - 1);
      const hi = 0.1 + (0.9 * (k + 1)) / (items - 1);
      const mean = (lo + hi) / 2;
      values.push(scale * mean, -scale * mean);
    }
  }
  values.push(0, 1);
  values.sort((a, b) => a - b);
  return Float32Array.from(values);
}

/** Cached: the table is a constant. */
let dynamicMapCache: Float32Array | null = null;
export function dynamicMap(): Float32Array {
  dynamicMapCache ??= dynamicMap8Bit();
  return dynamicMapCache;
}

/**
 * Half the largest gap between adjacent distinct code values: the worst rounding error of
 * nearest-value quantization, in units of the block scale (for values inside [min, max]).
 */
export function halfMaxGap(code: ArrayLike<number>): number {
  const sorted = Array.from(code).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i] - sorted[i - 1]);
  return gap / 2;
}

/**
 * Nearest-value encoder for a code table: returns a function x → index of the code value
 * nearest to x (ties go to the lower value), by binary search over the midpoints between sorted
 * values, as bitsandbytes' `dQuantize*` kernels do.
 */
export function nearestCodeEncoder(code: ArrayLike<number>): (x: number) => number {
  const order = Array.from(code, (v, i) => ({ v, i })).sort((a, b) => a.v - b.v || a.i - b.i);
  const mids = new Float64Array(order.length - 1);
  for (let k = 0; k + 1 < order.length; k++) mids[k] = (order[k].v + order[k + 1].v) / 2;
  const index = Int32Array.from(order, (o) => o.i);
  return (x: number): number => {
    // Number of midpoints strictly below x = position in the sorted table.
    let lo = 0;
    let hi = mids.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (mids[m] < x) lo = m + 1;
      else hi = m;
    }
    return index[lo];
  };
}
