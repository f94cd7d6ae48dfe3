import { describe, expect, it } from 'vitest';
import { FP4_CODE, NF4_CODE, dynamicMap, halfMaxGap, nearestCodeEncoder } from '../../../src/lora/quantize/code-tables.js';
import { rng } from './random.js';

describe('code tables', () => {
  it('NF4 has the 16 bitsandbytes values, ascending, with exact -1, 0 and 1', () => {
    expect(NF4_CODE.length).toBe(16);
    for (let i = 1; i < 16; i++) expect(NF4_CODE[i]).toBeGreaterThan(NF4_CODE[i - 1]);
    expect([NF4_CODE[0], NF4_CODE[7], NF4_CODE[15]]).toEqual([-1, 0, 1]);
    expect(NF4_CODE[1]).toBe(Math.fround(-0.6961928009986877));
    expect(NF4_CODE[8]).toBe(Math.fround(0.07958029955625534));
  });

  it('FP4 is sign bit 3 over bitsandbytes magnitudes {0, 0.0625, 8, 12, 4, 6, 2, 3}/12', () => {
    const magnitudes = [0, 0.0625, 8, 12, 4, 6, 2, 3].map((v) => Math.fround(v / 12));
    for (let i = 0; i < 8; i++) {
      expect(FP4_CODE[i]).toBe(magnitudes[i]);
      expect(FP4_CODE[i + 8]).toBe(-magnitudes[i]);
    }
    expect(Math.max(...FP4_CODE)).toBe(1);
  });

  it('the dynamic 8-bit map has 256 sorted values in [-1, 1] with 0 and 1', () => {
    const map = dynamicMap();
    expect(map.length).toBe(256);
    for (let i = 1; i < 256; i++) expect(map[i]).toBeGreaterThanOrEqual(map[i - 1]);
    expect(map[255]).toBe(1);
    expect(map.includes(0)).toBe(true);
    expect(map[0]).toBeCloseTo(-0.99297, 4);
    expect(map.filter((v) => v > 0 && v < 1e-6)).toEqual(new Float32Array([0.55e-6])); // exponent 0: one value
  });

  it('the nearest-code encoder agrees with brute force', () => {
    const next = rng(7);
    for (const code of [NF4_CODE, FP4_CODE, dynamicMap()]) {
      const encode = nearestCodeEncoder(code);
      for (let t = 0; t < 2000; t++) {
        const x = next() * 2.2 - 1.1;
        const best = Math.min(...Array.from(code, (v) => Math.abs(v - x)));
        expect(Math.abs(code[encode(x)] - x)).toBe(best);
      }
    }
  });

  it('half the largest gap: NF4 0.1519 (between -1 and -0.696), FP4 1/6', () => {
    expect(halfMaxGap(NF4_CODE)).toBeCloseTo((1 - 0.6961928009986877) / 2, 6);
    expect(halfMaxGap(FP4_CODE)).toBeCloseTo((1 - 8 / 12) / 2, 6);
  });
});
