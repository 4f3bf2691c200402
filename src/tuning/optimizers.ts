// Optimisers for the soft prompt [n, d]: Adafactor as the paper used it (factored second
// moments, decay rate 0.8, update clipping 1.0, no parameter scaling, no momentum) and Adam.
// Both keep their state in float32 arrays so a resumed run continues bit for bit.

export interface OptimizerState { step: number; tensors: Record<string, Float32Array> }

export interface Optimizer {
  readonly name: string;
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

export class Adafactor implements Optimizer {
  readonly name = 'adafactor';
  private t = 0;
  private row: Float32Array;
  private col: Float32Array;
  constructor(private rows: number, private cols: number, private options: { decayRate?: number; clipThreshold?: number; eps1?: number; weightDecay?: number } = {}) {
    this.row = new Float32Array(rows);
    this.col = new Float32Array(cols);
  }
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void {
    const { decayRate = 0.8, clipThreshold = 1, eps1 = 1e-30, weightDecay = 0 } = this.options;
    const R = this.rows, C = this.cols;
    this.t += 1;
    const beta2 = 1 - this.t ** -decayRate;
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
    const update = new Float64Array(R * C);
    let sq = 0;
    for (let i = 0; i < R; i++) {
      const r = 1 / Math.sqrt(this.row[i] / rowAvg);
      for (let j = 0; j < C; j++) {
        const u = grad[i * C + j] * r / Math.sqrt(this.col[j]);
        update[i * C + j] = u;
        sq += u * u;
      }
    }
    const rms = Math.sqrt(sq / (R * C));
    const scale = lr / Math.max(1, rms / clipThreshold);
    for (let k = 0; k < params.length; k++) {
      if (weightDecay) params[k] -= params[k] * weightDecay * lr;
      params[k] -= update[k] * scale;
    }
  }
  state(): OptimizerState { return { step: this.t, tensors: { row: Float32Array.from(this.row), col: Float32Array.from(this.col) } }; }
  load(s: OptimizerState): void { this.t = s.step; this.row.set(s.tensors.row); this.col.set(s.tensors.col); }
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
