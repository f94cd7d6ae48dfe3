import os from 'node:os';
import { afterEach, expect, test, vi } from 'vitest';
import { LoadSampler } from '../../src/experiments/machine-load.js';

afterEach(() => vi.restoreAllMocks());

test.skipIf(process.platform === 'win32')('the mean load never exceeds the highest sample, even where float rounding would put it above', () => {
  // Five equal samples of 3.68 sum to a value whose fifth is 3.6800000000000006 in float64.
  vi.spyOn(os, 'loadavg').mockReturnValue([3.68, 0, 0]);
  const sampler = new LoadSampler();
  for (let i = 0; i < 5; i++) sampler.sample();
  const rec = sampler.record();
  expect(rec.load_avg_1m_max).toBe(3.68);
  expect(rec.load_avg_1m).toBe(3.68);
  expect(rec.load_avg_1m!).toBeLessThanOrEqual(rec.load_avg_1m_max!);
});

test.skipIf(process.platform === 'win32')('mean and max of differing samples', () => {
  const values = [1, 2, 4];
  let i = 0;
  vi.spyOn(os, 'loadavg').mockImplementation(() => [values[i++], 0, 0]);
  const sampler = new LoadSampler();
  for (let k = 0; k < 3; k++) sampler.sample();
  expect(sampler.record()).toMatchObject({ load_avg_1m: 7 / 3, load_avg_1m_max: 4 });
});

test('no samples: only the core count', () => {
  expect(new LoadSampler().record()).toEqual({ cpu_count: os.availableParallelism() });
});
