// Tiny randomly initialised models of every supported variant, for gradient checks, tests and
// benchmarks. Weights are float64 in memory; float32 graphs round them.
import { Rng } from '../engine/random.js';
import { parseModelConfig } from './config.js';
import type { ModelConfig } from './config-types.js';
import { weightShapes } from './architectures.js';
import { ArrayWeights } from './weights.js';

export interface Variant { name: string; config: Record<string, unknown> }

const tinyLlama = {
  model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 40, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  bos_token_id: 1, eos_token_id: 2,
};

const tinyT5 = {
  model_type: 't5', d_model: 16, d_kv: 4, d_ff: 24, num_layers: 2, num_decoder_layers: 2, num_heads: 4, vocab_size: 40,
  relative_attention_num_buckets: 8, relative_attention_max_distance: 20, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 1,
};

/** The variants `ptune gradcheck` covers. */
export const GRADCHECK_VARIANTS: Variant[] = [
  { name: 'llama-gqa-tied', config: tinyLlama },
  { name: 'llama-mha-untied', config: { ...tinyLlama, num_key_value_heads: 4, tie_word_embeddings: false } },
  { name: 'llama3-rope-scaling', config: { ...tinyLlama, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, rope_theta: 500000 } },
  { name: 'llama-attention-bias', config: { ...tinyLlama, attention_bias: true, mlp_bias: true } },
  { name: 'mistral-gqa', config: { ...tinyLlama, model_type: 'mistral', num_key_value_heads: 1, tie_word_embeddings: false } },
  { name: 'qwen2-qkv-bias', config: { ...tinyLlama, model_type: 'qwen2', tie_word_embeddings: true } },
  { name: 'gpt2', config: { model_type: 'gpt2', n_embd: 16, n_head: 4, n_layer: 2, n_positions: 64, vocab_size: 40, bos_token_id: 1, eos_token_id: 2 } },
  { name: 't5-v1_1-gated-gelu-untied', config: { ...tinyT5, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, scale_decoder_outputs: false } },
  { name: 't5-relu-tied', config: { ...tinyT5, feed_forward_proj: 'relu', tie_word_embeddings: true } },
  { name: 'qwen3-head-qk-norm', config: { ...tinyLlama, model_type: 'qwen3', head_dim: 8, rope_theta: 1000000 } },
  {
    name: 'gemma3-sliding-softcap',
    config: {
      ...tinyLlama, model_type: 'gemma3_text', num_hidden_layers: 3, num_key_value_heads: 1, head_dim: 8, hidden_activation: 'gelu_pytorch_tanh',
      sliding_window: 3, layer_types: ['sliding_attention', 'sliding_attention', 'full_attention'], query_pre_attn_scalar: 12, final_logit_softcapping: 3,
    },
  },
  {
    name: 'gemma2-input-scale-softcaps',
    config: {
      ...tinyLlama, model_type: 'gemma2', num_hidden_layers: 3, num_key_value_heads: 1, head_dim: 8, hidden_activation: 'gelu_pytorch_tanh',
      sliding_window: 3, query_pre_attn_scalar: 12, final_logit_softcapping: 3, attn_logit_softcapping: 2,
    },
  },
  { name: 'smollm3-no-rope-layer', config: { ...tinyLlama, model_type: 'smollm3', no_rope_layers: [1, 0] } },
  { name: 'olmo2-post-norms', config: { ...tinyLlama, model_type: 'olmo2', tie_word_embeddings: false } },
  {
    name: 'phi3-fused-partial-longrope',
    config: {
      ...tinyLlama, model_type: 'phi3', num_attention_heads: 2, num_key_value_heads: 1, partial_rotary_factor: 0.5, original_max_position_embeddings: 16,
      rope_scaling: { type: 'longrope', short_factor: [1, 1.5], long_factor: [2, 4] }, sliding_window: 5, tie_word_embeddings: false,
    },
  },
];

export function randomWeights(cfg: ModelConfig, seed: number, std = 0.3): ArrayWeights {
  const rng = new Rng(seed);
  const arrays = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, shape] of weightShapes(cfg)) {
    const size = shape.reduce((p, d) => p * d, 1);
    const isNorm = name.endsWith('norm.weight') || /ln_(1|2|f)\.weight$/.test(name);
    const data = Float64Array.from({ length: size }, () => (isNorm ? 1 + 0.1 * rng.normal() : std * rng.normal()));
    arrays.set(name, { shape, data });
  }
  return new ArrayWeights(`random ${cfg.modelType} model (seed ${seed})`, arrays);
}

export function randomModelConfig(config: Record<string, unknown>): ModelConfig {
  return parseModelConfig(config, 'random model config');
}
