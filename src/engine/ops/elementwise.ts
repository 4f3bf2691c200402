// Element-wise ops with numpy broadcasting; backward sums the gradient over broadcast axes.
import { broadcastShapes, onnxTypeOf, type Tensor } from '../graph.js';
import { unbroadcast } from './unbroadcast.js';

function binary(op: string, a: Tensor, b: Tensor, backward: (gy: Tensor, y: Tensor) => [Tensor | undefined, Tensor | undefined]): Tensor {
  const g = a.graph;
  const [y] = g.node(op, [a, b], {}, [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }], { requiresGrad: a.requiresGrad || b.requiresGrad });
  g.record([a, b], [y], ([gy]) => {
    const [ga, gb] = backward(gy!, y);
    return [a.requiresGrad && ga ? unbroadcast(ga, a.shape) : undefined, b.requiresGrad && gb ? unbroadcast(gb, b.shape) : undefined];
  });
  return y;
}

/** Raw node, no tape: for use inside backward rules. */
export function raw(op: string, inputs: Tensor[], shape = inputs.map((t) => t.shape).reduce(broadcastShapes)): Tensor {
  return inputs[0].graph.node(op, inputs, {}, [{ dtype: inputs[0].dtype, shape }])[0];
}

export const add = (a: Tensor, b: Tensor) => binary('Add', a, b, (gy) => [gy, gy]);
export const sub = (a: Tensor, b: Tensor) => binary('Sub', a, b, (gy) => [gy, raw('Neg', [gy])]);
export const mul = (a: Tensor, b: Tensor) => binary('Mul', a, b, (gy) => [a.requiresGrad ? raw('Mul', [gy, b]) : undefined, b.requiresGrad ? raw('Mul', [gy, a]) : undefined]);
export const div = (a: Tensor, b: Tensor) =>
  binary('Div', a, b, (gy, y) => [a.requiresGrad ? raw('Div', [gy, b]) : undefined, b.requiresGrad ? raw('Neg', [raw('Div', [raw('Mul', [gy, y]), b])]) : undefined]);

function unary(op: string, x: Tensor, backward: (gy: Tensor, y: Tensor) => Tensor): Tensor {
  const g = x.graph;
  const [y] = g.node(op, [x], {}, [{ dtype: x.dtype, shape: x.shape }], { requiresGrad: x.requiresGrad });
  g.record([x], [y], ([gy]) => [backward(gy!, y)]);
  return y;
}

export const neg = (x: Tensor) => unary('Neg', x, (gy) => raw('Neg', [gy]));
/** d sqrt(x) = 1 / (2 sqrt(x)) */
export const sqrt = (x: Tensor) => unary('Sqrt', x, (gy, y) => raw('Div', [gy, raw('Mul', [y, x.graph.scalar(2, x.dtype)])]));
/** d sigmoid(x) = y (1 - y) */
export const sigmoid = (x: Tensor) => unary('Sigmoid', x, (gy, y) => raw('Mul', [gy, raw('Mul', [y, raw('Sub', [x.graph.scalar(1, x.dtype), y])])]));
/** d tanh(x) = 1 - y^2 */
export const tanh = (x: Tensor) => unary('Tanh', x, (gy, y) => raw('Mul', [gy, raw('Sub', [x.graph.scalar(1, x.dtype), raw('Mul', [y, y])])]));
/** d relu(x) = [x > 0] */
export const relu = (x: Tensor) => unary('Relu', x, (gy) => {
  const g = x.graph;
  const positive = g.node('Greater', [x, g.scalar(0, x.dtype)], {}, [{ dtype: 'bool', shape: x.shape }])[0];
  return g.node('Where', [positive, gy, g.scalar(0, x.dtype)], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
});

export const scale = (x: Tensor, factor: number) => mul(x, x.graph.scalar(factor, x.dtype));
export const silu = (x: Tensor) => mul(x, sigmoid(x));

/** Cast without a tape entry (casts here only touch index and mask tensors). */
export function cast(x: Tensor, dtype: Tensor['dtype']): Tensor {
  return x.graph.node('Cast', [x], { to: onnxTypeOf(dtype) }, [{ dtype, shape: x.shape }])[0];
}
