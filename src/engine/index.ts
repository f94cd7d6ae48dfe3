export * from './types.js';
export { initEngine, BackendUnavailableError } from './backend.js';
export { measureMatmulGflops, type MatmulPeak, type MatmulPeakOptions, type MatmulShape } from './matmul-peak.js';
export { tfMemory, PeakTracker, peakRssBytes, queryGpuMemory, backendGpuBytes, type TfMemory } from './memory.js';
export { queryGpus, parseNvidiaSmi, type GpuInfo } from './nvidia-smi.js';
export { findCudaLibraries, type CudaLibReport, type CudaLibStatus } from './cuda-libs.js';
export { runDoctor, type DoctorReport, type BackendCheck } from './doctor.js';
export { formatDoctorReport } from './doctor-format.js';
export { defaultThreads, MAX_WASM_THREADS } from './load-wasm.js';
