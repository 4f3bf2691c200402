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

/**
 * log softmax as x - max - log(sum(exp(x - max))), from ops every execution provider has (the
 * WebGPU provider has no LogSoftmax kernel: it ran on the CPU with the [rows, vocab] tensor copied
 * both ways). Backward: dx = gy - softmax(x) * sum(gy).
 */
export function logSoftmax(x: Tensor): Tensor {
  const g = x.graph;
  const rowShape = [...x.shape.slice(0, -1), 1];
  const max = g.node('ReduceMax', [x], { axes: [-1], keepdims: 1 }, [{ dtype: x.dtype, shape: rowShape }])[0];
  const shifted = raw('Sub', [x, max]);
  const total = g.node('ReduceSum', [raw('Exp', [shifted]), g.ints([-1])], { keepdims: 1 }, [{ dtype: x.dtype, shape: rowShape }])[0];
  const [y] = g.node('Sub', [shifted, raw('Log', [total])], {}, [{ dtype: x.dtype, shape: x.shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const sum = g.node('ReduceSum', [gy!, g.ints([-1])], { keepdims: 1 }, [{ dtype: x.dtype, shape: rowShape }])[0];
    return [raw('Sub', [gy!, raw('Mul', [raw('Exp', [y]), sum])])];
  });
  return y;
}
