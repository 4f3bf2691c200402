// A traced graph: ops append ONNX nodes and, when an input depends on a differentiated value,
// a tape entry whose backward emits the vector-Jacobian product as more ONNX nodes.
import { encodeOnnxModel, OnnxAttributeType, OnnxDataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxSubgraph, type OnnxTensorProto } from './onnx-proto.js';

/** A dimension: a number, or a symbol such as "B" or "n+T" that is fixed only at run time. */
export type Dim = number | string;
/** Element types of graph values; float16 and bfloat16 only for stored weights (cast on load). */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'bool';
export type FloatType = 'float32' | 'float64';

const onnxType: Record<DType, OnnxDataType> = { float32: OnnxDataType.FLOAT, float64: OnnxDataType.DOUBLE, float16: OnnxDataType.FLOAT16, bfloat16: OnnxDataType.BFLOAT16, int64: OnnxDataType.INT64, bool: OnnxDataType.BOOL };
export function onnxTypeOf(dtype: DType): OnnxDataType { return onnxType[dtype]; }

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    readonly requiresGrad: boolean,
  ) {}
  get rank(): number { return this.shape.length; }
  /** Axis index with negative values counted from the end. */
  axis(a: number): number { return a < 0 ? this.shape.length + a : a; }
}

export type Attr = number | number[] | string | { f: number } | { floats: number[] } | { tensor: OnnxTensorProto } | { graph: OnnxSubgraph };

interface TapeEntry {
  inputs: Tensor[];
  outputs: Tensor[];
  /** Given the gradient of each output (undefined where none flows), the gradient of each input. */
  backward: (gradOutputs: (Tensor | undefined)[]) => (Tensor | undefined)[];
}

export interface ExternalRef { location: string; offset: number; length: number }

