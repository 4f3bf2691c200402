// Where a model's weights come from when a graph is built: a checkpoint on disk (read by the
// runtime as ONNX external data, never copied into JS for F32), or arrays in memory (tiny test
// models, inlined into the graph in its float type).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Graph, Tensor } from '../engine/graph.js';
import { InputError } from './errors.js';
import { readCheckpoint, readTensorF32, type TensorEntry } from './safetensors.js';

export interface WeightSource {
  /** A description for messages: the folder or "random model". */
  readonly origin: string;
  has(name: string): boolean;
  shape(name: string): number[];
  /** The file a tensor comes from, for messages. */
  describe(name: string): string;
  /** The weight as a graph initializer (created once per graph). */
  tensor(g: Graph, name: string, expectedShape: number[]): Tensor;
  /** The weight's values, widened to float32 (for embedding lookups in JS, prompt init). */
  read(name: string): Float32Array;
  /** Files the graph refers to as external data: name in the graph folder -> absolute path. */
  externalFiles(): Map<string, string>;
}

const perGraph = new WeakMap<Graph, Map<string, Tensor>>();
function cached(g: Graph, name: string, make: () => Tensor): Tensor {
  let m = perGraph.get(g);
  if (!m) perGraph.set(g, (m = new Map()));
  let t = m.get(name);
  if (!t) m.set(name, (t = make()));
  return t;
}

export class CheckpointWeights implements WeightSource {
  readonly entries: Map<string, TensorEntry>;
  private files = new Map<string, string>();
  private converted = new Map<string, { location: string; offset: number; length: number }>();

  constructor(readonly origin: string, private cacheDir: string) {
    this.entries = readCheckpoint(origin);
  }
  has(name: string): boolean { return this.entries.has(name); }
  describe(name: string): string { return this.entries.get(name)?.file ?? this.origin; }
  shape(name: string): number[] { return this.entry(name).shape; }
  read(name: string): Float32Array { return readTensorF32(this.entry(name)); }
  externalFiles(): Map<string, string> { return this.files; }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new InputError(`${this.origin}: tensor "${name}" is missing from the checkpoint; the weights do not match config.json`);
    return e;
  }

  tensor(g: Graph, name: string, expectedShape: number[]): Tensor {
    const e = this.entry(name);
    if (e.shape.length !== expectedShape.length || e.shape.some((d, i) => d !== expectedShape[i])) {
      throw new InputError(`${e.file}: tensor "${name}" has shape [${e.shape}] but config.json implies [${expectedShape}]`);
    }
    return cached(g, name, () => {
      if (e.dtype === 'F32') {
        const location = `${createHash('sha256').update(e.file).digest('hex').slice(0, 8)}_${basename(e.file)}`;
        this.files.set(location, e.file);
        return g.externalInitializer(name, 'float32', e.shape, { location, offset: e.offset, length: e.length });
      }
      return g.externalInitializer(name, 'float32', e.shape, this.widened(e));
    });
  }

  /** F16/BF16/F64 weights widened to F32 once, into a cache file shared by all graphs. */
  private widened(e: TensorEntry): { location: string; offset: number; length: number } {
    const done = this.converted.get(e.name);
    if (done) return done;
    const st = statSync(e.file);
    const key = createHash('sha256').update(`${e.file}|${st.size}|${st.mtimeMs}|${e.name}`).digest('hex').slice(0, 24);
    mkdirSync(this.cacheDir, { recursive: true });
    const path = join(this.cacheDir, `${key}.f32`);
    if (!existsSync(path)) {
      const data = this.read(e.name);
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      renameSync(tmp, path);
    }
    const location = `${key}.f32`;
    this.files.set(location, path);
    const ref = { location, offset: 0, length: e.shape.reduce((p, d) => p * d, 1) * 4 };
    this.converted.set(e.name, ref);
    return ref;
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
