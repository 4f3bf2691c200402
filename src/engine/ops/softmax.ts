// Softmax and log-softmax over the last axis.
import type { Tensor } from '../graph.js';
import { raw } from './elementwise.js';

/** dx = y * (gy - sum(gy * y)) */
export function softmax(x: Tensor): Tensor {
  const g = x.graph;
  const [y] = g.node('Softmax', [x], { axis: -1 }, [{ dtype: x.dtype, shape: x.shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const dot = g.node('ReduceSum', [raw('Mul', [gy!, y]), g.ints([-1])], { keepdims: 1 }, [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), 1] }])[0];
    return [raw('Mul', [y, raw('Sub', [gy!, dot])])];
  });
  return y;
}

/** dx = gy - softmax(x) * sum(gy) */
export function logSoftmax(x: Tensor): Tensor {
  const g = x.graph;
  const [y] = g.node('LogSoftmax', [x], { axis: -1 }, [{ dtype: x.dtype, shape: x.shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const total = g.node('ReduceSum', [gy!, g.ints([-1])], { keepdims: 1 }, [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), 1] }])[0];
    const probs = raw('Exp', [y]);
    return [raw('Sub', [gy!, raw('Mul', [probs, total])])];
  });
  return y;
}
