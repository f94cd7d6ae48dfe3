/** lora-study's native SGEMM addon (see src/sgemm.cc). Offsets are float indices into `heap`. */
export interface NativeSgemm {
  matmul(
    heap: Float32Array, aOffsets: Uint32Array, bOffsets: Uint32Array, cOffset: number,
    m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
    biasOffset: number, biasLength: number, activation: number, alpha: number,
  ): void;
  setThreads(n: number): number;
  setKernel(name: 'auto' | 'avx512' | 'avx2' | 'portable'): boolean;
  info(): { kernel: string; threads: number; hardwareThreads: number };
}
declare const addon: NativeSgemm;
export = addon;
