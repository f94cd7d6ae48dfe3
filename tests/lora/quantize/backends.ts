import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The backends every quantized format must run on. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof BACKENDS)[number];

let wasmPathsSet = false;

/**
 * Switch to `name`. Under Node the wasm backend must be told where its .wasm files are when it
 * is loaded from a bundle or another folder; pointing it at its own dist/ always works.
 */
export async function useBackend(name: TestBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    setWasmPaths(`${dist}${path.sep}`);
    wasmPathsSet = true;
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}
