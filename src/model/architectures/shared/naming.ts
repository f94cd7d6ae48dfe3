import type { ArchitectureSpec } from '../spec.js';

/**
 * Hugging Face naming shared by the decoders whose causal-LM class wraps a `model` with
 * `model.layers.<i>` blocks (llama, mistral, qwen2, phi, phi3, gemma): the base prefix, how a
 * bare-model checkpoint is recognised, and the RoPE buffer old checkpoints store.
 */
export const MODEL_LAYERS_NAMING: Pick<ArchitectureSpec, 'basePrefix' | 'bareProbe' | 'blockPrefix' | 'knownBuffers'> = {
  basePrefix: 'model.',
  bareProbe: 'embed_tokens.weight',
  blockPrefix: (layer: number): string => `model.layers.${layer}`,
  knownBuffers: /\.rotary_emb\.inv_freq$/,
};