export class Graph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensorProto[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: { tensor: Tensor; name: string }[] = [];
  readonly tape: TapeEntry[] = [];
  private counter = 0;
  private constants = new Map<string, Tensor>();
  /** The node lists of the graphs around the branch being built, outermost first. */
  private enclosing: OnnxNode[][] = [];
  private usesMicrosoftDomain = false;

  /**
   * @param weightType the type matrices (products' weights, embedding tables) are kept in:
   *   float16 on a GPU with precision fp16; activations, norms and the soft prompt stay `floatType`.
   */
  constructor(readonly floatType: FloatType, readonly weightType: FloatType | 'float16' = floatType) {}

  fresh(prefix: string): string { return `${prefix}_${this.counter++}`; }

  input(name: string, dtype: DType, shape: Dim[], options: { requiresGrad?: boolean } = {}): Tensor {
    const t = new Tensor(this, name, dtype, shape, options.requiresGrad ?? false);
    this.inputs.push(t);
    return t;
  }

  /** An initializer whose bytes live in the model file. */
  initializer(name: string, dtype: DType, shape: number[], data: Float32Array | Float64Array | BigInt64Array | Uint8Array, options: { requiresGrad?: boolean } = {}): Tensor {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: shape, dataType: onnxType[dtype], rawData: raw.slice() });
    return new Tensor(this, name, dtype, shape, options.requiresGrad ?? false);
  }

  /** An initializer read by the runtime from a file next to the model (ONNX external data). */
  externalInitializer(name: string, dtype: DType, shape: number[], ref: ExternalRef): Tensor {
    this.initializers.push({
      name, dims: shape, dataType: onnxType[dtype], dataLocation: 1,
      externalData: [
        { key: 'location', value: ref.location },
        { key: 'offset', value: String(ref.offset) },
        { key: 'length', value: String(ref.length) },
      ],
    });
    return new Tensor(this, name, dtype, shape, false);
  }

  /** Points external initializers at other file names (location -> new location). */
  renameExternalFiles(names: Map<string, string>): void {
    for (const t of this.initializers) {
      const location = t.externalData?.find((e) => e.key === 'location');
      if (location && names.has(location.value)) location.value = names.get(location.value)!;
    }
  }

  /** A constant tensor, shared between uses with the same value. */
  constant(values: readonly number[], dtype: DType = this.floatType, shape: number[] = [values.length]): Tensor {
    const key = `${dtype}|${shape.join(',')}|${values.join(',')}`;
    const cached = this.constants.get(key);
    if (cached) return cached;
    let data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
    if (dtype === 'float32') data = Float32Array.from(values);
    else if (dtype === 'float64') data = Float64Array.from(values);
    else if (dtype === 'int64') data = BigInt64Array.from(values.map((v) => BigInt(v)));
    else data = Uint8Array.from(values);
    const t = this.initializer(this.fresh('const'), dtype, shape, data);
    this.constants.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType = this.floatType): Tensor { return this.constant([value], dtype, []); }
  ints(values: readonly number[]): Tensor { return this.constant(values, 'int64', [values.length]); }

  /** Appends one ONNX node; returns its outputs. Records nothing on the tape (ops do that). */
  node(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr>, outputs: { dtype: DType; shape: readonly Dim[] }[], options: { domain?: string; requiresGrad?: boolean } = {}): Tensor[] {
    const requiresGrad = options.requiresGrad ?? false;
    const outs = outputs.map((o) => new Tensor(this, this.fresh(opType.toLowerCase()), o.dtype, o.shape, requiresGrad));
    if (options.domain === 'com.microsoft') this.usesMicrosoftDomain = true;
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      domain: options.domain ?? '',
      input: inputs.map((t) => (t ? t.name : '')),
      output: outs.map((t) => t.name),
      attribute: Object.entries(attrs).map(([name, value]) => toAttribute(name, value)),
    });
    return outs;
  }

  /** Records an op for differentiation when any of its inputs requires a gradient. */
  record(inputs: Tensor[], outputs: Tensor[], backward: TapeEntry['backward']): void {
    if (inputs.some((t) => t.requiresGrad)) this.tape.push({ inputs, outputs, backward });
  }

  /**
   * ONNX If: `cond` (a bool scalar) picks which branch runs; each branch builds its outputs with
   * ordinary ops (their nodes go into the branch, and may read any value of the outer graph).
   * Work a branch would do is skipped entirely when the other one runs.
   */
  branch(cond: Tensor, thenBranch: () => Tensor[], elseBranch: () => Tensor[]): Tensor[] {
    const build = (name: string, body: () => Tensor[]): { graph: OnnxSubgraph; outputs: Tensor[] } => {
      const outer = this.nodes.splice(0, this.nodes.length);
      this.enclosing.push(outer);
      let results: Tensor[] = [];
      let inner: OnnxNode[];
      try {
        results = body().map((t) => this.node('Identity', [t], {}, [{ dtype: t.dtype, shape: t.shape }])[0]);
      } finally {
        this.enclosing.pop();
        inner = this.nodes.splice(0, this.nodes.length);
        for (const n of outer) this.nodes.push(n);
      }
      return { graph: { name: this.fresh(name), nodes: inner, outputs: results.map((t) => ({ name: t.name, elemType: onnxType[t.dtype], dims: [...t.shape] })) }, outputs: results };
    };
    const then = build('then', thenBranch);
    const other = build('else', elseBranch);
    if (then.outputs.length !== other.outputs.length) throw new Error('If: both branches must have the same number of outputs');
    return this.node('If', [cond], { then_branch: { graph: then.graph }, else_branch: { graph: other.graph } }, then.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })));
  }

  /**
   * Builds `make`'s nodes in the outermost graph, whatever branch is being built: values every
   * branch reads (a weight widened once) must not belong to the branch that first asked.
   */
  atRoot<T>(make: () => T): T {
    if (this.enclosing.length === 0) return make();
    const current = this.nodes.splice(0, this.nodes.length);
    try {
      return make();
    } finally {
      for (const n of this.nodes.splice(0, this.nodes.length)) this.enclosing[0].push(n);
      for (const n of current) this.nodes.push(n);
    }
  }

  output(tensor: Tensor, name: string): void {
    this.outputs.push({ tensor, name });
  }

  toModel(): OnnxModel {
    const nodes = [...this.nodes];
    // Graph outputs get their public names through Identity nodes.
    for (const o of this.outputs) {
      nodes.push({ opType: 'Identity', name: this.fresh('n_out'), domain: '', input: [o.tensor.name], output: [o.name], attribute: [] });
    }
    const opsets = [{ domain: '', version: 17 }];
    if (this.usesMicrosoftDomain) opsets.push({ domain: 'com.microsoft', version: 1 });
    return {
      nodes,
      initializers: this.initializers,
      inputs: this.inputs.map((t) => ({ name: t.name, elemType: onnxType[t.dtype], dims: [...t.shape] })),
      outputs: this.outputs.map((o) => ({ name: o.name, elemType: onnxType[o.tensor.dtype], dims: [...o.tensor.shape] })),
      opsets,
    };
  }

  encode(): Uint8Array { return encodeOnnxModel(this.toModel()); }
}

function toAttribute(name: string, value: Attr): OnnxAttribute {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { f: ${value} } for a float`);
    return { name, type: OnnxAttributeType.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: OnnxAttributeType.INTS, ints: value };
  if ('f' in value) return { name, type: OnnxAttributeType.FLOAT, f: value.f };
  if ('floats' in value) return { name, type: OnnxAttributeType.FLOATS, floats: value.floats };
  if ('graph' in value) return { name, type: OnnxAttributeType.GRAPH, g: value.graph };
  return { name, type: OnnxAttributeType.TENSOR, t: value.tensor };
}

/** Symbolic arithmetic on dimensions, enough for shape bookkeeping. */
export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return `${a}+${b}`;
}
export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  return `${a}*${b}`;
}

export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (typeof da === 'number' && typeof db === 'number') throw new Error(`cannot broadcast [${a}] with [${b}]`);
    else out.push(typeof da === 'string' ? da : db);
  }
  return out;
}
