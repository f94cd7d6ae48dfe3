import { BaseExperiment } from './base-experiment.js';

/**
 * Varies the precision of the frozen base weights (fp32, int8, nf4, nf4-dq, fp4) as QLoRA does;
 * LoRA weights stay float32. The base hook `prepareBase` quantizes before the adapter exists.
 */
export class QuantizationStudy extends BaseExperiment {
  static override readonly type = 'quantization';
  get experimentType(): string {
    return QuantizationStudy.type;
  }

  override variantLabel(): string {
    return this.config.quantization;
  }
}
