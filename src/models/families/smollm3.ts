// SmolLM3: Llama's layer, but every no_rope_layer_interval-th layer has no RoPE (no_rope_layers: 1
// rotates, 0 does not); sliding windows, where use_sliding_window is set, only on those layers.
// Its chat template reasons first unless told not to: thinking is off, as for Qwen3.
import type { DecoderConfig } from '../config-types.js';
import type { ConfigFields } from './family.js';
import { decoderFamily, layerWindows, llamaConfig } from './llama.js';

function smollm3Config(f: ConfigFields): DecoderConfig {
  const cfg = llamaConfig(f, { ropeTheta: 2000000, tieWordEmbeddings: true, maxPositions: 32768 });
  const interval = f.int('no_rope_layer_interval', 4);
  const listed = f.raw.no_rope_layers;
  if (listed != null && (!Array.isArray(listed) || listed.length < cfg.numLayers || listed.some((v) => v !== 0 && v !== 1))) f.fail(`no_rope_layers must give 1 (RoPE) or 0 (none) for each of the ${cfg.numLayers} layers`, 'no_rope_layers');
  const rotates = Array.from({ length: cfg.numLayers }, (_, i) => (listed != null ? (listed as number[])[i] === 1 : (i + 1) % interval !== 0));
  const window = f.raw.use_sliding_window === true && typeof f.raw.sliding_window === 'number' ? f.raw.sliding_window : null;
  const windows = layerWindows(f, cfg, window, (i) => !rotates[i]);
  return { ...cfg, layers: rotates.map((r, i) => ({ rope: r ? 'global' : null, window: windows[i] })) };
}

export const smollm3 = decoderFamily('smollm3', ['HuggingFaceTB/SmolLM3-3B', 'HuggingFaceTB/SmolLM3-3B-Base'], smollm3Config, undefined, { chatTemplateOptions: { enable_thinking: false } });
