/** Gemma 1 (GemmaForCausalLM): Llama-style, RMSNorm x·(1+w), embeddings × √hidden, GeGLU, tied head. */
import { llamaBlockLinears, ropeDecoderParameters } from '../llama/index.js';
import { RopeDecoder } from '../shared/rope-decoder.js';
import { MODEL_LAYERS_NAMING } from '../shared/naming.js';
import type { ArchitectureSpec } from '../spec.js';
import { parseGemmaConfig } from './config.js';

const { blockPrefix } = MODEL_LAYERS_NAMING;

export const gemma: ArchitectureSpec = {
  name: 'gemma',
  modelTypes: { gemma: 'GemmaForCausalLM' },
  parseConfig: parseGemmaConfig,
  ...MODEL_LAYERS_NAMING,
  // q/k/v/o_proj (head_dim independent of hidden), gate/up/down_proj: Llama's linears.
  blockLinears: llamaBlockLinears,
  parameters: (c) => ropeDecoderParameters(c, llamaBlockLinears(c), blockPrefix),
  defaultTargets: () => ['q_proj', 'v_proj'],
  build: (c, reader, opts) => new RopeDecoder(c, reader, opts, llamaBlockLinears(c), blockPrefix, { normOffset: true, scaleEmbeddings: true }),
};
