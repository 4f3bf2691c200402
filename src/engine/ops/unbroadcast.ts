// The gradient of a broadcast: summed over the axes the forward pass broadcast, back to the
// operand's shape. Every broadcasting op's backward needs it.
import type { Dim, Tensor } from '../graph.js';

/** Sums a gradient of a broadcast result back to the shape of the operand that was broadcast. */
export function unbroadcast(grad: Tensor, target: readonly Dim[]): Tensor {
  const g = grad.graph;
  let out = grad;
  const lead = grad.rank - target.length;
  if (lead > 0) {
    const axes = Array.from({ length: lead }, (_, i) => i);
    out = g.node('ReduceSum', [out, g.ints(axes)], { keepdims: 0 }, [{ dtype: grad.dtype, shape: grad.shape.slice(lead) }])[0];
  }
  const axes = target.map((d, i) => (d === 1 && out.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (axes.length > 0) {
    out = g.node('ReduceSum', [out, g.ints(axes)], { keepdims: 1 }, [{ dtype: grad.dtype, shape: [...target] }])[0];
  }
  return out;
}
