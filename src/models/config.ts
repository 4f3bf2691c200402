// config.json of a Hugging Face model, normalised for the architectures the engine builds.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../common/errors.js';

export interface RopeScaling {
  type: 'llama3' | 'linear';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
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
}

export interface LlamaConfig extends BaseConfig {
  architecture: 'llama';
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
   * same thing while a sequence fits in the window, so longer sequences are refused.
   */
  slidingWindow: number | null;
}

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

export type ModelConfig = LlamaConfig | Gpt2Config | T5Config;

const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2'];
export const SUPPORTED_MODEL_TYPES = [...LLAMA_FAMILY, 'gpt2', 't5'];

export function readModelConfig(folder: string): ModelConfig {
  const file = join(folder, 'config.json');
  if (!existsSync(file)) throw new InputError(`${folder}: no config.json; a model folder needs the Hugging Face config.json next to its weights`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseModelConfig(raw, file);
}

export function parseModelConfig(raw: Record<string, unknown>, file = 'config.json'): ModelConfig {
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') throw new InputError(`${file}: field "model_type" is missing; it names the architecture (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) throw new InputError(`${file}: model_type "${modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  const { int, num } = readers(raw, file);
  if (modelType === 'gpt2') return parseGpt2(raw, file);
  if (modelType === 't5') return parseT5(raw, file);
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) throw new InputError(`${file}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDim = raw.head_dim == null ? hiddenSize / numHeads : int('head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new InputError(`${file}: head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads or head_dim)`);
  if (raw.hidden_act != null && raw.hidden_act !== 'silu') throw new InputError(`${file}: hidden_act "${String(raw.hidden_act)}" is not supported for ${modelType} (silu)`);
  const isQwen2 = modelType === 'qwen2';
  const ropeParameters = raw.rope_parameters as Record<string, unknown> | undefined;
  const attentionBias = raw.attention_bias === true;
  return {
    architecture: 'llama',
    modelType,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size'),
    maxPositions: int('max_position_embeddings', 2048),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    // transformers 5 writes rope_parameters (rope_type, rope_theta, ...); 4.x rope_theta and rope_scaling
    ropeTheta: typeof ropeParameters?.rope_theta === 'number' ? ropeParameters.rope_theta : num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling ?? ropeParameters, file),
    tieWordEmbeddings: raw.tie_word_embeddings === undefined ? false : raw.tie_word_embeddings === true,
    qkvBias: isQwen2 || attentionBias,
    oBias: !isQwen2 && attentionBias,
    mlpBias: raw.mlp_bias === true,
    slidingWindow: raw.use_sliding_window !== false && typeof raw.sliding_window === 'number' ? raw.sliding_window : null,
    bosTokenId: tokenId(raw.bos_token_id),
    eosTokenId: tokenId(raw.eos_token_id),
  };
}

function readers(raw: Record<string, unknown>, file: string) {
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new InputError(`${file}: field "${key}" must be a positive integer, got ${JSON.stringify(raw[key])}`);
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${file}: field "${key}" must be a number, got ${JSON.stringify(raw[key])}`);
    return v;
  };
  return { int, num };
}

const tokenId = (v: unknown) => (typeof v === 'number' ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : null);

function parseGpt2(raw: Record<string, unknown>, file: string): Gpt2Config {
  const { int, num } = readers(raw, file);
  const hiddenSize = int('n_embd');
  const numHeads = int('n_head');
  if (hiddenSize % numHeads !== 0) throw new InputError(`${file}: n_embd (${hiddenSize}) must be a multiple of n_head (${numHeads})`);
  const act = raw.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new InputError(`${file}: activation_function "${String(act)}" is not supported for gpt2 (gelu_new, gelu_pytorch_tanh)`);
  if (raw.scale_attn_by_inverse_layer_idx === true || raw.reorder_and_upcast_attn === true) throw new InputError(`${file}: scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn are not supported`);
  return {
    architecture: 'gpt2', modelType: 'gpt2', hiddenSize, numHeads, numKvHeads: numHeads, headDim: hiddenSize / numHeads,
    numLayers: int('n_layer'), vocabSize: int('vocab_size'), maxPositions: int('n_positions', 1024),
    innerSize: raw.n_inner == null ? 4 * hiddenSize : int('n_inner'), layerNormEps: num('layer_norm_epsilon', 1e-5),
    scaleAttnWeights: raw.scale_attn_weights !== false, bosTokenId: tokenId(raw.bos_token_id), eosTokenId: tokenId(raw.eos_token_id),
  };
}

