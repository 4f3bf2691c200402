// OLMo 2: norms after attention and after the MLP (none before), and RMSNorm of the queries and
// keys over the whole projection (not per head) before RoPE.
import { LLAMA_LAYOUT } from '../decoder.js';
import { decoderFamily, llamaConfig } from './llama.js';

export const olmo2 = decoderFamily('olmo2', ['allenai/OLMo-2-0425-1B', 'allenai/OLMo-2-0425-1B-Instruct'], (f) => ({
  ...llamaConfig(f, { rmsNormEps: 1e-5 }),
  qkNorm: 'projection',
}), {
  ...LLAMA_LAYOUT,
  norms: { afterAttention: 'post_attention_layernorm', afterMlp: 'post_feedforward_layernorm' },
  qkNorms: { q: 'self_attn.q_norm', k: 'self_attn.k_norm' },
});
