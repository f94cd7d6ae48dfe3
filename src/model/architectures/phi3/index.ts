/** Phi-3 (Phi3ForCausalLM): a Llama-style decoder with fused qkv_proj and gate_up_proj. */
import type { ModelConfig } from '../../types.js';
import { ropeDecoderParameters } from '../llama/index.js';
import { RopeDecoder } from '../shared/rope-decoder.js';
import { MODEL_LAYERS_NAMING } from '../shared/naming.js';
import type { ArchitectureSpec, LinearSpec } from '../spec.js';
import { parsePhi3Config } from './config.js';

const { blockPrefix } = MODEL_LAYERS_NAMING;

/** qkv_proj holds q | k | v (numHeads·d, then numKvHeads·d twice); gate_up_proj holds gate | up. */
function blockLinears(c: ModelConfig): LinearSpec[] {
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const l = (path: string, inFeatures: number, outFeatures: number): LinearSpec => ({ path, inFeatures, outFeatures, bias: false, layout: 'out_in' });
  return [l('self_attn.qkv_proj', C, q + 2 * kv), l('self_attn.o_proj', q, C), l('mlp.gate_up_proj', C, 2 * I), l('mlp.down_proj', I, C)];
}

export const phi3: ArchitectureSpec = {
  name: 'phi3',
  modelTypes: { phi3: 'Phi3ForCausalLM' },
  parseConfig: parsePhi3Config,
  ...MODEL_LAYERS_NAMING,
  blockLinears,
  parameters: (c) => ropeDecoderParameters(c, blockLinears(c), blockPrefix),
  // PEFT has no default for phi3 (get_peft_model raises); LoRA on it names the fused modules,
  // e.g. target_modules: [qkv_proj] — one adapter over q, k and v together, as PEFT does.
  defaultTargets: () => null,
  build: (c, reader, opts) => new RopeDecoder(c, reader, opts, blockLinears(c), blockPrefix),
};
