// Confidence intervals shared by evaluation, the text metrics and the run diff: the Wilson score
// interval of a proportion and a seeded percentile bootstrap of a mean. Host-safe (no Node APIs),
// and deterministic: the same values give the same interval on every platform.

/** z of a two-sided 95% normal interval. */
const Z95 = 1.959963984540054;

/**
 * The Wilson score interval of a proportion (95%): unlike the normal approximation it stays in
 * [0, 1] and is not zero-width at 0% or 100%. No trials: [0, 1], nothing known.
 */
export function wilsonInterval(successes: number, trials: number, z = Z95): [number, number] {
  if (trials === 0) return [0, 1];
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** mulberry32: a small seeded generator, so the bootstrap gives the same interval on every platform. */
export function seededUniform(seed: number): () => number {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear interpolation between order statistics (R's type 7) of sorted values. */
export function quantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** How a bootstrap resamples: 2000 resamples, seed 1, a 95% interval unless told otherwise. */
export interface BootstrapOptions { resamples?: number; seed?: number; confidence?: number }

export const BOOTSTRAP_DEFAULTS = { resamples: 2000, seed: 1, confidence: 0.95 } as const;

/**
 * Percentile bootstrap interval of a statistic of n items: the items (indices 0..n-1) are
 * resampled with replacement `resamples` times, the statistic is taken of each resample, and the
 * interval is the statistic's tail quantiles. `statistic` gets the drawn indices (with repeats).
 */
export function bootstrapPercentile(n: number, statistic: (drawn: Int32Array) => number, options: BootstrapOptions = {}): [number, number] {
  const { resamples, seed, confidence } = { ...BOOTSTRAP_DEFAULTS, ...options };
  if (n === 0) throw new RangeError('bootstrap: no items to resample');
  const uniform = seededUniform(seed);
  const drawn = new Int32Array(n);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) drawn[i] = Math.floor(uniform() * n);
    stats[r] = statistic(drawn);
  }
  stats.sort();
  const tail = (1 - confidence) / 2;
  return [quantile(stats, tail), quantile(stats, 1 - tail)];
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean: no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * The mean of per-example values and its seeded percentile bootstrap interval. Values that are all
 * the same give [v, v] exactly (a resample's mean could differ from v in the last bit).
 */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): { value: number; interval: [number, number] } {
  const value = mean(values);
  if (values.every((v) => v === values[0])) return { value: values[0], interval: [values[0], values[0]] };
  const interval = bootstrapPercentile(values.length, (drawn) => {
    let sum = 0;
    for (const i of drawn) sum += values[i];
    return sum / drawn.length;
  }, options);
  return { value, interval };
}
