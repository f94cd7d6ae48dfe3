// Times one tensor op under several kernel settings, call by call interleaved (the order reversed
// every other round), for the in-process A/B scripts (bench-split-exp.ts, bench-native-exp.ts).
import * as tf from '@tensorflow/tfjs-core';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** µs per call of `op(x)` for each mode (`setMode` switches the kernels before each call), over `rounds` rounds. */
export function interleavedCalls<M extends string>(modes: readonly M[], rounds: number, setMode: (m: M) => void, x: tf.Tensor, op: (x: tf.Tensor) => tf.Tensor): Record<M, number[]> {
  const ts = Object.fromEntries(modes.map((m) => [m, [] as number[]])) as Record<M, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? [...modes].reverse() : modes) {
      setMode(mode);
      const t0 = performance.now();
      const y = op(x);
      ts[mode].push((performance.now() - t0) * 1000);
      y.dispose();
    }
  }
  return ts;
}
