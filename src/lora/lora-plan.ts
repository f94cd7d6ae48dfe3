/**
 * Which modules a LoRA config adapts and how many parameters it trains. The one computation the
 * dry-run plan (from the config's shapes) and injection (from the built model) both call, so the
 * figure a plan shows is the figure a run trains.
 */
import type { LoraConfig } from './lora-config.js';
import { defaultTargetModules, selectTargetModules } from './target-modules.js';

export interface LinearShape {
  name: string;
  inFeatures: number;
  outFeatures: number;
}

export interface LoraPlan {
  /** target_modules as given, or PEFT's default for the model type. */
  target: string | string[];
  /** Full names of the adapted modules, in model order. */
  modules: string[];
  /** Σ r · (in + out) over the adapted modules (lora_A `[r, in]` + lora_B `[out, r]`). */
  trainableParams: number;
}

/** Trainable parameters LoRA adds to one module. */
export function loraModuleParams(shape: Pick<LinearShape, 'inFeatures' | 'outFeatures'>, r: number): number {
  return r * (shape.inFeatures + shape.outFeatures);
}

/** Selects the targets among `linears` (PEFT's matching rule) and counts what they train. */
export function planLora(
  linears: readonly LinearShape[],
  cfg: Pick<LoraConfig, 'r' | 'target_modules'>,
  modelType: string,
  outputHeadName = 'lm_head',
): LoraPlan {
  const names = linears.map((l) => l.name);
  const target = cfg.target_modules ?? defaultTargetModules(modelType, names);
  const modules = selectTargetModules(names, target, outputHeadName);
  const byName = new Map(linears.map((l) => [l.name, l]));
  const trainableParams = modules.reduce((sum, n) => sum + loraModuleParams(byName.get(n)!, cfg.r), 0);
  return { target, modules, trainableParams };
}
