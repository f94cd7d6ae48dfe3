import type { ArchitectureFamily, ModelConfig } from '../model/types.js';
import { LoraStudyError } from '../util/errors.js';
import { matchesTarget } from '../lora/target-modules.js';

/**
 * The linear layers inside one decoder block, named as in Hugging Face checkpoints, with the
 * shapes LoRA sees (`in_features → out_features`; GPT-2's Conv1D stores `[in, out]` on disk but
 * is the same map). The LM head and embeddings are not listed: they are never LoRA targets here.
 */
export interface LinearModuleSpec {
  /** Path inside the block, e.g. `self_attn.q_proj`, `attn.c_proj`. */
  path: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

/** PEFT `target_modules` names that exist per architecture, in block order. */
export const TARGET_MODULE_NAMES: Record<ArchitectureFamily, readonly string[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  // `c_proj` alone also works, and then means both of GPT-2's projections (see matchesTargetModule).
  gpt2: ['c_attn', 'attn.c_proj', 'c_fc', 'mlp.c_proj'],
};

/** Prefix of block `i`'s modules, as in the HF state dict (`model.layers.3.self_attn.q_proj`). */
export function blockPrefix(family: ArchitectureFamily, layer: number): string {
  return family === 'llama' ? `model.layers.${layer}` : `transformer.h.${layer}`;
}

/**
 * The linear modules of one decoder block. Llama family (llama, mistral, qwen2): with grouped-query
 * attention k_proj and v_proj project to `numKvHeads · headDim`, q_proj to `numHeads · headDim`,
 * which need not equal `hiddenSize` when `head_dim` is set explicitly. GPT-2: c_attn is the fused
 * q|k|v projection (out = 3 · hidden).
 */
export function blockLinearModules(config: ModelConfig): LinearModuleSpec[] {
  const C = config.hiddenSize;
  const I = config.intermediateSize;
  if (config.family === 'llama') {
    const q = config.numHeads * config.headDim;
    const kv = config.numKvHeads * config.headDim;
    return [
      { path: 'self_attn.q_proj', inFeatures: C, outFeatures: q, bias: config.attentionBias },
      { path: 'self_attn.k_proj', inFeatures: C, outFeatures: kv, bias: config.attentionBias },
      { path: 'self_attn.v_proj', inFeatures: C, outFeatures: kv, bias: config.attentionBias },
      { path: 'self_attn.o_proj', inFeatures: q, outFeatures: C, bias: config.outputBias },
      { path: 'mlp.gate_proj', inFeatures: C, outFeatures: I, bias: config.mlpBias },
      { path: 'mlp.up_proj', inFeatures: C, outFeatures: I, bias: config.mlpBias },
      { path: 'mlp.down_proj', inFeatures: I, outFeatures: C, bias: config.mlpBias },
    ];
  }
  const A = config.numHeads * config.headDim;
  return [
    { path: 'attn.c_attn', inFeatures: C, outFeatures: 3 * A, bias: true },
    { path: 'attn.c_proj', inFeatures: A, outFeatures: C, bias: true },
    { path: 'mlp.c_fc', inFeatures: C, outFeatures: I, bias: true },
    { path: 'mlp.c_proj', inFeatures: I, outFeatures: C, bias: true },
  ];
}

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
  // Block modules are never the output head, so all-linear takes every one of them.
  return matchesTarget(key, targets, 'lm_head');
}

/** A target list naming a module that does not exist in the architecture. */
export class UnknownTargetModuleError extends LoraStudyError {
  readonly family: ArchitectureFamily;
  readonly unmatched: readonly string[];
  readonly available: readonly string[];
  constructor(family: ArchitectureFamily, unmatched: readonly string[]) {
    const available = TARGET_MODULE_NAMES[family];
    super(`target_modules ${JSON.stringify(unmatched)} match no module of this ${family}-family model`, {
      hint: `the ${family} family has ${available.join(', ')}${family === 'gpt2' ? ' (c_proj alone means both projections)' : ''}`,
    });
    this.family = family;
    this.unmatched = unmatched;
    this.available = available;
  }
}

export interface TargetedModule extends LinearModuleSpec {
  /** Full HF name, e.g. `model.layers.0.self_attn.q_proj`. */
  name: string;
  layer: number;
}

/**
 * Every module of the model that `targets` selects, across all blocks, in HF order.
 * Stricter than PEFT, which only fails when nothing matches: every name in a target list must
 * match something, so a typo or another architecture's name (`q_proj` on GPT-2) is an error
 * rather than a silently smaller adapter.
 */
export function resolveTargetModules(config: ModelConfig, targets: string | readonly string[]): TargetedModule[] {
  const specs = blockLinearModules(config);
  const names = typeof targets === 'string' ? [targets] : targets;
  const used = new Set<string>();
  const selected: TargetedModule[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const prefix = blockPrefix(config.family, layer);
    for (const spec of specs) {
      const name = `${prefix}.${spec.path}`;
      const hits = names.filter((t) => matchesTargetModule(name, typeof targets === 'string' ? t : [t]));
      if (hits.length === 0) continue;
      hits.forEach((t) => used.add(t));
      selected.push({ ...spec, name, layer });
    }
  }
  const unmatched = names.filter((t) => !used.has(t));
  if (unmatched.length > 0) throw new UnknownTargetModuleError(config.family, unmatched);
  return selected;
}
