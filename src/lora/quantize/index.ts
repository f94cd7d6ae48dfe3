export { quantizeWeight } from './quantize-weight.js';
export { quantizedBytes } from './quantized-bytes.js';
export { quantizedLinear } from './quantized-linear.js';
export { QuantizationError } from './errors.js';
export { NF4_CODE, FP4_CODE, dynamicMap, halfMaxGap } from './code-tables.js';
export {
  QUANT_FORMATS,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_DQ_BLOCK_SIZE,
  type QuantFormat,
  type QuantizeOptions,
  type QuantizedWeight,
} from './types.js';
