/** Llama, Mistral and Qwen2: one decoder, differing only in config defaults and bias rules. */
import { RopeDecoder } from '../shared/rope-decoder.js';
import { MODEL_LAYERS_NAMING } from '../shared/naming.js';
import type { ArchitectureSpec, LinearSpec, ParamSpec } from '../spec.js';
import type { ModelConfig } from '../../types.js';
import { parseLlamaConfig } from './config.js';

const { blockPrefix } = MODEL_LAYERS_NAMING;

/** q_proj to numHeads·headDim, k/v_proj to numKvHeads·headDim (grouped-query attention). */
export function llamaBlockLinears(c: ModelConfig): LinearSpec[] {
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const l = (path: string, inFeatures: number, outFeatures: number, bias: boolean): LinearSpec => ({ path, inFeatures, outFeatures, bias, layout: 'out_in' });
  return [
    l('self_attn.q_proj', C, q, c.attentionBias),
    l('self_attn.k_proj', C, kv, c.attentionBias),
    l('self_attn.v_proj', C, kv, c.attentionBias),
    l('self_attn.o_proj', q, C, c.outputBias),
    l('mlp.gate_proj', C, I, c.mlpBias),
    l('mlp.up_proj', C, I, c.mlpBias),
    l('mlp.down_proj', I, C, c.mlpBias),
  ];
}

/**
 * The parameters of a pre-norm RoPE decoder with RMSNorm (llama, phi3, gemma share the layout):
 * embeddings; per block input_layernorm, the block's linear weights (then their biases, in
 * attention and MLP groups), post_attention_layernorm; model.norm; lm_head unless tied.
 */
export function ropeDecoderParameters(c: ModelConfig, linears: LinearSpec[], prefix: (layer: number) => string): ParamSpec[] {
  const C = c.hiddenSize;
  const out: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, C], role: 'embedding', kind: 'weight' }];
  const attn = linears.filter((s) => s.path.startsWith('self_attn.') && !s.path.endsWith('o_proj'));
  const rest = linears.filter((s) => !attn.includes(s));
  for (let i = 0; i < c.numLayers; i++) {
    const p = prefix(i);
    const w = (s: LinearSpec): ParamSpec => ({ name: `${p}.${s.path}.weight`, shape: [s.outFeatures, s.inFeatures], role: 'block', kind: 'weight' });
    const b = (s: LinearSpec): ParamSpec[] => (s.bias ? [{ name: `${p}.${s.path}.bias`, shape: [s.outFeatures], role: 'block', kind: 'bias' }] : []);
    out.push({ name: `${p}.input_layernorm.weight`, shape: [C], role: 'block', kind: 'norm' });
    out.push(...attn.map(w), ...attn.flatMap(b));
    const [o, ...mlp] = rest;
    out.push(w(o), ...b(o), { name: `${p}.post_attention_layernorm.weight`, shape: [C], role: 'block', kind: 'norm' });
    for (const s of mlp) out.push(w(s), ...b(s));
  }
  out.push({ name: 'model.norm.weight', shape: [C], role: 'final_norm', kind: 'norm' });
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, C], role: 'head', kind: 'weight' });
  return out;
}

export const llama: ArchitectureSpec = {
  name: 'llama',
  modelTypes: { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' },
  parseConfig: parseLlamaConfig,
  ...MODEL_LAYERS_NAMING,
  blockLinears: llamaBlockLinears,
  parameters: (c) => ropeDecoderParameters(c, llamaBlockLinears(c), blockPrefix),
  // PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.
  defaultTargets: () => ['q_proj', 'v_proj'],
  build: (c, reader, opts) => new RopeDecoder(c, reader, opts, llamaBlockLinears(c), blockPrefix),
};
