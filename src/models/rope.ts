// Rotary position embeddings: the inverse frequencies of each scaling (none, linear, Llama 3's,
// Phi-3's longrope), the cos and sin tables gathered by position, and the rotation of the first
// rotaryDim dimensions of each head (all of them but in Phi-3's partial rotary).
import type { Graph, Tensor } from '../engine/graph.js';
import { add, mul, neg } from '../engine/ops/elementwise.js';
import { concat, split } from '../engine/ops/shape.js';
import type { RopeScaling } from './config-types.js';

/** Positions past this need a longer table; contexts this long are beyond a CPU-sized tuning job. */
export const MAX_ROPE_TABLE = 16384;

/** One RoPE table: its base, its scaling, and how many dimensions of a head it rotates. */
export interface RopeSpec { theta: number; scaling: RopeScaling | null; rotaryDim: number }

/** Inverse frequencies [rotaryDim / 2] of a RoPE table. */
export function inverseFrequencies(spec: RopeSpec): number[] {
  const dim = spec.rotaryDim;
  let inv = Array.from({ length: dim / 2 }, (_, i) => 1 / spec.theta ** ((2 * i) / dim));
  const s = spec.scaling;
  if (s?.type === 'linear') inv = inv.map((f) => f / s.factor);
  // sequences longer than the original length would switch to long_factor: the context stops there (ropeContext)
  if (s?.type === 'longrope') inv = inv.map((f, i) => f / s.shortFactor![i]);
  if (s?.type === 'llama3') {
    const oldLen = s.originalMaxPositionEmbeddings!;
    const lowWavelen = oldLen / s.lowFreqFactor!;
    const highWavelen = oldLen / s.highFreqFactor!;
    inv = inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) return f / s.factor;
      if (wavelen < highWavelen) return f;
      const smooth = (oldLen / wavelen - s.lowFreqFactor!) / (s.highFreqFactor! - s.lowFreqFactor!);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
  }
  return inv;
}

/** RoPE inverse frequencies of a decoder config's own table, with Llama 3 frequency-dependent scaling where configured. */
export function ropeInverseFrequencies(cfg: { headDim: number; ropeTheta: number; ropeScaling: RopeScaling | null; rotaryDim?: number }): number[] {
  return inverseFrequencies({ theta: cfg.ropeTheta, scaling: cfg.ropeScaling, rotaryDim: cfg.rotaryDim ?? cfg.headDim });
}

/** The longest sequence a RoPE table serves: longrope changes its frequencies past the original length. */
export function ropeContext(spec: RopeSpec): number {
  return spec.scaling?.type === 'longrope' ? spec.scaling.originalMaxPositionEmbeddings! : Infinity;
}

const tablesOf = new WeakMap<Graph, Map<string, { cos: Tensor; sin: Tensor }>>();

/**
 * cos and sin [B, 1, S, rotaryDim] for position ids [B, S], gathered from tables of `rows`
 * positions computed here in float64: GPU sin/cos are less precise than the CPU's and moved
 * WebGPU logits by ~1e-3. Made once per graph and table, in the outermost graph (both branches
 * of the one graph read them; Gemma 3's two tables of 16,384 x 256 took seconds to build each time).
 */
export function ropeTables(g: Graph, spec: RopeSpec, rows: number, positionIds: Tensor): { cos: Tensor; sin: Tensor } {
  let made = tablesOf.get(g);
  if (!made) tablesOf.set(g, (made = new Map()));
  const key = JSON.stringify([spec, rows, positionIds.name]);
  const known = made.get(key);
  if (known) return known;
  const tables = g.atRoot(() => {
    const inv = inverseFrequencies(spec);
    const dim = spec.rotaryDim;
    const scale = spec.scaling?.type === 'longrope' ? spec.scaling.attentionFactor! : 1;
    const wide = g.floatType === 'float64';
    const cosTable = wide ? new Float64Array(rows * dim) : new Float32Array(rows * dim);
    const sinTable = wide ? new Float64Array(rows * dim) : new Float32Array(rows * dim);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < dim; i++) {
        const angle = p * inv[i % (dim / 2)];
        cosTable[p * dim + i] = Math.cos(angle) * scale;
        sinTable[p * dim + i] = Math.sin(angle) * scale;
      }
    }
    const [B, S] = positionIds.shape;
    const table = (values: Float32Array | Float64Array, name: string) => {
      const rowsOut = g.node('Gather', [g.initializer(g.fresh(name), g.floatType, [rows, dim], values), positionIds], { axis: 0 }, [{ dtype: g.floatType, shape: [B, S, dim] }])[0];
      return g.node('Unsqueeze', [rowsOut, g.ints([1])], {}, [{ dtype: g.floatType, shape: [B, 1, S, dim] }])[0];
    };
    return { cos: table(cosTable, 'rope_cos'), sin: table(sinTable, 'rope_sin') };
  });
  made.set(key, tables);
  return tables;
}

/** x * cos + rotate_half(x) * sin on the first rotaryDim dimensions of x [B, H, S, headDim]; the rest pass. */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor, rotaryDim: number): Tensor {
  const headDim = x.shape[x.rank - 1] as number;
  const [rotated, rest] = rotaryDim === headDim ? [x, undefined] : split(x, -1, [rotaryDim, headDim - rotaryDim]);
  const half = rotaryDim / 2;
  const [x1, x2] = split(rotated, -1, [half, half]);
  const turned = add(mul(rotated, cos), mul(concat([neg(x2), x1], -1), sin));
  return rest ? concat([turned, rest], -1) : turned;
}
