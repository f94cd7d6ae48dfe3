import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether a backend instance already exists. `tf.findBackend` cannot answer this: for a
 * registered but uninitialised backend it starts initialising it (with whatever flags are set
 * at that moment) and returns null.
 */
export function isBackendInitialized(name: string): boolean {
  return name in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
}

/** The live backend instance, only once initialised (see {@link isBackendInitialized}). */
export function backendInstance<T = unknown>(name: string): T | null {
  return isBackendInitialized(name) ? (tf.findBackend(name) as unknown as T) : null;
}
