import * as tf from '@tensorflow/tfjs-core';

/**
 * Bytes held by distinct tfjs data buffers, and their peak. tf.memory().numBytes counts every
 * tensor, so a reshape or slice view of a buffer counts its bytes again and training peaks come
 * out inflated; this counts a buffer once, from its first tensor until tfjs frees it. It hooks
 * the engine's own bookkeeping (trackTensor / removeDataId, tfjs-core 4.x), so it sees every
 * backend; buffers created before it is installed are not counted, which is why
 * src/util/tfjs-setup.ts installs it when the first model module loads.
 */
interface EngineInternals {
  trackTensor(a: { dataId: object }, backend: unknown): void;
  removeDataId(dataId: object, backend: unknown): void;
  state: { tensorInfo: WeakMap<object, { bytes: number; backend: unknown }> };
}

let installed = false;
let current = 0;
let peak = 0;

export function installBufferBytes(): boolean {
  if (installed) return true;
  const engine = tf.engine() as unknown as EngineInternals;
  if (typeof engine.trackTensor !== 'function' || typeof engine.removeDataId !== 'function' || !engine.state?.tensorInfo) return false;
  const track = engine.trackTensor.bind(engine);
  const remove = engine.removeDataId.bind(engine);
  engine.trackTensor = (a, backend) => {
    const isNew = !engine.state.tensorInfo.has(a.dataId);
    track(a, backend);
    if (isNew) {
      current += engine.state.tensorInfo.get(a.dataId)?.bytes ?? 0;
      if (current > peak) peak = current;
    }
  };
  engine.removeDataId = (dataId, backend) => {
    const info = engine.state.tensorInfo.get(dataId);
    remove(dataId, backend);
    if (info && !engine.state.tensorInfo.has(dataId)) current = Math.max(0, current - info.bytes);
  };
  installed = true;
  return true;
}

/** Bytes in distinct live buffers now, and the most since the last resetBufferPeak(). */
export function bufferBytes(): { current: number; peak: number; installed: boolean } {
  return { current, peak, installed };
}

export function resetBufferPeak(): void {
  peak = current;
}
