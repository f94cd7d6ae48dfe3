/**
 * Views of a model's shape computed from its config and its architecture's spec alone (no
 * weights): every linear module by full Hugging Face name, and the names LoRA can target.
 */
import { specOf } from './architectures/registry.js';
import { HEAD_NAME, type LinearSpec, type ParamSpec } from './architectures/spec.js';
import type { ModelConfig } from './types.js';

/** A linear module of the model by its full HF name (`model.layers.3.self_attn.q_proj`, `lm_head`). */
export interface LinearModule extends LinearSpec {
  name: string;
  /** Block index; null for the output head. */
  layer: number | null;
}

/** The linear layers of one decoder block, as the architecture's spec lists them. */
export function blockLinearModules(config: ModelConfig): LinearSpec[] {
  return specOf(config).blockLinears(config);
}

/** Every linear module of the model, block by block, then the output head (what `model.linears` holds). */
export function linearModules(config: ModelConfig): LinearModule[] {
  const spec = specOf(config);
  const specs = spec.blockLinears(config);
  const out: LinearModule[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const s of specs) out.push({ ...s, name: `${spec.blockPrefix(layer)}.${s.path}`, layer });
  }
  out.push({
    path: HEAD_NAME, name: HEAD_NAME, layer: null, inFeatures: config.hiddenSize, outFeatures: config.vocabSize,
    bias: config.lmHeadBias ?? false, layout: 'out_in',
  });
  return out;
}

/** Every parameter tensor of the model (stored names and shapes; a tied head is not listed). */
export function parameterSpecs(config: ModelConfig): ParamSpec[] {
  return specOf(config).parameters(config);
}

/**
 * Short names that select each block linear as a PEFT `target_modules` entry: the last path
 * segment, or the whole path where the last segment is ambiguous (GPT-2's `attn.c_proj` and
 * `mlp.c_proj`).
 */
export function targetModuleNames(config: ModelConfig): string[] {
  const paths = blockLinearModules(config).map((s) => s.path);
  const last = (p: string): string => p.slice(p.lastIndexOf('.') + 1);
  return paths.map((p) => (paths.filter((q) => last(q) === last(p)).length > 1 ? p : last(p)));
}
