import type { NativeMatmulState } from './native-matmul.js';

/** What each backend loader reports: either how it runs, or why it could not. */
export type BackendLoad =
  | { ok: true; reason: string; device: string; threads: number; simd: boolean; nativeMatmul?: NativeMatmulState }
  | { ok: false; reason: string };
