import type { ModelConfig } from '../model/types.js';
import { resolveTargetModules, type TargetedModule } from './param-count-modules.js';
import { countParameters } from './param-count.js';

export interface LoraShape {
  /** LoRA rank r. */
  r: number;
  /** PEFT `target_modules`: a list of names (suffix match), a regex string, or `all-linear`. */
  targetModules: string | readonly string[];
  /** Rank of modules whose rank differs from r (rank_pattern), by full module name. */
  ranks?: ReadonlyMap<string, number>;
  /**
   * DoRA (`use_dora`): the tokens each forward pass runs on (micro-batch sequences × tokens per
   * sequence), over which the per-pass weight norm ‖W + s·B·A‖ is shared. Absent for plain LoRA.
   */
  dora?: { tokensPerForward: number };
}

export interface LoraModuleParams extends TargetedModule {
  /** `r · in` (lora_A, `[r, in]`) + `out · r` (lora_B, `[out, r]`). */
  params: number;
}

export interface LoraParameterCount {
  modules: LoraModuleParams[];
  /** Trainable parameters: Σ r · (in + out) over the targeted modules. */
  trainable: number;
  /** Base parameters (frozen) + trainable, as PEFT's `print_trainable_parameters` counts "all". */
  total: number;
  /** `100 · trainable / total`. */
  trainablePercent: number;
}

/**
 * LoRA trainable parameters from the config alone (Hu et al. 2021: ΔW = B·A with A `[r, in]`,
 * B `[out, r]`). `lora_alpha`, rsLoRA and dropout change no count; `bias: "none"` (PEFT's
 * default, the only one supported here) adds none. Throws `UnknownTargetModuleError` for a
 * target name that selects nothing.
 */
export function countLoraParameters(config: ModelConfig, lora: LoraShape): LoraParameterCount {
  if (!Number.isInteger(lora.r) || lora.r < 1) throw new RangeError(`LoRA rank r must be an integer ≥ 1, got ${lora.r}`);
  const modules = resolveTargetModules(config, lora.targetModules).map((m) => ({
    ...m,
    params: lora.r * (m.inFeatures + m.outFeatures),
  }));
  const trainable = modules.reduce((sum, m) => sum + m.params, 0);
  const total = countParameters(config).total + trainable;
  return { modules, trainable, total, trainablePercent: (100 * trainable) / total };
}
