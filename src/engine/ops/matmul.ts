// Matrix products. Weights keep the Hugging Face layout. A product with a transposed 2-D operand
// is an ONNX Gemm (on rows flattened from any leading axes): a Transpose of a weight would be
// constant-folded into a second copy of every weight, and com.microsoft FusedMatMul, which avoids
// that on the CPU, has no WebGPU kernel (every such node fell back to the CPU there). Between
// batched activations (attention) the transposed operand gets an explicit Transpose.
import { broadcastShapes, type Dim, type Tensor } from '../graph.js';
import { unbroadcast } from './unbroadcast.js';
import { cast } from './elementwise.js';

const isHalf = (t: string) => t === 'float16' || t === 'bfloat16';

function swapLast(shape: readonly Dim[]): Dim[] {
  const s = [...shape];
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}

function transposeLast(x: Tensor): Tensor {
  const perm = [...x.shape.keys()].map((i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i));
  return x.graph.node('Transpose', [x], { perm }, [{ dtype: x.dtype, shape: swapLast(x.shape) }])[0];
}

/**
 * a @ b with optional transposes of the last two axes; no tape. With half-precision weights
 * (precision fp16) the float32 operand is cast down, the product runs in half precision and the
 * result comes back as float32: only products see half precision, as in mixed-precision training.
 */
export function product(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.dtype !== b.dtype) {
    const half = isHalf(a.dtype) ? a.dtype : b.dtype;
    const wide = isHalf(a.dtype) ? b.dtype : a.dtype;
    const y = product(isHalf(a.dtype) ? a : cast(a, half), isHalf(b.dtype) ? b : cast(b, half), transA, transB);
    return cast(y, wide);
  }
  const g = a.graph;
  const sa = transA ? swapLast(a.shape) : a.shape;
  const sb = transB ? swapLast(b.shape) : b.shape;
  const batch = broadcastShapes(sa.slice(0, -2), sb.slice(0, -2));
  const shape = [...batch, sa[sa.length - 2], sb[sb.length - 1]];
  if (!transA && !transB) return g.node('MatMul', [a, b], {}, [{ dtype: a.dtype, shape }])[0];
  if (b.rank === 2 && (a.rank === 2 || !transA)) {
    const k = a.shape[a.rank - 1];
    const rows = a.rank === 2 ? a : g.node('Reshape', [a, g.ints([-1, typeof k === 'number' ? k : -1])], {}, [{ dtype: a.dtype, shape: ['rows', k] }])[0];
    const out = g.node('Gemm', [rows, b], { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, [{ dtype: a.dtype, shape: a.rank === 2 ? shape : ['rows', shape[shape.length - 1]] }])[0];
    if (a.rank === 2) return out;
    const n = shape[shape.length - 1] as number;
    const lead = g.node('Shape', [a], { end: -1 }, [{ dtype: 'int64', shape: [a.rank - 1] }])[0];
    const target = g.node('Concat', [lead, g.ints([n])], { axis: 0 }, [{ dtype: 'int64', shape: [a.rank] }])[0];
    return g.node('Reshape', [out, target], {}, [{ dtype: a.dtype, shape }])[0];
  }
  return g.node('MatMul', [transA ? transposeLast(a) : a, transB ? transposeLast(b) : b], {}, [{ dtype: a.dtype, shape }])[0];
}

/** Batched a @ b (or a @ b^T) between activations. */
export function matmul(a: Tensor, b: Tensor, transB = false): Tensor {
  const g = a.graph;
  const value = product(a, b, false, transB);
  const [y] = g.node('Identity', [value], {}, [{ dtype: value.dtype, shape: value.shape }], { requiresGrad: a.requiresGrad || b.requiresGrad });
  g.record([a, b], [y], ([gy]) => [
    a.requiresGrad ? unbroadcast(product(gy!, b, false, !transB), a.shape) : undefined,
    // y = a b   => db = a^T gy ;  y = a b^T => db = gy^T a
    b.requiresGrad ? unbroadcast(transB ? product(gy!, a, true, false) : product(a, gy!, true, false), b.shape) : undefined,
  ]);
  return y;
}

/** x @ W^T + bias for a weight W in [out, in] layout (torch.nn.Linear). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return project(x, weight, bias, 'out-in');
}

/** x @ W + bias for a weight W in [in, out] layout (GPT-2's Conv1D). */
export function affine(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return project(x, weight, bias, 'in-out');
}

function project(x: Tensor, weight: Tensor, bias: Tensor | undefined, layout: 'out-in' | 'in-out'): Tensor {
  const g = x.graph;
  const outIn = layout === 'out-in';
  const outDim = weight.shape[outIn ? 0 : 1];
  const shape = [...x.shape.slice(0, -1), outDim];
  let y = product(x, weight, false, outIn);
  if (bias) y = g.node('Add', [y, bias], {}, [{ dtype: x.dtype, shape }])[0];
  const requiresGrad = x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false);
  [y] = g.node('Identity', [y], {}, [{ dtype: x.dtype, shape }], { requiresGrad });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  g.record(inputs, [y], ([gy]) => {
    // dx = gy W (out-in) or gy W^T (in-out)
    const grads: (Tensor | undefined)[] = [x.requiresGrad ? product(gy!, weight, false, !outIn) : undefined];
    if (weight.requiresGrad || bias?.requiresGrad) {
      const rows = x.shape.slice(0, -1).join('*');
      const gy2 = g.node('Reshape', [gy!, g.ints([-1, outDim as number])], {}, [{ dtype: x.dtype, shape: [rows, outDim] }])[0];
      const x2 = g.node('Reshape', [x, g.ints([-1, x.shape[x.rank - 1] as number])], {}, [{ dtype: x.dtype, shape: [rows, x.shape[x.rank - 1]] }])[0];
      // dW = gy^T x (out-in) or x^T gy (in-out), summed over every row
      grads.push(weight.requiresGrad ? (outIn ? product(gy2, x2, true, false) : product(x2, gy2, true, false)) : undefined);
      if (bias) grads.push(bias.requiresGrad ? g.node('ReduceSum', [gy2, g.ints([0])], { keepdims: 0 }, [{ dtype: x.dtype, shape: [outDim] }])[0] : undefined);
    } else if (bias) grads.push(undefined);
    return grads;
  });
  return y;
}

