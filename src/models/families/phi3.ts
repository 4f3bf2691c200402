// Phi-3 and Phi-4-mini: one fused q|k|v projection and one fused gate|up projection, RoPE on the
// first partial_rotary_factor of each head, longrope scaling (short factors: the context stops at
// original_max_position_embeddings, past which transformers switches to the long ones), and a
// sliding window on every layer. No biases.
import { LLAMA_LAYOUT } from '../decoder.js';
import type { DecoderConfig } from '../config-types.js';
import type { ConfigFields } from './family.js';
import { decoderFamily, llamaConfig } from './llama.js';

function phi3Config(f: ConfigFields): DecoderConfig {
  const base = llamaConfig(f, { rmsNormEps: 1e-5, maxPositions: 4096, partialRotary: true });
  f.refuse('lm_head_bias', (v) => v === true, 'the head has no bias in transformers\' Phi-3');
  const window = typeof f.raw.sliding_window === 'number' && f.raw.sliding_window < base.maxPositions ? f.raw.sliding_window : null;
  return {
    ...base,
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    layers: base.layers.map((layer) => ({ ...layer, window })),
  };
}

export const phi3 = decoderFamily('phi3', ['microsoft/Phi-4-mini-instruct', 'microsoft/Phi-3.5-mini-instruct'], phi3Config, {
  ...LLAMA_LAYOUT,
  attention: { qkv: 'self_attn.qkv_proj' },
  mlp: { gateUp: 'mlp.gate_up_proj' },
});
