// Gathers by index. Backward scatters the gradient into zeros (with addition for repeated indices).
import type { Tensor } from '../graph.js';
import { zerosLike } from './shape.js';
import { cast } from './elementwise.js';

/**
 * data[indices] along axis 0: token embeddings, or the rows of flattened hidden states. Rows of a
 * half-precision table (precision fp16) come out in the graph's float type.
 */
export function gather(data: Tensor, indices: Tensor): Tensor {
  const g = data.graph;
  const shape = [...indices.shape, ...data.shape.slice(1)];
  if (data.dtype !== g.floatType && !data.requiresGrad && (data.dtype === 'float16' || data.dtype === 'bfloat16')) {
    const rows = g.node('Gather', [data, indices], { axis: 0 }, [{ dtype: data.dtype, shape }])[0];
    return cast(rows, g.floatType);
  }
  const [y] = g.node('Gather', [data, indices], { axis: 0 }, [{ dtype: data.dtype, shape }], { requiresGrad: data.requiresGrad });
  g.record([data], [y], ([gy]) => {
    // ScatterND with [K, 1] indices and [K, ...rest] updates, summing duplicates.
    const flatIdx = g.node('Unsqueeze', [indices, g.ints([-1])], {}, [{ dtype: 'int64', shape: [...indices.shape, 1] }])[0];
    // ScatterND takes indices [..., 1] with updates [..., rest]: the gradient as it is
    const updates = gy!;
    return [g.node('ScatterND', [zerosLike(data), flatIdx, updates], { reduction: 'add' }, [{ dtype: data.dtype, shape: data.shape }])[0]];
  });
  return y;
}

/** out[i][j] = data[i][indices[i][j]] along the last axis. */
export function gatherLast(data: Tensor, indices: Tensor): Tensor {
  const g = data.graph;
  const [y] = g.node('GatherElements', [data, indices], { axis: -1 }, [{ dtype: data.dtype, shape: indices.shape }], { requiresGrad: data.requiresGrad });
  g.record([data], [y], ([gy]) => [g.node('ScatterElements', [zerosLike(data), indices, gy!], { axis: -1, reduction: 'add' }, [{ dtype: data.dtype, shape: data.shape }])[0]]);
  return y;
}

