// Reductions, each with its backward.
import { type Dim, Tensor } from '../graph.js';
import { expandLike, unsqueeze } from './shape.js';

function reducedShape(x: Tensor, axes: number[], keepdims: boolean): Dim[] {
  const norm = axes.map((a) => x.axis(a));
  return keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
}

export function reduceSum(x: Tensor, axes: number[], keepdims = true): Tensor {
  const g = x.graph;
  const [y] = g.node('ReduceSum', [x, g.ints(axes)], { keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape: reducedShape(x, axes, keepdims) }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const kept = keepdims ? gy! : unsqueeze(gy!, axes.map((a) => x.axis(a)));
    return [expandLike(kept, x)];
  });
  return y;
}

export function reduceMean(x: Tensor, axes: number[], keepdims = true): Tensor {
  const g = x.graph;
  const [y] = g.node('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape: reducedShape(x, axes, keepdims) }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const count = axes.map((a) => x.shape[x.axis(a)]).reduce<number>((p, d) => {
      if (typeof d !== 'number') throw new Error('reduceMean backward needs static reduced axes');
      return p * d;
    }, 1);
    const kept = keepdims ? gy! : unsqueeze(gy!, axes.map((a) => x.axis(a)));
    const [scaled] = g.node('Mul', [kept, g.scalar(1 / count, x.dtype)], {}, [{ dtype: x.dtype, shape: kept.shape }]);
    return [expandLike(scaled, x)];
  });
  return y;
}
