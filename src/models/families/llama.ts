// Llama (Llama 2 and 3, SmolLM, SmolLM2, TinyStories): the decoder with none of the later options.
// `llamaConfig` reads the fields every family of the Llama kind shares; the other families
// start from it and set what they change.
import { DecoderModel, decoderWeights, LLAMA_LAYOUT, type DecoderLayout } from '../decoder.js';
import type { DecoderConfig, DecoderLayerKind, RopeScaling } from '../config-types.js';
import type { ConfigFields, ModelFamily } from './family.js';

/** Defaults a family gives the shared fields where its config class differs from Llama's. */
export interface LlamaDefaults {
  ropeTheta?: number;
  rmsNormEps?: number;
  tieWordEmbeddings?: boolean;
  maxPositions?: number;
  /** Whether hidden_act must be silu (families with another activation read their own field). */
  silu?: boolean;
  /** Whether RoPE may rotate only part of each head (partial_rotary_factor: Phi-3). */
  partialRotary?: boolean;
}

/** The fields every Llama-kind config shares, with Llama's options (no q/k norm, SiLU, full attention everywhere). */
export function llamaConfig(f: ConfigFields, defaults: LlamaDefaults = {}): DecoderConfig {
  const hiddenSize = f.int('hidden_size');
  const numHeads = f.int('num_attention_heads');
  const numKvHeads = f.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) f.fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDim = f.has('head_dim') ? f.int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) f.fail(`head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads or head_dim)`);
  if (defaults.silu !== false && f.has('hidden_act') && f.raw.hidden_act !== 'silu') f.fail(`hidden_act "${String(f.raw.hidden_act)}" is not supported for ${f.modelType} (silu)`);
  const ropeParameters = f.raw.rope_parameters as Record<string, unknown> | undefined;
  const attentionBias = f.raw.attention_bias === true;
  const numLayers = f.int('num_hidden_layers');
  const rotaryDim = defaults.partialRotary ? partialRotaryDim(f, headDim, ropeParameters) : headDim;
  return {
    architecture: 'decoder',
    modelType: f.modelType,
    hiddenSize,
    intermediateSize: f.int('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: f.int('vocab_size'),
    maxPositions: f.int('max_position_embeddings', defaults.maxPositions ?? 2048),
    rmsNormEps: f.num('rms_norm_eps', defaults.rmsNormEps ?? 1e-6),
    // transformers 5 writes rope_parameters (rope_type, rope_theta, ...); 4.x rope_theta and rope_scaling
    ropeTheta: typeof ropeParameters?.rope_theta === 'number' ? ropeParameters.rope_theta : f.num('rope_theta', defaults.ropeTheta ?? 10000),
    ropeScaling: parseRopeScaling(f, f.raw.rope_scaling ?? ropeParameters, rotaryDim),
    tieWordEmbeddings: f.raw.tie_word_embeddings === undefined ? defaults.tieWordEmbeddings ?? false : f.raw.tie_word_embeddings === true,
    qkvBias: attentionBias,
    oBias: attentionBias,
    mlpBias: f.raw.mlp_bias === true,
    slidingWindow: null,
    bosTokenId: f.tokenId('bos_token_id'),
    eosTokenId: f.tokenId('eos_token_id'),
    eosTokenIds: f.tokenIds('eos_token_id'),
    rotaryDim,
    normOffset: 0,
    qkNorm: 'none',
    embeddingScale: 1,
    inputScale: 1,
    activation: 'silu',
    queryScale: 1 / Math.sqrt(headDim),
    finalLogitSoftcap: null,
    attnLogitSoftcap: null,
    layers: Array.from({ length: numLayers }, (): DecoderLayerKind => ({ rope: 'global', window: null })),
    localRopeTheta: 10000,
  };
}

/** The dimensions of a head RoPE rotates: partial_rotary_factor (top level in transformers 4, in rope_parameters in 5) of it. */
function partialRotaryDim(f: ConfigFields, headDim: number, ropeParameters: Record<string, unknown> | undefined): number {
  const factor = typeof ropeParameters?.partial_rotary_factor === 'number' ? ropeParameters.partial_rotary_factor : f.num('partial_rotary_factor', 1);
  const rotaryDim = Math.floor(headDim * factor);
  if (factor > 1 || rotaryDim <= 0 || rotaryDim % 2 !== 0) f.fail(`partial_rotary_factor ${factor} must leave an even number of rotated dimensions (head dimension ${headDim})`, 'partial_rotary_factor');
  return rotaryDim;
}

