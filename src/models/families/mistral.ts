// Mistral: Llama's layer; its sliding window is refused beyond, not masked (DecoderConfig.slidingWindow).
import { decoderFamily, llamaConfig } from './llama.js';

export const mistral = decoderFamily('mistral', ['mistralai/Mistral-7B-Instruct-v0.3'], (f) => ({
  ...llamaConfig(f),
  slidingWindow: f.raw.use_sliding_window !== false && typeof f.raw.sliding_window === 'number' ? f.raw.sliding_window : null,
}));
