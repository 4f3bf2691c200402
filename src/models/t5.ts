// T5 (encoder-decoder; the paper's model): RMS layer norm without bias, bucketed relative
// attention bias (bidirectional in the encoder, causal in the decoder, from each stack's first
// block, shared by its layers), no score scaling, ReLU (original T5) or gated GELU (T5.1.1),
// untied head, or tied with the d_model^-0.5 rescale. Written from transformers' modeling_t5.py.
import type { Graph, Tensor } from '../engine/graph.js';
import { add, mul, relu, scale, silu } from '../engine/ops/elementwise.js';
import { gather } from '../engine/ops/indexing.js';
import { transpose, unsqueeze } from '../engine/ops/shape.js';
import { linear } from '../engine/ops/matmul.js';
import { attend, splitHeads } from './attention.js';
import type { T5Config } from './config-types.js';
import { InputError } from '../common/errors.js';
import { geluTanh, rmsNorm } from './layers.js';
import { validateWeights } from './decoder.js';
import type { WeightSource } from './weights.js';

export function t5WeightShapes(cfg: T5Config): Map<string, number[]> {
  const d = cfg.hiddenSize, inner = cfg.numHeads * cfg.headDim, f = cfg.feedForwardSize;
  const m = new Map<string, number[]>();
  m.set('shared.weight', [cfg.vocabSize, d]);
  const attention = (p: string) => {
    m.set(`${p}.q.weight`, [inner, d]); m.set(`${p}.k.weight`, [inner, d]); m.set(`${p}.v.weight`, [inner, d]); m.set(`${p}.o.weight`, [d, inner]);
  };
  const ff = (p: string) => {
    if (cfg.gated) { m.set(`${p}.DenseReluDense.wi_0.weight`, [f, d]); m.set(`${p}.DenseReluDense.wi_1.weight`, [f, d]); }
    else m.set(`${p}.DenseReluDense.wi.weight`, [f, d]);
    m.set(`${p}.DenseReluDense.wo.weight`, [d, f]);
    m.set(`${p}.layer_norm.weight`, [d]);
  };
  for (const [stack, layers] of [['encoder', cfg.numLayers], ['decoder', cfg.numDecoderLayers]] as const) {
    for (let i = 0; i < layers; i++) {
      const b = `${stack}.block.${i}.layer`;
      attention(`${b}.0.SelfAttention`);
      m.set(`${b}.0.layer_norm.weight`, [d]);
      if (stack === 'decoder') {
        attention(`${b}.1.EncDecAttention`);
        m.set(`${b}.1.layer_norm.weight`, [d]);
        ff(`${b}.2`);
      } else ff(`${b}.1`);
    }
    m.set(`${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`, [cfg.relativeBuckets, cfg.numHeads]);
    m.set(`${stack}.final_layer_norm.weight`, [d]);
  }
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, d]);
  return m;
}

/**
 * transformers' _relative_position_bucket for one relative position (key - query). The log is
 * taken in float32 as there, so buckets agree at the boundaries.
 */
export function relativeBucket(relative: number, bidirectional: boolean, buckets: number, maxDistance: number): number {
  let n = buckets;
  let bucket = 0;
  let r = relative;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (r > 0) bucket += n;
    r = Math.abs(r);
  } else r = -Math.min(r, 0);
  const maxExact = Math.floor(n / 2);
  if (r < maxExact) return bucket + r;
  const f = Math.fround;
  const large = maxExact + Math.trunc(f(f(f(Math.log(f(r / maxExact))) / f(Math.log(maxDistance / maxExact))) * (n - maxExact)));
  return bucket + Math.min(large, n - 1);
}

/** Buckets [queries, keys] for queries at positions offset..offset+queries-1 over keys 0..keys-1. */
export function bucketMatrix(queries: number, keys: number, bidirectional: boolean, cfg: T5Config, offset = 0): number[] {
  const out: number[] = [];
  for (let q = 0; q < queries; q++) for (let k = 0; k < keys; k++) out.push(relativeBucket(k - (q + offset), bidirectional, cfg.relativeBuckets, cfg.relativeMaxDistance));
  return out;
}

export class T5Model {
  private shapes: Map<string, number[]>;
  readonly embeddingWeightName = 'shared.weight';

  constructor(readonly cfg: T5Config, readonly weights: WeightSource) {
    this.shapes = t5WeightShapes(cfg);
    for (const stack of ['encoder', 'decoder']) {
      const name = `${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`;
      if (!weights.has(name)) throw new InputError(`${weights.origin}: tensor "${name}" is missing: a T5 checkpoint needs the ${stack}'s relative attention bias (its first block's), and this one has none; the file is incomplete or not T5`);
    }
    validateWeights(weights, this.shapes, 't5');
  }