/** rope_scaling (transformers 4) or rope_parameters (5): none, linear, llama3, or longrope over `rotaryDim` dimensions. */
export function parseRopeScaling(f: ConfigFields, value: unknown, rotaryDim: number): RopeScaling | null {
  if (value == null) return null;
  const v = value as Record<string, unknown>;
  const type = v.rope_type ?? v.type;
  if (type === 'default' || type === undefined) return null;
  if (type === 'longrope' || type === 'su') {
    const original = v.original_max_position_embeddings ?? f.raw.original_max_position_embeddings;
    if (typeof original !== 'number') f.fail('rope_scaling of type longrope needs original_max_position_embeddings');
    for (const key of ['short_factor', 'long_factor']) {
      const list = v[key];
      if (!Array.isArray(list) || list.length !== rotaryDim / 2 || list.some((x) => typeof x !== 'number')) f.fail(`rope_scaling.${key} must be ${rotaryDim / 2} numbers (half the rotary dimensions)`);
    }
    const factor = typeof v.factor === 'number' ? v.factor : f.int('max_position_embeddings') / original;
    const attentionFactor = typeof v.attention_factor === 'number' ? v.attention_factor : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
    return { type: 'longrope', factor, originalMaxPositionEmbeddings: original, shortFactor: v.short_factor as number[], attentionFactor };
  }
  const factor = v.factor;
  if (typeof factor !== 'number') f.fail('rope_scaling.factor must be a number');
  if (type === 'linear') return { type, factor };
  if (type === 'llama3') {
    for (const key of ['low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']) {
      if (typeof v[key] !== 'number') f.fail(`rope_scaling of type llama3 needs a number "${key}"`);
    }
    return { type, factor, lowFreqFactor: v.low_freq_factor as number, highFreqFactor: v.high_freq_factor as number, originalMaxPositionEmbeddings: v.original_max_position_embeddings as number };
  }
  return f.fail(`rope_scaling type "${String(type)}" is not supported (llama3, linear, longrope)`);
}

/**
 * Each layer's attention from layer_types ("full_attention" / "sliding_attention"), as transformers 5
 * writes it for every family; `fallback` says which layers slide where the config has no list.
 */
export function layerWindows(f: ConfigFields, cfg: DecoderConfig, window: number | null, fallback: (i: number) => boolean): (number | null)[] {
  const types = f.raw.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length < cfg.numLayers || types.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) f.fail(`layer_types must list "full_attention" or "sliding_attention" for each of the ${cfg.numLayers} layers`, 'layer_types');
    if (types.includes('sliding_attention') && window === null) f.fail('layer_types has sliding layers but sliding_window is not set', 'sliding_window');
    return types.slice(0, cfg.numLayers).map((t) => (t === 'sliding_attention' ? window : null));
  }
  return Array.from({ length: cfg.numLayers }, (_, i) => (window !== null && fallback(i) ? window : null));
}

/** A family of the Llama kind: its config reader and its layout; the rest is the decoder's. */
export function decoderFamily(modelType: string, examples: string[], parse: (f: ConfigFields) => DecoderConfig, layout: DecoderLayout = LLAMA_LAYOUT, extra: Pick<ModelFamily, 'chatTemplateOptions'> = {}): ModelFamily<DecoderConfig> {
  return {
    modelType,
    examples,
    parse,
    weightShapes: (cfg) => decoderWeights(cfg, layout).shapes,
    layerCountField: () => 'num_hidden_layers',
    build: (cfg, weights) => new DecoderModel(cfg, weights, layout),
    activationSizes: (cfg) => ({ d: cfg.hiddenSize, ffn: cfg.intermediateSize, layers: cfg.numLayers }),
    ...extra,
  };
}

export const llama = decoderFamily('llama', ['HuggingFaceTB/SmolLM2-135M', 'HuggingFaceTB/SmolLM2-360M-Instruct', 'meta-llama/Llama-3.2-1B-Instruct'], (f) => ({
  ...llamaConfig(f),
  // Mistral-style window on Llama configs that carry one (refused beyond: see DecoderConfig.slidingWindow)
  slidingWindow: f.raw.use_sliding_window !== false && typeof f.raw.sliding_window === 'number' ? f.raw.sliding_window : null,
}));
