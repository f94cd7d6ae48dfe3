/** config.json of a fresh Llama model, as transformers' LlamaConfig.save_pretrained writes it. */

export interface TinyLlamaShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads; fewer than numHeads gives grouped-query attention. */
  numKvHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /** Token id of `<|endoftext|>`: BOS, EOS and padding alike. */
  eosTokenId: number;
}

export function llamaConfigJson(s: TinyLlamaShape): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: s.eosTokenId,
    eos_token_id: s.eosTokenId,
    pad_token_id: s.eosTokenId,
    head_dim: s.hiddenSize / s.numHeads,
    hidden_act: 'silu',
    hidden_size: s.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositionEmbeddings,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: s.numHeads,
    num_hidden_layers: s.numLayers,
    num_key_value_heads: s.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    transformers_version: '4.46.3',
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}
