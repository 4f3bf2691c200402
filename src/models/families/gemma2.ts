// Gemma 2: Gemma 3's layer without q/k norms, with the whole input (soft prompt included) scaled
// by sqrt(hidden_size) in the forward pass rather than the token embeddings, attention scores
// soft-capped (attn_logit_softcapping), every other layer sliding (from the first) with one RoPE
// base for all, and logits soft-capped (final_logit_softcapping).
import type { DecoderConfig } from '../config-types.js';
import type { ConfigFields } from './family.js';
import { GEMMA_LAYOUT } from './gemma3.js';
import { decoderFamily, layerWindows, llamaConfig } from './llama.js';

function gemma2Config(f: ConfigFields): DecoderConfig {
  const base = llamaConfig(f, { tieWordEmbeddings: true, maxPositions: 8192, silu: false });
  f.oneOf('hidden_activation', ['gelu_pytorch_tanh'], 'gelu_pytorch_tanh');
  const headDim = f.has('head_dim') ? f.int('head_dim') : 256;
  // transformers' defaults cap both (30 and 50) where config.json says nothing; null turns a cap off
  const cap = (key: string, fallback: number) => (f.raw[key] === null ? null : f.num(key, fallback));
  const cfg: DecoderConfig = {
    ...base,
    headDim,
    rotaryDim: headDim,
    normOffset: 1,
    inputScale: Math.sqrt(base.hiddenSize),
    activation: 'gelu_tanh',
    queryScale: 1 / Math.sqrt(f.num('query_pre_attn_scalar', 256)),
    finalLogitSoftcap: cap('final_logit_softcapping', 30),
    attnLogitSoftcap: cap('attn_logit_softcapping', 50),
  };
  const windows = layerWindows(f, cfg, f.int('sliding_window', 4096), (i) => i % 2 === 0);
  return { ...cfg, layers: windows.map((w) => ({ rope: 'global', window: w })) };
}

export const gemma2 = decoderFamily('gemma2', ['google/gemma-2-2b-it'], gemma2Config, { ...GEMMA_LAYOUT, qkNorms: undefined });
