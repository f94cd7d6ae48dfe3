import { describe, expect, test } from 'vitest';
import { collate } from '../../src/training/batching.js';

describe('collate', () => {
  test('a batch of 300,000 examples collates (no spread of the lengths onto the call stack)', () => {
    const examples = Array.from({ length: 300_000 }, (_, i) => ({ input_ids: [1, 2, 3].slice(0, 1 + (i % 3)), labels: [-100, 5, 6].slice(0, 1 + (i % 3)) }));
    const hb = collate(examples, 64, 0);
    expect([hb.batchSize, hb.seqLen]).toEqual([300_000, 3]);
    // rows of 1, 2, 3 tokens in turn: 6 real tokens and 3 loss tokens (positions 1 and 2) per three rows
    expect(hb.realTokens).toBe(600_000);
    expect(hb.lossTokens).toBe(300_000);
    expect(Array.from(hb.inputIds.subarray(0, 9))).toEqual([1, 0, 0, 1, 2, 0, 1, 2, 3]);
  });

});