function parseT5(raw: Record<string, unknown>, file: string): T5Config {
  const { int, num } = readers(raw, file);
  const proj = String(raw.feed_forward_proj ?? 'relu');
  const gated = proj.startsWith('gated-');
  const act = gated ? proj.slice('gated-'.length) : proj;
  // transformers maps "gated-gelu" to the tanh approximation (gelu_new), as T5.1.1 was trained
  const activation = act === 'gelu' || act === 'gelu_new' ? 'gelu_new' : act === 'relu' ? 'relu' : act === 'silu' ? 'silu' : null;
  if (!activation) throw new InputError(`${file}: feed_forward_proj "${proj}" is not supported for t5 (relu, gated-gelu, gated-silu)`);
  const numHeads = int('num_heads');
  return {
    architecture: 't5', modelType: 't5', hiddenSize: int('d_model'), headDim: int('d_kv'), numHeads, numKvHeads: numHeads,
    feedForwardSize: int('d_ff'), numLayers: int('num_layers'), numDecoderLayers: int('num_decoder_layers', raw.num_layers as number),
    vocabSize: int('vocab_size'), maxPositions: int('n_positions', 512), relativeBuckets: int('relative_attention_num_buckets', 32),
    relativeMaxDistance: int('relative_attention_max_distance', 128), layerNormEps: num('layer_norm_epsilon', 1e-6), gated, activation,
    tieWordEmbeddings: raw.tie_word_embeddings !== false,
    // transformers 5 names the rescale; 4.x applied it exactly when the head was tied
    scaleDecoderOutputs: typeof raw.scale_decoder_outputs === 'boolean' ? raw.scale_decoder_outputs : raw.tie_word_embeddings !== false,
    decoderStartTokenId: typeof raw.decoder_start_token_id === 'number' ? raw.decoder_start_token_id : 0,
    padTokenId: typeof raw.pad_token_id === 'number' ? raw.pad_token_id : 0, bosTokenId: null, eosTokenId: tokenId(raw.eos_token_id) ?? 1,
  };
}

function parseRopeScaling(value: unknown, file: string): RopeScaling | null {
  if (value == null) return null;
  const v = value as Record<string, unknown>;
  const type = v.rope_type ?? v.type;
  if (type === 'default') return null;
  const factor = v.factor;
  if (typeof factor !== 'number') throw new InputError(`${file}: rope_scaling.factor must be a number`);
  if (type === 'linear') return { type, factor };
  if (type === 'llama3') {
    for (const key of ['low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      if (typeof v[key] !== 'number') throw new InputError(`${file}: rope_scaling of type llama3 needs a number "${key}"`);
    }
    return { type, factor, lowFreqFactor: v.low_freq_factor as number, highFreqFactor: v.high_freq_factor as number, originalMaxPositionEmbeddings: v.original_max_position_embeddings as number };
  }
  throw new InputError(`${file}: rope_scaling type "${String(type)}" is not supported (llama3, linear)`);
}

/** RoPE inverse frequencies, with Llama 3 frequency-dependent scaling where configured. */
export function ropeInverseFrequencies(cfg: LlamaConfig): number[] {
  const half = cfg.headDim / 2;
  let inv = Array.from({ length: half }, (_, i) => 1 / cfg.ropeTheta ** ((2 * i) / cfg.headDim));
  const s = cfg.ropeScaling;
  if (s?.type === 'linear') inv = inv.map((f) => f / s.factor);
  if (s?.type === 'llama3') {
    const oldLen = s.originalMaxPositionEmbeddings!;
    const lowWavelen = oldLen / s.lowFreqFactor!;
    const highWavelen = oldLen / s.highFreqFactor!;
    inv = inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) return f / s.factor;
      if (wavelen < highWavelen) return f;
      const smooth = (oldLen / wavelen - s.lowFreqFactor!) / (s.highFreqFactor! - s.lowFreqFactor!);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
  }
  return inv;
}
