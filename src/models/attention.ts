// Scaled dot-product attention with grouped-query heads, shared by the architectures.
import type { Dim, Tensor } from '../engine/graph.js';
import { add, scale } from '../engine/ops/elementwise.js';
import { matmul } from '../engine/ops/matmul.js';
import { reshape, transpose } from '../engine/ops/shape.js';
import { softmax } from '../engine/ops/softmax.js';

/** [B, S, n * hd] -> [B, n, S, hd] */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  const [B, S] = x.shape;
  return transpose(reshape(x, [B, S, heads, headDim]), [0, 2, 1, 3]);
}

/**
 * softmax(q k^T * scale + bias) v for q [B, H, S, hd], k and v [B, KV, K, hd], bias [B, 1, S, K]
 * (or [B, H, S, K]); returns [B, S, H * hd]. Query heads that share a key/value head are stacked
 * along the row axis, so each key/value head is used as it is (no repeat).
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, heads: number, kvHeads: number, headDim: number, factor: number): Tensor {
  const [B, , S] = q.shape;
  const K = k.shape[2];
  const rep = heads / kvHeads;
  const groupRows: Dim = rep === 1 ? S : `${rep}*${S}`;
  const scaled = factor === 1 ? q : scale(q, factor);
  const grouped = rep === 1 ? scaled : reshape(scaled, [B, kvHeads, groupRows, headDim]);
  let scores = matmul(grouped, k, true);
  if (rep !== 1) scores = reshape(scores, [B, heads, S, K]);
  let probs = softmax(add(scores, bias));
  if (rep !== 1) probs = reshape(probs, [B, kvHeads, groupRows, K]);
  let out = matmul(probs, v);
  if (rep !== 1) out = reshape(out, [B, heads, S, headDim]);
  return reshape(transpose(out, [0, 2, 1, 3]), [B, S, heads * headDim]);
}
