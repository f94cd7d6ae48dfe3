/** Phi-1, Phi-1.5, Phi-2 (PhiForCausalLM): parallel attention and MLP, LayerNorm, partial RoPE. */
import type { ModelConfig } from '../../types.js';
import { MODEL_LAYERS_NAMING } from '../shared/naming.js';
import { layerNormParamSpecs, linearParamSpecs } from '../shared/param-specs.js';
import type { ArchitectureSpec, LinearSpec, ParamSpec } from '../spec.js';
import { parsePhiConfig } from './config.js';
import { PhiModel } from './model.js';

const { blockPrefix } = MODEL_LAYERS_NAMING;

function blockLinears(c: ModelConfig): LinearSpec[] {
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const l = (path: string, inFeatures: number, outFeatures: number): LinearSpec => ({ path, inFeatures, outFeatures, bias: true, layout: 'out_in' });
  return [
    l('self_attn.q_proj', C, q),
    l('self_attn.k_proj', C, kv),
    l('self_attn.v_proj', C, kv),
    l('self_attn.dense', q, C),
    l('mlp.fc1', C, I),
    l('mlp.fc2', I, C),
  ];
}

function parameters(c: ModelConfig): ParamSpec[] {
  const C = c.hiddenSize;
  const ln = layerNormParamSpecs;
  const out: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, C], role: 'embedding', kind: 'weight' }];
  const linears = blockLinears(c);
  for (let i = 0; i < c.numLayers; i++) {
    const p = blockPrefix(i);
    out.push(...ln(`${p}.input_layernorm`, C, 'block'));
    for (const s of linears) out.push(...linearParamSpecs(p, s));
    if (c.qkLayernorm) out.push(...ln(`${p}.self_attn.q_layernorm`, c.headDim, 'block'), ...ln(`${p}.self_attn.k_layernorm`, c.headDim, 'block'));
  }
  out.push(...ln('model.final_layernorm', C, 'final_norm'));
  // lm_head has a bias of its own even when its weight is tied to the embedding.
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, C], role: 'head', kind: 'weight' });
  out.push({ name: 'lm_head.bias', shape: [c.vocabSize], role: 'head', kind: 'bias' });
  return out;
}

export const phi: ArchitectureSpec = {
  name: 'phi',
  modelTypes: { phi: 'PhiForCausalLM' },
  parseConfig: parsePhiConfig,
  ...MODEL_LAYERS_NAMING,
  blockLinears,
  parameters,
  // PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING["phi"].
  defaultTargets: () => ['q_proj', 'v_proj', 'fc1', 'fc2'],
  build: (c, reader, opts) => new PhiModel(c, reader, opts, blockLinears(c), blockPrefix),
};
