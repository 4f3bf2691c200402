// Optimisers for the soft prompt [n, d] and for model tuning's weights: Adafactor as t5x runs it
// (the paper's optimiser) and Adam.
// Both keep their state in float32 arrays so a resumed run continues bit for bit.

export interface OptimizerState { step: number; tensors: Record<string, Float32Array> }

export interface Optimizer {
  readonly name: string;
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

/**
 * Adafactor (Shazeer & Stern 2018) as t5x runs it: the second moment is factored into row and
 * column means only when both dimensions are at least 128 (t5x's min_dim_size_to_factor), else
 * kept whole; decay rate 0.8, update clipping at RMS 1, no momentum. `multiplyByParameterScale`
 * (T5's fine-tuning default, used for model tuning) scales the step by the parameter's RMS (at
 * least 1e-3); the paper's prompt tuning turns it off.
 */
export class Adafactor implements Optimizer {
  readonly name = 'adafactor';
  readonly factored: boolean;
  private t = 0;
  private row: Float32Array;
  private col: Float32Array;
  private full: Float32Array;
  constructor(private rows: number, private cols: number, private options: { decayRate?: number; clipThreshold?: number; eps1?: number; eps2?: number; weightDecay?: number; minDimToFactor?: number; multiplyByParameterScale?: boolean } = {}) {
    this.factored = Math.min(rows, cols) >= (options.minDimToFactor ?? 128);
    this.row = new Float32Array(this.factored ? rows : 0);
    this.col = new Float32Array(this.factored ? cols : 0);
    this.full = new Float32Array(this.factored ? 0 : rows * cols);
  }
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void {
    const { decayRate = 0.8, clipThreshold = 1, eps1 = 1e-30, eps2 = 1e-3, weightDecay = 0, multiplyByParameterScale = false } = this.options;
    const R = this.rows, C = this.cols;
    this.t += 1;
    const beta2 = 1 - this.t ** -decayRate;
    const update = new Float64Array(R * C);
    if (this.factored) {
      const rowMean = new Float64Array(R), colMean = new Float64Array(C);
      for (let i = 0; i < R; i++) {
        for (let j = 0; j < C; j++) {
          const g2 = grad[i * C + j] ** 2 + eps1;
          rowMean[i] += g2 / C;
          colMean[j] += g2 / R;
        }
      }
      let rowAvg = 0;
      for (let i = 0; i < R; i++) {
        this.row[i] = beta2 * this.row[i] + (1 - beta2) * rowMean[i];
        rowAvg += this.row[i] / R;
      }
      for (let j = 0; j < C; j++) this.col[j] = beta2 * this.col[j] + (1 - beta2) * colMean[j];
      for (let i = 0; i < R; i++) {
        const r = 1 / Math.sqrt(this.row[i] / rowAvg);
        for (let j = 0; j < C; j++) update[i * C + j] = grad[i * C + j] * r / Math.sqrt(this.col[j]);
      }
    } else {
      for (let k = 0; k < update.length; k++) {
        this.full[k] = beta2 * this.full[k] + (1 - beta2) * (grad[k] ** 2 + eps1);
        update[k] = grad[k] / Math.sqrt(this.full[k]);
      }
    }
    let sq = 0;
    for (let k = 0; k < update.length; k++) sq += update[k] * update[k];
    const rms = Math.sqrt(sq / (R * C));
    let stepSize = lr;
    if (multiplyByParameterScale) {
      let p2 = 0;
      for (let k = 0; k < params.length; k++) p2 += params[k] * params[k];
      stepSize *= Math.max(eps2, Math.sqrt(p2 / params.length));
    }
    const scale = stepSize / Math.max(1, rms / clipThreshold);
    for (let k = 0; k < params.length; k++) {
      if (weightDecay) params[k] -= params[k] * weightDecay * lr;
      params[k] -= update[k] * scale;
    }
  }
  state(): OptimizerState {
    return { step: this.t, tensors: this.factored ? { row: Float32Array.from(this.row), col: Float32Array.from(this.col) } : { v: Float32Array.from(this.full) } };
  }
  load(s: OptimizerState): void {
    const need = this.factored ? ['row', 'col'] : ['v'];
    const missing = need.filter((k) => !s.tensors[k]);
    if (missing.length) throw new Error(`the checkpoint's Adafactor state holds ${Object.keys(s.tensors).join(', ')}, not ${need.join(', ')}: it was written by a version that ${this.factored ? 'kept the second moment whole' : 'factored the second moment of every table'}; start a new run`);
    this.t = s.step;
    if (this.factored) { this.row.set(s.tensors.row); this.col.set(s.tensors.col); } else this.full.set(s.tensors.v);
  }
}

export class Adam implements Optimizer {
  readonly name = 'adam';
  private t = 0;
  private m: Float32Array;
  private v: Float32Array;
  constructor(size: number, private options: { beta1?: number; beta2?: number; eps?: number; weightDecay?: number } = {}) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = this.options;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t, c2 = 1 - beta2 ** this.t;
    for (let k = 0; k < params.length; k++) {
      this.m[k] = beta1 * this.m[k] + (1 - beta1) * grad[k];
      this.v[k] = beta2 * this.v[k] + (1 - beta2) * grad[k] ** 2;
      if (weightDecay) params[k] -= params[k] * weightDecay * lr;
      params[k] -= (lr * (this.m[k] / c1)) / (Math.sqrt(this.v[k] / c2) + eps);
    }
  }
  state(): OptimizerState { return { step: this.t, tensors: { m: Float32Array.from(this.m), v: Float32Array.from(this.v) } }; }
  load(s: OptimizerState): void { this.t = s.step; this.m.set(s.tensors.m); this.v.set(s.tensors.v); }
}

export function learningRateAt(step: number, total: number, base: number, schedule: 'constant' | 'linear' | 'warmup' | 'warmup-linear', warmup: number): number {
  if ((schedule === 'warmup' || schedule === 'warmup-linear') && step < warmup) return (base * (step + 1)) / warmup;
  if (schedule === 'linear') return (base * (total - step)) / total;
  if (schedule === 'warmup-linear') return (base * (total - step)) / Math.max(1, total - warmup);
  return base;
}

/** Scales the gradient in place to at most maxNorm; returns the norm before clipping. */
export function clipGradient(grad: Float32Array | Float64Array, maxNorm?: number): number {
  let sq = 0;
  for (let i = 0; i < grad.length; i++) sq += grad[i] * grad[i];
  const norm = Math.sqrt(sq);
  if (maxNorm && norm > maxNorm) for (let i = 0; i < grad.length; i++) grad[i] *= maxNorm / norm;
  return norm;
}
