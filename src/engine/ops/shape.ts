// Shape ops: reshape, transpose, concat, split, unsqueeze, expand, slice; each with its backward.
import { addDims, onnxTypeOf, type Dim, Tensor } from '../graph.js';
import { unbroadcast } from './unbroadcast.js';

/** The runtime shape of x as an int64 vector, or of one axis as a 1-element vector. */
export function shapeOf(x: Tensor, axis?: number): Tensor {
  const g = x.graph;
  if (axis === undefined) return g.node('Shape', [x], {}, [{ dtype: 'int64', shape: [x.rank] }])[0];
  const a = x.axis(axis);
  return g.node('Shape', [x], { start: a, end: a + 1 }, [{ dtype: 'int64', shape: [1] }])[0];
}

/** Broadcasts x to the runtime shape of like (no tape: used inside backward rules). */
export function expandLike(x: Tensor, like: Tensor): Tensor {
  return x.graph.node('Expand', [x, shapeOf(like)], {}, [{ dtype: x.dtype, shape: like.shape }])[0];
}

export function zerosLike(x: Tensor): Tensor {
  const g = x.graph;
  const zero = g.node('ConstantOfShape', [shapeOf(x)], { value: { tensor: { name: '', dims: [1], dataType: onnxTypeOf(x.dtype === 'float64' ? 'float64' : 'float32'), rawData: x.dtype === 'float64' ? new Uint8Array(8) : new Uint8Array(4) } } }, [{ dtype: x.dtype, shape: x.shape }]);
  return zero[0];
}

/**
 * Reshape to `shape`. A symbolic output dim equal to the input's dim at the same index is kept
 * (ONNX 0); at most one other symbolic dim is inferred (ONNX -1).
 */
export function reshape(x: Tensor, shape: Dim[]): Tensor {
  const g = x.graph;
  const spec = shape.map((d, i) => (typeof d === 'number' ? d : d === x.shape[i] ? 0 : -1));
  if (spec.filter((d) => d === -1).length > 1) throw new Error(`reshape [${x.shape}] -> [${shape}] has more than one inferred dim`);
  if (spec.some((d, i) => d === 0 && typeof shape[i] === 'number')) throw new Error('reshape to a 0-sized dim is not supported');
  const [y] = g.node('Reshape', [x, g.ints(spec)], {}, [{ dtype: x.dtype, shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => [g.node('Reshape', [gy!, shapeOf(x)], {}, [{ dtype: x.dtype, shape: x.shape }])[0]]);
  return y;
}

export function transpose(x: Tensor, perm: number[]): Tensor {
  const g = x.graph;
  const [y] = g.node('Transpose', [x], { perm }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [g.node('Transpose', [gy!], { perm: inverse }, [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  return y;
}

export function unsqueeze(x: Tensor, axes: number[]): Tensor {
  const g = x.graph;
  const shape: Dim[] = [...x.shape];
  for (const a of [...axes].sort((p, q) => p - q)) shape.splice(a, 0, 1);
  const [y] = g.node('Unsqueeze', [x, g.ints(axes)], {}, [{ dtype: x.dtype, shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => [g.node('Squeeze', [gy!, g.ints(axes)], {}, [{ dtype: x.dtype, shape: x.shape }])[0]]);
  return y;
}

/** Broadcasts x to a runtime shape (an int64 vector) whose static form is `shape`. */
export function expand(x: Tensor, shapeTensor: Tensor, shape: Dim[]): Tensor {
  const g = x.graph;
  const [y] = g.node('Expand', [x, shapeTensor], {}, [{ dtype: x.dtype, shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => [unbroadcast(gy!, x.shape)]);
  return y;
}

export function concat(xs: Tensor[], axis: number): Tensor {
  const g = xs[0].graph;
  const a = xs[0].axis(axis);
  const shape = xs[0].shape.map((d, i) => (i === a ? xs.map((x) => x.shape[a]).reduce(addDims) : d));
  const requiresGrad = xs.some((x) => x.requiresGrad);
  const [y] = g.node('Concat', xs, { axis: a }, [{ dtype: xs[0].dtype, shape }], { requiresGrad });
  g.record(xs, [y], ([gy]) => {
    const sizes = g.node('Concat', xs.map((x) => shapeOf(x, a)), { axis: 0 }, [{ dtype: 'int64', shape: [xs.length] }])[0];
    return g.node('Split', [gy!, sizes], { axis: a }, xs.map((x) => ({ dtype: x.dtype, shape: x.shape })));
  });
  return y;
}

/** Splits along an axis into pieces of static sizes. */
export function split(x: Tensor, axis: number, sizes: number[]): Tensor[] {
  const g = x.graph;
  const a = x.axis(axis);
  const outs = g.node('Split', [x, g.ints(sizes)], { axis: a }, sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) })), { requiresGrad: x.requiresGrad });
  g.record([x], outs, (grads) => {
    const filled = grads.map((gr, i) => gr ?? zerosLike(outs[i]));
    return [g.node('Concat', filled, { axis: a }, [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  return outs;
}

/** The last `count` positions along an axis (used to read the final hidden state). No tape. */
export function takeLast(x: Tensor, axis: number, count: number): Tensor {
  const g = x.graph;
  const a = x.axis(axis);
  return g.node('Slice', [x, g.ints([-count]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([a])], {}, [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? count : d)) }])[0];
}
