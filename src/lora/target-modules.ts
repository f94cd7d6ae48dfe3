import { architectureFor } from '../model/architectures/registry.js';
import { LoraStudyError } from '../util/errors.js';

export class TargetModulesError extends LoraStudyError {
  constructor(readonly targetModules: string | string[], readonly available: string[]) {
    super(
      `target_modules ${JSON.stringify(targetModules)} matched no linear module of this model`,
      { hint: `linear modules here end in: ${available.join(', ')} (use a list of these suffixes, a regex over full names, or "all-linear")` },
    );
  }
}

/**
 * PEFT's matching rule (`check_target_module_exists`): a string is a regex that must match the
 * whole module name; a list matches a name equal to an entry or ending in `.<entry>`.
 * "all-linear" takes every linear layer except the output head.
 */
export function matchesTarget(name: string, target: string | readonly string[], outputHeadName: string): boolean {
  if (target === 'all-linear') return name !== outputHeadName;
  // No `u` flag: it would reject escapes Python accepts, such as `\_` or `\-`.
  if (typeof target === 'string') return new RegExp(`^(?:${target})$`).test(name);
  return target.some((t) => name === t || name.endsWith(`.${t}`));
}

/** Distinct short names (the part after the last layer index), for messages and adapter_config. */
export function moduleSuffixes(names: string[]): string[] {
  const out = new Set<string>();
  for (const n of names) {
    const parts = n.split('.');
    const i = parts.findLastIndex((p) => /^\d+$/.test(p));
    out.add(parts.slice(i + 1).join('.') || n);
  }
  return [...out];
}

/** `layers_to_transform` / `layers_pattern` as PEFT's check_target_module_exists reads them. */
export interface LayerFilter {
  layers_to_transform?: number | number[] | null;
  layers_pattern?: string | string[] | null;
}

/**
 * PEFT's layer-index rule: with no layers_pattern the index is the first number that follows a
 * dotted name part, except for a name listed exactly (`re.match(r".*?\.[^.]*\.(\d+)\.", key)`); with one, the number after
 * `.<pattern>.`. A module whose name has no such index is not adapted. Applies only to list targets.
 */
export function inSelectedLayers(name: string, f: LayerFilter): boolean {
  const idx = f.layers_to_transform;
  if (idx == null || (Array.isArray(idx) && idx.length === 0)) return true;
  const patterns = f.layers_pattern == null || f.layers_pattern.length === 0 ? null : Array.isArray(f.layers_pattern) ? f.layers_pattern : [f.layers_pattern];
  let m: RegExpExecArray | null = null;
  if (patterns === null) m = /^.*?\.[^.]*\.(\d+)\./.exec(name);
  else for (const p of patterns) if ((m = new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`).exec(name))) break;
  if (!m) return false;
  const layer = Number(m[1]);
  return Array.isArray(idx) ? idx.includes(layer) : layer === idx;
}

export function selectTargetModules(linearNames: string[], target: string | string[], outputHeadName: string, layers: LayerFilter = {}): string[] {
  if (typeof target === 'string' && target !== 'all-linear') {
    try {
      new RegExp(target);
    } catch (err) {
      throw new LoraStudyError(`target_modules regex ${JSON.stringify(target)} is invalid: ${(err as Error).message}`);
    }
  }
  const chosen = linearNames.filter((n) => matchesTarget(n, target, outputHeadName) && (typeof target === 'string' || target.includes(n) || inSelectedLayers(n, layers)));
  if (chosen.length === 0) {
    if (layers.layers_to_transform != null && linearNames.some((n) => matchesTarget(n, target, outputHeadName))) {
      throw new LoraStudyError(`layers_to_transform ${JSON.stringify(layers.layers_to_transform)}${layers.layers_pattern ? ` (layers_pattern ${JSON.stringify(layers.layers_pattern)})` : ''} left no module of target_modules ${JSON.stringify(target)}`, {
        hint: `module names look like ${linearNames[0]}; give layer indices that exist, and a layers_pattern naming the numbered layer list`,
      });
    }
    throw new TargetModulesError(target, moduleSuffixes(linearNames));
  }
  return chosen;
}

/** A config names no target_modules and PEFT has no default for the model type. */
export class NoDefaultTargetsError extends LoraStudyError {
  constructor(readonly modelType: string, readonly available: string[]) {
    super(`target_modules is not set and PEFT has no default target modules for model_type ${modelType}`, {
      hint: `name them in lora.target_modules, e.g. [${available.slice(0, 2).join(', ')}] (this model has ${available.join(', ')}), or "all-linear"`,
    });
  }
}

/**
 * target_modules when a config names none: PEFT's default for the model type
 * (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, kept in each ArchitectureSpec); an error
 * where PEFT has none, as PEFT raises one.
 */
export function defaultTargetModules(modelType: string, linearNames: string[] = []): string[] {
  const targets = architectureFor(modelType)?.defaultTargets(modelType);
  if (!targets) {
    const last = new Set(linearNames.filter((n) => n !== 'lm_head').map((n) => n.slice(n.lastIndexOf('.') + 1)));
    throw new NoDefaultTargetsError(modelType, [...last]);
  }
  return targets;
}
