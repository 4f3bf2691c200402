// Where a model's weights come from when a graph is built: a checkpoint on disk (read by the
// runtime as ONNX external data straight from the safetensors files, never copied into JS), or
// arrays in memory (tiny test models, inlined into the graph in its float type).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { onnxTypeOf, type Graph, type Tensor } from '../engine/graph.js';
import { InputError } from '../common/errors.js';
import { readCheckpoint, readRowsF32, readTensorF32, type TensorEntry } from '../common/safetensors.js';

export interface WeightSource {
  /** A description for messages: the folder or "random model". */
  readonly origin: string;
  has(name: string): boolean;
  shape(name: string): number[];
  /** The file a tensor comes from, for messages. */
  describe(name: string): string;
  /**
   * The weight as a graph initializer (created once per graph). `keepHalf`: a weight stored in 16
   * bits stays so where the graph's matrices would be wider (vocab.ts widens it as it is used).
   */
  tensor(g: Graph, name: string, expectedShape: number[], options?: { keepHalf?: boolean }): Tensor;
  /** The weight's values, widened to float32 (prompt init, model tuning). */
  read(name: string): Float32Array;
  /** Rows of a 2-D weight, widened to float32, [ids.length, columns] (embedding lookups in JS). */
  readRows(name: string, ids: number[]): Float32Array;
  /** Files the graph refers to as external data: name in the graph folder -> absolute path. */
  externalFiles(): Map<string, string>;
}

const perGraph = new WeakMap<Graph, Map<string, Tensor>>();
/** A weight's tensor, made once per graph and in its outermost graph (every branch reads it). */
function cached(g: Graph, name: string, make: () => Tensor): Tensor {
  let m = perGraph.get(g);
  if (!m) perGraph.set(g, (m = new Map()));
  let t = m.get(name);
  if (!t) m.set(name, (t = g.atRoot(make)));
  return t;
}

/**
 * Earlier versions widened F16/BF16 weights into float32 files in the cache (twice the checkpoint,
 * on disk); they are no longer read. Removes them and returns the bytes freed.
 */
export function removeWidenedCopies(cacheDir: string): number {
  const dir = join(cacheDir, 'weights');
  if (!existsSync(dir)) return 0;
  let freed = 0;
  for (const name of readdirSync(dir)) {
    if (!/^[0-9a-f]{24}\.f32$/.test(name)) continue;
    const path = join(dir, name);
    freed += statSync(path).size;
    rmSync(path, { force: true });
  }
  return freed;
}

const storedType = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' } as const;

export class CheckpointWeights implements WeightSource {
  readonly entries: Map<string, TensorEntry>;
  private files = new Map<string, string>();

  constructor(readonly origin: string) {
    this.entries = readCheckpoint(origin);
  }
  has(name: string): boolean { return this.entries.has(name); }
  describe(name: string): string { return this.entries.get(name)?.file ?? this.origin; }
  shape(name: string): number[] { return this.entry(name).shape; }
  read(name: string): Float32Array { return readTensorF32(this.entry(name)); }
  readRows(name: string, ids: number[]): Float32Array { return readRowsF32(this.entry(name), ids); }
  externalFiles(): Map<string, string> { return this.files; }

