// Qwen2 and Qwen2.5: Llama's layer with biases on the q, k and v projections (none on o).
import { decoderFamily, llamaConfig } from './llama.js';

export const qwen2 = decoderFamily('qwen2', ['Qwen/Qwen2.5-0.5B-Instruct', 'Qwen/Qwen2.5-1.5B-Instruct'], (f) => ({
  ...llamaConfig(f),
  qkvBias: true,
  oBias: false,
  slidingWindow: f.raw.use_sliding_window !== false && typeof f.raw.sliding_window === 'number' ? f.raw.sliding_window : null,
}));