  w(g: Graph, name: string): Tensor { return this.weights.tensor(g, name, this.shapes.get(name)!); }

  embed(g: Graph, ids: Tensor): Tensor { return gather(this.w(g, 'shared.weight'), ids); }

  /** The relative position bias [1, H, S, K] of a stack for bucket indices [S, K]. */
  positionBias(g: Graph, stack: 'encoder' | 'decoder', buckets: Tensor): Tensor {
    const table = this.w(g, `${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
    // differentiable ops throughout: model tuning trains the bias table too
    return unsqueeze(transpose(gather(table, buckets), [2, 0, 1]), [0]);
  }

  private attention(g: Graph, p: string, x: Tensor, kv: Tensor, bias: Tensor): Tensor {
    const c = this.cfg;
    const q = splitHeads(linear(x, this.w(g, `${p}.q.weight`)), c.numHeads, c.headDim);
    const k = splitHeads(linear(kv, this.w(g, `${p}.k.weight`)), c.numHeads, c.headDim);
    const v = splitHeads(linear(kv, this.w(g, `${p}.v.weight`)), c.numHeads, c.headDim);
    return linear(attend(q, k, v, bias, c.numHeads, c.numHeads, c.headDim, 1), this.w(g, `${p}.o.weight`));
  }

  private feedForward(g: Graph, p: string, x: Tensor): Tensor {
    const c = this.cfg;
    const h = rmsNorm(x, this.w(g, `${p}.layer_norm.weight`), c.layerNormEps);
    const act = (t: Tensor) => (c.activation === 'relu' ? relu(t) : c.activation === 'silu' ? silu(t) : geluTanh(t));
    const hidden = c.gated
      ? mul(act(linear(h, this.w(g, `${p}.DenseReluDense.wi_0.weight`))), linear(h, this.w(g, `${p}.DenseReluDense.wi_1.weight`)))
      : act(linear(h, this.w(g, `${p}.DenseReluDense.wi.weight`)));
    return add(x, linear(hidden, this.w(g, `${p}.DenseReluDense.wo.weight`)));
  }

  /** Encoder output [B, S, d] for input embeddings [B, S, d]; `bias` [B, H, S, S] holds position bias and padding. */
  encode(g: Graph, x: Tensor, bias: Tensor): Tensor {
    const c = this.cfg;
    for (let i = 0; i < c.numLayers; i++) {
      const b = `encoder.block.${i}.layer`;
      const h = rmsNorm(x, this.w(g, `${b}.0.layer_norm.weight`), c.layerNormEps);
      x = add(x, this.attention(g, `${b}.0.SelfAttention`, h, h, bias));
      x = this.feedForward(g, `${b}.1`, x);
    }
    return rmsNorm(x, this.w(g, 'encoder.final_layer_norm.weight'), c.layerNormEps);
  }

  /** Decoder output [B, L, d]; selfBias [B?, H, L, L] causal + position bias; crossBias [B, 1, 1, S] padding. */
  decode(g: Graph, y: Tensor, encoded: Tensor, selfBias: Tensor, crossBias: Tensor): Tensor {
    const c = this.cfg;
    for (let i = 0; i < c.numDecoderLayers; i++) {
      const b = `decoder.block.${i}.layer`;
      const h = rmsNorm(y, this.w(g, `${b}.0.layer_norm.weight`), c.layerNormEps);
      y = add(y, this.attention(g, `${b}.0.SelfAttention`, h, h, selfBias));
      const h2 = rmsNorm(y, this.w(g, `${b}.1.layer_norm.weight`), c.layerNormEps);
      y = add(y, this.attention(g, `${b}.1.EncDecAttention`, h2, encoded, crossBias));
      y = this.feedForward(g, `${b}.2`, y);
    }
    const out = rmsNorm(y, this.w(g, 'decoder.final_layer_norm.weight'), c.layerNormEps);
    // original T5's tied head sees the decoder output rescaled by d_model^-0.5 (mesh-tensorflow's convention)
    return c.scaleDecoderOutputs ? scale(out, c.hiddenSize ** -0.5) : out;
  }

  headWeight(g: Graph): Tensor { return this.w(g, this.cfg.tieWordEmbeddings ? 'shared.weight' : 'lm_head.weight'); }
}
