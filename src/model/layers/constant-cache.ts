import * as tf from '@tensorflow/tfjs-core';

/**
 * Tables a forward pass would otherwise rebuild every call from the same inputs (rotary cos/sin
 * of the default positions, the causal mask), kept per backend and key and made large enough
 * for the longest sequence seen so far: a caller slices out what it needs. A table is made by
 * `make(capacity)` with the same kernels the forward ran, so every value is unchanged; when a
 * longer sequence comes, the table is replaced by one twice as long (or as long as needed), so
 * the number of kept tensors does not grow with the number of sequence lengths seen.
 * `dispose()` releases everything (the model's dispose calls it).
 */
export class ConstantCache {
  private readonly entries = new Map<string, { capacity: number; tensors: tf.Tensor[] }>();

  /** Smallest capacity a table is made with. */
  static readonly MIN_CAPACITY = 64;

  get(key: string, size: number, make: (capacity: number) => tf.Tensor[]): { capacity: number; tensors: tf.Tensor[] } {
    const k = `${tf.getBackend()}|${key}`;
    const hit = this.entries.get(k);
    if (hit && hit.capacity >= size && hit.tensors.every((t) => !t.isDisposed)) return hit;
    const capacity = Math.max(size, ConstantCache.MIN_CAPACITY, hit ? 2 * hit.capacity : 0);
    if (hit) this.drop(k);
    // keep(): the caller is usually inside a tidy, which would dispose them at its end.
    const tensors = tf.tidy(() => make(capacity)).map((t) => tf.keep(t));
    const entry = { capacity, tensors };
    this.entries.set(k, entry);
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  dispose(): void {
    for (const k of [...this.entries.keys()]) this.drop(k);
  }

  private drop(k: string): void {
    for (const t of this.entries.get(k)?.tensors ?? []) t.dispose();
    this.entries.delete(k);
  }
}
