// The engine's terms for a model's config.json, whatever its family: the fields every model has,
// and one config per graph the engine builds (a decoder of the Llama kind, GPT-2, T5). Each
// family's module (families/) reads config.json into one of these.

export interface RopeScaling {
  type: 'llama3' | 'linear' | 'longrope';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
  /** longrope: per-frequency divisors for sequences up to originalMaxPositionEmbeddings. */
  shortFactor?: number[];
  /** longrope: cos and sin are multiplied by this (sqrt(1 + ln(factor) / ln(original length)) unless given). */
  attentionFactor?: number;
}

/** What every architecture's config says, in the engine's terms. */
export interface BaseConfig {
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (the cache layout); equal to numHeads without grouped-query attention. */
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** The longest sequence the model takes (position embeddings or RoPE tables). */
  maxPositions: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  /** Every id that ends generation: eos_token_id's list (an instruct model's end of turn, as Gemma's [1, 106]). */
  eosTokenIds: number[];
}

/** How one decoder layer attends: which RoPE table rotates its queries and keys, and over how many keys back. */
export interface DecoderLayerKind {
  /** 'global': the model's RoPE (rope_theta, rope_scaling); 'local': the sliding layers' own base (Gemma's rope_local_base_freq); null: no RoPE (SmolLM3). */
  rope: 'global' | 'local' | null;
  /** Keys more than this many positions back are masked (Gemma, Phi-3 sliding windows); null: all. */
  window: number | null;
}

/**
 * The decoder every causal family but GPT-2 is: Llama's layer (RMSNorm, RoPE, grouped-query
 * attention, gated MLP) with the options later families add. Llama's values leave an option out.
 */
export interface DecoderConfig extends BaseConfig {
  architecture: 'decoder';
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** Bias on q, k and v projections (Qwen2, or Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on the output projection (Llama attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  /**
   * Mistral-style sliding-window attention. The engine attends over the whole sequence, which is the
   * same thing while a sequence fits in the window, so longer sequences are refused. (Families whose
   * layers differ mask each layer's window instead: `layers`.)
   */
  slidingWindow: number | null;
  /** Dimensions of each head RoPE rotates, from the first (headDim; Phi-3's partial_rotary_factor takes fewer). */
  rotaryDim: number;
  /** RMSNorm scales by (normOffset + weight): 0, or Gemma's 1. */
  normOffset: number;
  /** RMSNorm of queries and keys before RoPE: over each head (Qwen3, Gemma 3), over the whole projection (OLMo 2), or none. */
  qkNorm: 'none' | 'head' | 'projection';
  /** Token embeddings are multiplied by this (Gemma 3: sqrt(hidden_size)); the soft prompt is not, as in PEFT. */
  embeddingScale: number;
  /** The whole input, soft prompt included, is multiplied by this (Gemma 2 scales inputs_embeds in its forward). */
  inputScale: number;
  /** The gated MLP's activation: SiLU (SwiGLU) or the tanh approximation of GELU (Gemma's GeGLU). */
  activation: 'silu' | 'gelu_tanh';
  /** Scores are q.k times this: headDim^-0.5, or Gemma's query_pre_attn_scalar^-0.5. */
  queryScale: number;
  /** Logits become cap * tanh(logits / cap) (Gemma's final_logit_softcapping); null: as they are. */
  finalLogitSoftcap: number | null;
  /** Attention scores likewise, before the mask (Gemma 2's attn_logit_softcapping). */
  attnLogitSoftcap: number | null;
  /** Each layer's RoPE and window, numLayers of them. */
  layers: DecoderLayerKind[];
  /** RoPE base of the layers whose rope is 'local'. */
  localRopeTheta: number;
}

/** The Llama family's config: the decoder with Llama's options (the name tests and benches know it by). */
export type LlamaConfig = DecoderConfig;

export interface Gpt2Config extends BaseConfig {
  architecture: 'gpt2';
  innerSize: number;
  layerNormEps: number;
  scaleAttnWeights: boolean;
}

export interface T5Config extends BaseConfig {
  architecture: 't5';
  feedForwardSize: number;
  numDecoderLayers: number;
  relativeBuckets: number;
  relativeMaxDistance: number;
  layerNormEps: number;
  gated: boolean;
  activation: 'relu' | 'gelu_new' | 'silu';
  tieWordEmbeddings: boolean;
  /** Rescale the decoder output by d_model^-0.5 before the head (original T5's tied head). */
  scaleDecoderOutputs: boolean;
  decoderStartTokenId: number;
  padTokenId: number;
}

export type ModelConfig = DecoderConfig | Gpt2Config | T5Config;
