/** Gemma 1 (GemmaForCausalLM): Llama-style, RMSNorm x·(1+w), embeddings × √hidden, GeGLU, tied head. */
import { llamaBlockLinears, ropeDecoderParameters } from '../llama/index.js';
import { RopeDecoder } from '../shared/rope-decoder.js';
import type { ArchitectureSpec } from '../spec.js';
import { parseGemmaConfig } from './config.js';

const blockPrefix = (layer: number): string => `model.layers.${layer}`;

export const gemma: ArchitectureSpec = {
  name: 'gemma',
  modelTypes: { gemma: 'GemmaForCausalLM' },
  parseConfig: parseGemmaConfig,
  basePrefix: 'model.',
  bareProbe: 'embed_tokens.weight',
  blockPrefix,
  // q/k/v/o_proj (head_dim independent of hidden), gate/up/down_proj: Llama's linears.
  blockLinears: llamaBlockLinears,
  parameters: (c) => ropeDecoderParameters(c, llamaBlockLinears(c), blockPrefix),
  knownBuffers: /\.rotary_emb\.inv_freq$/,
  defaultTargets: () => ['q_proj', 'v_proj'],
  build: (c, reader, opts) => new RopeDecoder(c, reader, opts, llamaBlockLinears(c), blockPrefix, { normOffset: true, scaleEmbeddings: true }),
};
