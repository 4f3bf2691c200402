// The vocabulary tables: token embeddings and the LM head. A large table stored in 16 bits stays
// in 16 bits in a float32 graph: rows are gathered and widened (ops/indexing.ts), and the head's
// product widens one chunk of the table at a time at run time, so no float32 copy of the table is
// made (Gemma 3's 262,144 x 640 table: 336 MiB in bfloat16 instead of 671 MiB more in float32).
import { onnxTypeOf, type Graph, type Tensor } from '../engine/graph.js';
import { linear, product } from '../engine/ops/matmul.js';
import type { WeightSource } from './weights.js';

/** A table whose float32 copy would be larger than this stays in its stored 16-bit type. */
export const HALF_TABLE_BYTES = 256 * 2 ** 20;

/** Floats each widened chunk of a 16-bit head holds (about 8 MiB in float32: it stays in cache). */
const CHUNK_FLOATS = 2 ** 21;

const isHalf = (dtype: string) => dtype === 'float16' || dtype === 'bfloat16';

/** A [vocab, d] table as a graph tensor: as stored where it is 16-bit and large, else as every weight. */
export function vocabTable(g: Graph, weights: WeightSource, name: string, shape: number[]): Tensor {
  const large = shape[0] * shape[1] * 4 > HALF_TABLE_BYTES;
  return weights.tensor(g, name, shape, { keepHalf: large });
}

/**
 * Logits [N, V] of rows [N, d] against a table [V, d]. A 16-bit table in a float32 graph is
 * widened chunk by chunk, each chunk's slice starting from a value the runtime computes from the
 * rows (so the widening is not folded into a float32 constant when the session loads); the
 * backward pass widens the chunks again rather than keep them.
 */
export function vocabLogits(rows: Tensor, table: Tensor): Tensor {
  const g = rows.graph;
  if (!isHalf(table.dtype) || table.dtype === g.weightType) return linear(rows, table);
  const [V, d] = table.shape as number[];
  const N = rows.shape[0];
  const f = g.floatType;
  const size = Math.max(256, Math.ceil(CHUNK_FLOATS / d / 256) * 256);
  const starts = Array.from({ length: Math.ceil(V / size) }, (_, i) => i * size);
  const widths = starts.map((s) => Math.min(size, V - s));
  const widened = (from: Tensor) => {
    const zero = g.node('Mul', [g.node('Shape', [from], { start: 0, end: 1 }, [{ dtype: 'int64', shape: [1] }])[0], g.ints([0])], {}, [{ dtype: 'int64', shape: [1] }])[0];
    return starts.map((s, i) => {
      const begin = g.node('Add', [zero, g.ints([s])], {}, [{ dtype: 'int64', shape: [1] }])[0];
      const end = g.node('Add', [zero, g.ints([s + widths[i]])], {}, [{ dtype: 'int64', shape: [1] }])[0];
      const part = g.node('Slice', [table, begin, end, g.ints([0])], {}, [{ dtype: table.dtype, shape: [widths[i], d] }])[0];
      return g.node('Cast', [part], { to: onnxTypeOf(f) }, [{ dtype: f, shape: [widths[i], d] }])[0];
    });
  };
  const parts = widened(rows).map((w) => product(rows, w, false, true));
  const logits = g.node('Concat', parts, { axis: 1 }, [{ dtype: f, shape: [N, V] }])[0];
  const [y] = g.node('Identity', [logits], {}, [{ dtype: f, shape: [N, V] }], { requiresGrad: rows.requiresGrad });
  g.record([rows], [y], ([gy]) => {
    if (!rows.requiresGrad) return [undefined];
    const terms = widened(gy!).map((w, i) => {
      const slice = g.node('Slice', [gy!, g.ints([starts[i]]), g.ints([starts[i] + widths[i]]), g.ints([1])], {}, [{ dtype: f, shape: [N, widths[i]] }])[0];
      return product(slice, w);
    });
    return [terms.length === 1 ? terms[0] : g.node('Sum', terms, {}, [{ dtype: f, shape: rows.shape }])[0]];
  });
  return y;
}
