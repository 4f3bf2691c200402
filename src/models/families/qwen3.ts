// Qwen3: Llama's layer with an RMSNorm on each head's queries and keys before RoPE, head_dim set
// apart from hidden_size / heads, no q/k/v biases (attention_bias as Llama's). Its chat template
// reasons first unless told not to: a prompt's reply is the answer, so thinking is off.
import { LLAMA_LAYOUT } from '../decoder.js';
import { decoderFamily, layerWindows, llamaConfig } from './llama.js';

export const qwen3 = decoderFamily('qwen3', ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B', 'Qwen/Qwen3-4B'], (f) => {
  const cfg = { ...llamaConfig(f, { maxPositions: 32768 }), qkNorm: 'head' as const };
  // sliding windows only where use_sliding_window says so, on the layers from max_window_layers on
  const window = f.raw.use_sliding_window === true && typeof f.raw.sliding_window === 'number' ? f.raw.sliding_window : null;
  const maxWindowLayers = f.has('max_window_layers') ? f.int('max_window_layers') : 28;
  const windows = layerWindows(f, cfg, window, (i) => i >= maxWindowLayers);
  return { ...cfg, layers: cfg.layers.map((layer, i) => ({ ...layer, window: windows[i] })) };
}, { ...LLAMA_LAYOUT, qkNorms: { q: 'self_attn.q_norm', k: 'self_attn.k_norm' } }, { chatTemplateOptions: { enable_thinking: false } });
