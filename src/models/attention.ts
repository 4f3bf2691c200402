// Scaled dot-product attention with grouped-query heads, shared by the architectures.
import { onnxTypeOf, type Dim, type Graph, type Tensor } from '../engine/graph.js';
import { add, scale, tanh } from '../engine/ops/elementwise.js';
import { matmul } from '../engine/ops/matmul.js';
import { reshape, shapeOf, transpose } from '../engine/ops/shape.js';
import { softmax } from '../engine/ops/softmax.js';

/** [B, S, n * hd] -> [B, n, S, hd] */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  const [B, S] = x.shape;
  return transpose(reshape(x, [B, S, heads, headDim]), [0, 2, 1, 3]);
}

/**
 * softmax(q k^T * scale + bias) v for q [B, H, S, hd], k and v [B, KV, K, hd], bias [B, 1, S, K]
 * (or [B, H, S, K]); returns [B, S, H * hd]. Query heads that share a key/value head are stacked
 * along the row axis, so each key/value head is used as it is (no repeat). `softcap`: scores become
 * softcap * tanh(scores / softcap) before the mask (Gemma 2).
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, heads: number, kvHeads: number, headDim: number, factor: number, softcap: number | null = null): Tensor {
  const [B, , S] = q.shape;
  const K = k.shape[2];
  const rep = heads / kvHeads;
  const groupRows: Dim = rep === 1 ? S : `${rep}*${S}`;
  const scaled = factor === 1 ? q : scale(q, factor);
  const grouped = rep === 1 ? scaled : reshape(scaled, [B, kvHeads, groupRows, headDim]);
  let scores = matmul(grouped, k, true);
  if (rep !== 1) scores = reshape(scores, [B, heads, S, K]);
  if (softcap !== null) scores = scale(tanh(scale(scores, 1 / softcap)), softcap);
  let probs = softmax(add(scores, bias));
  if (rep !== 1) probs = reshape(probs, [B, kvHeads, groupRows, K]);
  let out = matmul(probs, v);
  if (rep !== 1) out = reshape(out, [B, heads, S, headDim]);
  return reshape(transpose(out, [0, 2, 1, 3]), [B, S, heads * headDim]);
}

/**
 * Additive causal mask [S, K] for the last S of K positions (axis 1 of `queries` and `keys`):
 * query i (at position K - S + i) sees keys 0..K-S+i. Causal by sequence index.
 */
export function causalBias(g: Graph, queries: Tensor, keys: Tensor): Tensor {
  const S = queries.shape[1];
  const K = keys.shape[1];
  const f = g.floatType;
  const count = (t: Tensor) => g.node('Squeeze', [shapeOf(t, 1), g.ints([0])], {}, [{ dtype: 'int64', shape: [] }])[0];
  const keyCount = count(keys);
  const pastCount = g.node('Sub', [keyCount, count(queries)], {}, [{ dtype: 'int64', shape: [] }])[0];
  const q = g.node('Range', [pastCount, keyCount, g.scalar(1, 'int64')], {}, [{ dtype: 'int64', shape: [S] }])[0];
  const k = g.node('Range', [g.scalar(0, 'int64'), keyCount, g.scalar(1, 'int64')], {}, [{ dtype: 'int64', shape: [K] }])[0];
  const allowed = g.node('LessOrEqual', [
    g.node('Unsqueeze', [k, g.ints([0])], {}, [{ dtype: 'int64', shape: [1, K] }])[0],
    g.node('Unsqueeze', [q, g.ints([1])], {}, [{ dtype: 'int64', shape: [S, 1] }])[0],
  ], {}, [{ dtype: 'bool', shape: [S, K] }])[0];
  return g.node('Where', [allowed, g.scalar(0, f), g.scalar(-1e9, f)], {}, [{ dtype: f, shape: [S, K] }])[0];
}

/** Additive padding mask [B, 1, 1, K] from a key mask [B, K] (1 = attend, 0 = padding). */
export function paddingBias(g: Graph, keyMask: Tensor): Tensor {
  const [B, K] = keyMask.shape;
  const f = g.floatType;
  const neg = g.node('Mul', [g.node('Sub', [keyMask, g.scalar(1, f)], {}, [{ dtype: f, shape: [B, K] }])[0], g.scalar(1e9, f)], {}, [{ dtype: f, shape: [B, K] }])[0];
  return g.node('Unsqueeze', [neg, g.ints([1, 2])], {}, [{ dtype: f, shape: [B, 1, 1, K] }])[0];
}

/**
 * The additive masks a causal pass offers its layers: `full` [B, 1, S, K] (causal, padding keys
 * out), and `window(w)`, which also masks keys w or more positions before the query: sliding-window
 * layers (Gemma, Phi-3). Positions, not sequence indices, measure the distance, so left padding and
 * a decoding cache's empty slots do not count: a key's position is the number of attended keys
 * before it (the cumulative sum of the key mask), as positions are assigned.
 */
export interface AttentionMask {
  readonly full: Tensor;
  window(size: number): Tensor;
}

export function attentionMask(g: Graph, full: Tensor, keyMask: Tensor, positionIds: Tensor): AttentionMask {
  const windows = new Map<number, Tensor>();
  const f = g.floatType;
  const [B, K] = keyMask.shape;
  const S = positionIds.shape[1];
  let distance: Tensor | undefined;
  return {
    full,
    // made in the outermost graph, so the branches of the one graph's If can both read it
    window: (size: number): Tensor => g.atRoot(() => {
      let bias = windows.get(size);
      if (bias) return bias;
      if (!distance) {
        const keyPositions = g.node('Sub', [g.node('CumSum', [keyMask, g.scalar(1, 'int64')], {}, [{ dtype: f, shape: [B, K] }])[0], g.scalar(1, f)], {}, [{ dtype: f, shape: [B, K] }])[0];
        const queryPositions = g.node('Cast', [positionIds], { to: onnxTypeOf(f) }, [{ dtype: f, shape: [B, S] }])[0];
        distance = g.node('Sub', [
          g.node('Unsqueeze', [queryPositions, g.ints([1, 3])], {}, [{ dtype: f, shape: [B, 1, S, 1] }])[0],
          g.node('Unsqueeze', [keyPositions, g.ints([1, 2])], {}, [{ dtype: f, shape: [B, 1, 1, K] }])[0],
        ], {}, [{ dtype: f, shape: [B, 1, S, K] }])[0];
      }
      const inside = g.node('Less', [distance, g.scalar(size, f)], {}, [{ dtype: 'bool', shape: [B, 1, S, K] }])[0];
      bias = g.node('Where', [inside, full, g.node('Add', [full, g.scalar(-1e9, f)], {}, [{ dtype: f, shape: full.shape }])[0]], {}, [{ dtype: f, shape: [B, 1, S, K] }])[0];
      windows.set(size, bias);
      return bias;
    }),
  };
}
