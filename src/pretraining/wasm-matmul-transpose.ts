// Moved to src/engine (initEngine installs it for every wasm run); kept as a re-export.
export { installWasmTransposedMatmul } from '../engine/wasm-matmul-transpose.js';
