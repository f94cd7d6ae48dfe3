import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { othersBusyCores, readCpuJiffies } from '../../src/evaluation/cpu-contention.js';

test('readCpuJiffies sums the busy fields of /proc/stat\'s cpu line (steal counts as busy, iowait as idle)', () => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const stat = 'cpu  100 5 20 800 30 1 2 7 0 0\ncpu0 50 2 10 400 15 1 1 3 0 0\nintr 1 2 3\n';
  expect(readCpuJiffies(stat)).toEqual({ busy: 100 + 5 + 20 + 1 + 2 + 7, total: 100 + 5 + 20 + 1 + 2 + 7 + 800 + 30 });
  expect(readCpuJiffies('intr 1 2 3\n')).toBeNull();
  expect(readCpuJiffies('cpu  a b c d\n')).toBeNull();
});

test.skipIf(!existsSync('/proc/stat'))('othersBusyCores reads the machine here: a share of the cores between 0 and their count', async () => {
  // Other vitest workers may be busy meanwhile, so only the range is certain.
  const others = await othersBusyCores(2, 200);
  expect(others).not.toBeNull();
  expect(others!).toBeGreaterThanOrEqual(0);
  expect(others!).toBeLessThanOrEqual(2);
});
