/**
 * Plain data types shared by the model loader, the architectures, LoRA and the exporters.
 * Weights of nn.Linear layers are kept in the Hugging Face / PyTorch layout `[out, in]`
 * internally; GPT-2's Conv1D weights (stored `[in, out]` on disk) are transposed on load and
 * transposed back on export, so that LoRA, quantization and merging see one layout.
 */

/** Name of an architecture in src/model/architectures/registry.ts (`llama`, `gpt2`, `phi`, …). */
export type ArchitectureFamily = string;

/** A normalised view of config.json; `raw` keeps the file's own fields for export. */
export interface ModelConfig {
  /** config.json `model_type` (llama, mistral, qwen2, gpt2, phi, phi3, gemma). */
  modelType: string;
  /** The architecture that implements it (one model_type per architecture but llama, mistral, qwen2 share `llama`). */
  family: ArchitectureFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Grouped-query attention: number of key/value heads (= numHeads without GQA). */
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /** RMSNorm epsilon (llama family) or LayerNorm epsilon (gpt2). */
  normEps: number;
  /** RoPE base; unused by gpt2. */
  ropeTheta: number;
  /**
   * Leading dimensions of each head that RoPE rotates (phi: int(partial_rotary_factor · headDim));
   * headDim when absent; 0 for learned absolute positions.
   */
  rotaryDim?: number;
  /** Phi: LayerNorm over each query and key head before RoPE. */
  qkLayernorm?: boolean;
  /** Phi: the lm_head carries a bias. */
  lmHeadBias?: boolean;
  /** q/k/v projections carry biases (qwen2: true; llama: `attention_bias`). */
  attentionBias: boolean;
  /** o_proj bias (llama `attention_bias` applies to it too; qwen2 has none). */
  outputBias: boolean;
  /** MLP projections carry biases (llama `mlp_bias`). */
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  hiddenAct: string;
  /** Mistral / Phi-3 sliding-window attention span (a query sees the last `slidingWindow` keys), or null. */
  slidingWindow?: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  raw: Record<string, unknown>;
}

/** Dtypes read from safetensors; everything is converted to float32 in memory. */
export const STORED_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type StoredDtype = (typeof STORED_DTYPES)[number];

/** A tensor on the host, before it becomes a tfjs tensor. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
  /** Dtype it had on disk (informational; `data` is always float32). */
  storedDtype?: StoredDtype;
}
