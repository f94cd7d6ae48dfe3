import { linearModules, targetModuleNames, type LinearModule } from '../model/model-shapes.js';
import type { ModelConfig } from '../model/types.js';
import { matchesTarget } from '../lora/target-modules.js';
import { LoraStudyError } from '../util/errors.js';

export { blockLinearModules } from '../model/model-shapes.js';

/**
 * PEFT's rule for whether module `key` (its full dotted name) is a target
 * (`check_target_module_exists` in `peft/tuners/tuners_utils.py`):
 * - a list of names matches when the key *equals* a name or *ends with* `"." + name`. So on GPT-2
 *   `c_proj` matches both `attn.c_proj` and `mlp.c_proj`, while `attn.c_proj` matches only the
 *   attention output; `proj` matches nothing (the dot is required);
 * - a single string is a regular expression that must match the whole key (`re.fullmatch`);
 * - `all-linear` means every linear layer except the output head.
 */
export function matchesTargetModule(key: string, targets: string | readonly string[]): boolean {
  return matchesTarget(key, targets, 'lm_head');
}

/** A target list naming a module that does not exist in the architecture. */
export class UnknownTargetModuleError extends LoraStudyError {
  readonly modelType: string;
  readonly unmatched: readonly string[];
  readonly available: readonly string[];
  constructor(config: ModelConfig, unmatched: readonly string[]) {
    const available = targetModuleNames(config);
    super(`target_modules ${JSON.stringify(unmatched)} match no module of this ${config.modelType} model`, {
      hint: `${config.modelType} has ${available.join(', ')}`,
    });
    this.modelType = config.modelType;
    this.unmatched = unmatched;
    this.available = available;
  }
}

export type TargetedModule = LinearModule;

/**
 * Every module of the model that `targets` selects, across all blocks, in HF order.
 * Stricter than PEFT, which only fails when nothing matches: every name in a target list must
 * match something, so a typo or another architecture's name (`q_proj` on GPT-2) is an error
 * rather than a silently smaller adapter.
 */
export function resolveTargetModules(config: ModelConfig, targets: string | readonly string[]): TargetedModule[] {
  const names = typeof targets === 'string' ? [targets] : targets;
  const used = new Set<string>();
  const selected: TargetedModule[] = [];
  for (const m of linearModules(config)) {
    const hits = names.filter((t) => matchesTargetModule(m.name, typeof targets === 'string' ? t : [t]));
    if (hits.length === 0) continue;
    hits.forEach((t) => used.add(t));
    selected.push(m);
  }
  const unmatched = names.filter((t) => !used.has(t));
  if (unmatched.length > 0) throw new UnknownTargetModuleError(config, unmatched);
  return selected;
}
