import { BaseExperiment } from './base-experiment.js';

/** Varies which linear layers get adapters (attention only, MLP only, all-linear, …). */
export class ModuleAblation extends BaseExperiment {
  static override readonly type = 'module';
  get experimentType(): string {
    return ModuleAblation.type;
  }

  override variantLabel(): string {
    const t = this.config.lora.target_modules;
    if (t === undefined) return 'default';
    return Array.isArray(t) ? t.join('+') : t;
  }
}