  /** Serves `stored` under `name` too, where the checkpoint holds only `stored`. */
  alias(name: string, stored: string): void {
    const e = this.entries.get(stored);
    if (e && !this.entries.has(name)) this.entries.set(name, { ...e, name });
  }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new InputError(`${this.origin}: tensor "${name}" is missing from the checkpoint; the weights do not match config.json`);
    return e;
  }

  /**
   * The weight as stored (F32, F16, BF16 or F64 external data in the safetensors file itself); a
   * stored type other than the graph's is cast in the graph, and the runtime folds that cast once
   * when the session is created: the conversion happens in memory, and no converted copy is written.
   */
  tensor(g: Graph, name: string, expectedShape: number[], options: { keepHalf?: boolean } = {}): Tensor {
    const e = this.entry(name);
    if (e.shape.length !== expectedShape.length || e.shape.some((d, i) => d !== expectedShape[i])) {
      throw new InputError(`${e.file}: tensor "${name}" has shape [${e.shape}] but config.json implies [${expectedShape}]`);
    }
    return cached(g, name, () => {
      const dtype = storedType[e.dtype as keyof typeof storedType];
      if (!dtype) throw new InputError(`${e.file}: tensor "${name}" has dtype ${e.dtype}; weights must be F32, F16, BF16 or F64`);
      // matrices in the graph's weight type (half precision on a GPU), vectors (norms, biases) in its float type
      const half = dtype === 'float16' || dtype === 'bfloat16';
      const wanted = options.keepHalf && half && g.weightType !== 'float16' ? dtype : e.shape.length === 2 ? g.weightType : g.floatType;
      const location = basename(e.file);
      const known = this.files.get(location);
      if (known && known !== e.file) throw new InputError(`${this.origin}: two weight files named ${location}; a checkpoint's shards need distinct names`);
      this.files.set(location, e.file);
      const stored = g.externalInitializer(dtype === wanted ? name : `${name}.stored`, dtype, e.shape, { location, offset: e.offset, length: e.length });
      if (dtype === wanted) return stored;
      return g.node('Cast', [stored], { to: onnxTypeOf(wanted) }, [{ dtype: wanted, shape: e.shape }])[0];
    });
  }
}

/**
 * Weights as graph inputs that require gradients (model tuning): the values are fed at every
 * step, and the graph returns a gradient for each.
 */
export class TrainableWeights implements WeightSource {
  readonly created = new Map<string, Tensor>();
  constructor(private base: WeightSource) {}
  get origin(): string { return this.base.origin; }
  has(name: string): boolean { return this.base.has(name); }
  shape(name: string): number[] { return this.base.shape(name); }
  describe(name: string): string { return this.base.describe(name); }
  read(name: string): Float32Array { return this.base.read(name); }
  readRows(name: string, ids: number[]): Float32Array { return this.base.readRows(name, ids); }
  externalFiles(): Map<string, string> { return new Map(); }
  tensor(g: Graph, name: string, expectedShape: number[]): Tensor {
    return cached(g, name, () => {
      const t = g.input(name, g.floatType, expectedShape, { requiresGrad: true });
      this.created.set(name, t);
      return t;
    });
  }
}

/** Weights held in memory as float64 (tiny random models for gradient checks and tests). */
export class ArrayWeights implements WeightSource {
  constructor(readonly origin: string, readonly arrays: Map<string, { shape: number[]; data: Float64Array }>) {}
  has(name: string): boolean { return this.arrays.has(name); }
  describe(): string { return this.origin; }
  shape(name: string): number[] { return this.get(name).shape; }
  read(name: string): Float32Array { return Float32Array.from(this.get(name).data); }
  readRows(name: string, ids: number[]): Float32Array {
    const { shape, data } = this.get(name);
    const d = shape[1];
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => out.set(data.subarray(id * d, (id + 1) * d), i * d));
    return out;
  }
  externalFiles(): Map<string, string> { return new Map(); }
  private get(name: string) {
    const a = this.arrays.get(name);
    if (!a) throw new InputError(`${this.origin}: tensor "${name}" is missing`);
    return a;
  }
  tensor(g: Graph, name: string, expectedShape: number[]): Tensor {
    const a = this.get(name);
    if (a.shape.some((d, i) => d !== expectedShape[i])) throw new InputError(`${this.origin}: tensor "${name}" has shape [${a.shape}] but the config implies [${expectedShape}]`);
    return cached(g, name, () => g.initializer(name, g.floatType, a.shape, g.floatType === 'float64' ? a.data : Float32Array.from(a.data)));
  }
}
