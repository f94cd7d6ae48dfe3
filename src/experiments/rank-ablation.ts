import { BaseExperiment, ExperimentValidationError } from './base-experiment.js';

/** Varies the LoRA rank r with everything else fixed: what does each extra rank buy? */
export class RankAblation extends BaseExperiment {
  static override readonly type = 'rank';
  get experimentType(): string {
    return RankAblation.type;
  }

  override variantLabel(): string {
    return `r=${this.config.lora.r}`;
  }

  override validate(): void {
    super.validate();
    if (this.config.quantization !== 'fp32') {
      // Not wrong, but it mixes two effects; say so instead of silently confounding the study.
      this.ctx.logger.warn({ run: this.config.name, quantization: this.config.quantization }, 'rank study runs on a quantized base');
    }
    if (!Number.isInteger(this.config.lora.r) || this.config.lora.r <= 0) {
      throw new ExperimentValidationError(`rank study: lora.r must be a positive integer, got ${this.config.lora.r}`);
    }
  }
}
