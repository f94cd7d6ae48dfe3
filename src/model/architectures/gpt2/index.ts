/** GPT-2 (GPT2LMHeadModel): learned positions, LayerNorm, Conv1D linears stored [in, out]. */
import type { ModelConfig } from '../../types.js';
import { layerNormParamSpecs, linearParamSpecs } from '../shared/param-specs.js';
import type { ArchitectureSpec, LinearSpec, ParamSpec } from '../spec.js';
import { parseGpt2Config } from './config.js';
import { Gpt2Model } from './model.js';

const blockPrefix = (layer: number): string => `transformer.h.${layer}`;

/** c_attn is the fused q|k|v projection (out = 3·hidden). All four are Conv1D, with biases. */
function blockLinears(c: ModelConfig): LinearSpec[] {
  const C = c.hiddenSize;
  const A = c.numHeads * c.headDim;
  const I = c.intermediateSize;
  const l = (path: string, inFeatures: number, outFeatures: number): LinearSpec => ({ path, inFeatures, outFeatures, bias: true, layout: 'in_out' });
  return [l('attn.c_attn', C, 3 * A), l('attn.c_proj', A, C), l('mlp.c_fc', C, I), l('mlp.c_proj', I, C)];
}

function parameters(c: ModelConfig): ParamSpec[] {
  const C = c.hiddenSize;
  const out: ParamSpec[] = [
    { name: 'transformer.wte.weight', shape: [c.vocabSize, C], role: 'embedding', kind: 'weight' },
    { name: 'transformer.wpe.weight', shape: [c.maxPositionEmbeddings, C], role: 'position', kind: 'weight' },
  ];
  const ln = (name: string, role: ParamSpec['role']): ParamSpec[] => layerNormParamSpecs(name, C, role);
  const [attn, proj, fc, mlpProj] = blockLinears(c);
  for (let i = 0; i < c.numLayers; i++) {
    const p = blockPrefix(i);
    const lin = (s: LinearSpec): ParamSpec[] => linearParamSpecs(p, s); // Conv1D: stored [in, out]
    out.push(...ln(`${p}.ln_1`, 'block'), ...lin(attn), ...lin(proj), ...ln(`${p}.ln_2`, 'block'), ...lin(fc), ...lin(mlpProj));
  }
  out.push(...ln('transformer.ln_f', 'final_norm'));
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, C], role: 'head', kind: 'weight' });
  return out;
}

export const gpt2: ArchitectureSpec = {
  name: 'gpt2',
  modelTypes: { gpt2: 'GPT2LMHeadModel' },
  parseConfig: parseGpt2Config,
  basePrefix: 'transformer.',
  bareProbe: 'wte.weight',
  blockPrefix,
  blockLinears,
  parameters,
  // The causal-mask buffers old GPT-2 checkpoints store.
  knownBuffers: /(^|\.)attn\.(bias|masked_bias)$/,
  defaultTargets: () => ['c_attn'],
  build: (c, reader, opts) => new Gpt2Model(c, reader, opts, blockLinears(c), blockPrefix),
};
