/**
 * Which modules a LoRA config adapts and how many parameters it trains. The one computation the
 * dry-run plan (from the config's shapes) and injection (from the built model) both call, so the
 * figure a plan shows is the figure a run trains.
 */
import { moduleLoraShape, type LoraConfig } from './lora-config.js';
import { defaultTargetModules, selectTargetModules } from './target-modules.js';

export interface LinearShape {
  name: string;
  inFeatures: number;
  outFeatures: number;
}

export interface LoraPlan {
  /** target_modules as given, or PEFT's default for the model type. */
  target: string | string[];
  /** Full names of the adapted modules, in model order (after layers_to_transform). */
  modules: string[];
  /** Rank of each adapted module (rank_pattern applied). */
  ranks: number[];
  /** Σ r·(in + out) (+ out with DoRA) over the adapted modules. */
  trainableParams: number;
}

/** Trainable parameters LoRA adds to one module: lora_A `[r, in]` + lora_B `[out, r]` (+ DoRA's magnitude `[out]`). */
export function loraModuleParams(shape: Pick<LinearShape, 'inFeatures' | 'outFeatures'>, r: number, useDora = false): number {
  return r * (shape.inFeatures + shape.outFeatures) + (useDora ? shape.outFeatures : 0);
}

export type PlanConfig = Pick<LoraConfig, 'r' | 'lora_alpha' | 'use_rslora' | 'use_dora' | 'target_modules' | 'rank_pattern' | 'alpha_pattern' | 'layers_to_transform' | 'layers_pattern'>;

/** Selects the targets among `linears` (PEFT's matching rule, then layers_to_transform) and counts what they train. */
export function planLora(linears: readonly LinearShape[], cfg: PlanConfig, modelType: string, outputHeadName = 'lm_head'): LoraPlan {
  const names = linears.map((l) => l.name);
  const target = cfg.target_modules ?? defaultTargetModules(modelType, names);
  const modules = selectTargetModules(names, target, outputHeadName, cfg);
  const byName = new Map(linears.map((l) => [l.name, l]));
  const ranks = modules.map((n) => moduleLoraShape(cfg, n).r);
  const trainableParams = modules.reduce((sum, n, i) => sum + loraModuleParams(byName.get(n)!, ranks[i], cfg.use_dora), 0);
  return { target, modules, ranks, trainableParams };
}
