// Gemma 3 (text: gemma3_text, the 270M and 1B checkpoints): token embeddings scaled by
// sqrt(hidden_size), RMSNorm as x * (1 + w), norms before and after both attention and the MLP,
// RMSNorm on each head's queries and keys, a GELU (tanh) gated MLP, scores scaled by
// query_pre_attn_scalar^-0.5, sliding-window layers (layer_types, or every layer but each
// sliding_window_pattern-th) with their own RoPE base rope_local_base_freq, and logits
// soft-capped where final_logit_softcapping is set.
import { LLAMA_LAYOUT, type DecoderLayout } from '../decoder.js';
import type { DecoderConfig } from '../config-types.js';
import type { ConfigFields } from './family.js';
import { decoderFamily, layerWindows, llamaConfig, parseRopeScaling } from './llama.js';

function gemma3Config(f: ConfigFields): DecoderConfig {
  const base = llamaConfig(f, { ropeTheta: 1000000, tieWordEmbeddings: true, maxPositions: 131072, silu: false });
  f.oneOf('hidden_activation', ['gelu_pytorch_tanh'], 'gelu_pytorch_tanh');
  if (f.has('hidden_act')) f.oneOf('hidden_act', ['gelu_pytorch_tanh'], 'gelu_pytorch_tanh');
  f.refuse('attn_logit_softcapping', (v) => v !== null, 'Gemma 3 does not soft-cap attention scores');
  f.refuse('use_bidirectional_attention', (v) => v === true, 'bidirectional attention is an embedding model (EmbeddingGemma), not a causal language model');
  const headDim = f.has('head_dim') ? f.int('head_dim') : 256;
  // transformers 5 writes one rope_parameters per attention type; 4.x rope_theta, rope_scaling and rope_local_base_freq
  const perType = f.raw.rope_parameters as Record<string, Record<string, unknown>> | undefined;
  const full = perType?.full_attention;
  const sliding = perType?.sliding_attention;
  const ropeTheta = typeof full?.rope_theta === 'number' ? full.rope_theta : f.num('rope_theta', 1000000);
  const localRopeTheta = typeof sliding?.rope_theta === 'number' ? sliding.rope_theta : f.num('rope_local_base_freq', 10000);
  if (sliding && (sliding.rope_type ?? 'default') !== 'default') f.fail('rope_parameters.sliding_attention must be of type "default"');
  const window = f.int('sliding_window', 4096);
  const pattern = f.int(f.has('sliding_window_pattern') ? 'sliding_window_pattern' : '_sliding_window_pattern', 6);
  const cfg: DecoderConfig = {
    ...base,
    headDim,
    ropeTheta,
    ropeScaling: parseRopeScaling(f, f.raw.rope_scaling ?? full, headDim),
    rotaryDim: headDim,
    localRopeTheta,
    normOffset: 1,
    qkNorm: 'head',
    embeddingScale: Math.sqrt(base.hiddenSize),
    activation: 'gelu_tanh',
    queryScale: 1 / Math.sqrt(f.num('query_pre_attn_scalar', 256)),
    finalLogitSoftcap: f.optionalNum('final_logit_softcapping'),
    bosTokenId: f.has('bos_token_id') ? f.tokenId('bos_token_id') : 2,
    eosTokenId: f.has('eos_token_id') ? f.tokenId('eos_token_id') : 1,
    eosTokenIds: f.has('eos_token_id') ? f.tokenIds('eos_token_id') : [1],
  };
  const windows = layerWindows(f, cfg, window, (i) => (i + 1) % pattern !== 0);
  return { ...cfg, layers: windows.map((w) => ({ rope: w === null ? 'global' : 'local', window: w })) };
}

/** Gemma's names: four norms a layer, q/k norms. */
export const GEMMA_LAYOUT: DecoderLayout = {
  ...LLAMA_LAYOUT,
  norms: { beforeAttention: 'input_layernorm', afterAttention: 'post_attention_layernorm', beforeMlp: 'pre_feedforward_layernorm', afterMlp: 'post_feedforward_layernorm' },
  qkNorms: { q: 'self_attn.q_norm', k: 'self_attn.k_norm' },
};

export const gemma3 = decoderFamily('gemma3_text', ['google/gemma-3-270m', 'google/gemma-3-270m-it', 'google/gemma-3-1b-it'], gemma3Config, GEMMA_LAYOUT);
