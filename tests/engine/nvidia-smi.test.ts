import { describe, expect, it } from 'vitest';
import { parseNvidiaSmi, queryGpus } from '../../src/engine/nvidia-smi.js';

describe('nvidia-smi parsing', () => {
  it('reads one line per GPU', () => {
    const gpus = parseNvidiaSmi('NVIDIA H100 80GB HBM3, 4, 81559, 550.54.15\nTesla T4, 0, 15360, 535.104.05\n\n');
    expect(gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 4, memoryTotalMiB: 81559, driverVersion: '550.54.15' },
      { index: 1, name: 'Tesla T4', memoryUsedMiB: 0, memoryTotalMiB: 15360, driverVersion: '535.104.05' },
    ]);
  });

  it('gives null when nvidia-smi cannot run', () => {
    expect(
      queryGpus(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });
});
