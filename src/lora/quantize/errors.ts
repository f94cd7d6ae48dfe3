import { LoraStudyError } from '../../util/errors.js';
import type { QuantFormat } from './types.js';

/** A weight or option that cannot be quantized as asked. */
export class QuantizationError extends LoraStudyError {
  readonly format: QuantFormat | string;
  readonly shape: readonly number[];
  readonly reason: string;
  constructor(params: { format: QuantFormat | string; shape: readonly number[]; reason: string; hint?: string }) {
    super(`cannot quantize a weight of shape [${params.shape.join(', ')}] to ${params.format}: ${params.reason}`, {
      hint: params.hint,
    });
    this.format = params.format;
    this.shape = params.shape;
    this.reason = params.reason;
  }
}
