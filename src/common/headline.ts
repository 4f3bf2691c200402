// The headline figure of a prompt's result (evaluation.metric): what early stopping, the best
// checkpoint, the run's summary and the comparison lead with.
import type { HeadlineMetric, PromptResult } from './run-files.js';

/** Whether a larger value of the metric is better (all but the NLL). */
export function higherIsBetter(metric: HeadlineMetric): boolean {
  return metric !== 'nll';
}

/**
 * The metric's value in a result: accuracy for the label metrics (rank or generation, whichever
 * the result was judged by) and exact match; the text metric, NLL or pass rate otherwise. null
 * where the result lacks it (a pass rate with no assertions, text metrics without generation).
 */
export function headlineValue(result: Pick<PromptResult, 'accuracy' | 'nll' | 'tokenF1' | 'chrF' | 'rougeL' | 'passRate'>, metric: HeadlineMetric): number | null {
  switch (metric) {
    case 'rank': case 'generate': case 'exactMatch': return result.accuracy;
    case 'nll': return result.nll;
    default: return result[metric] ?? null;
  }
}

/** Whether `value` beats `best` (a first value always does). */
export function improves(metric: HeadlineMetric, value: number | null, best: number | null): boolean {
  if (value === null || Number.isNaN(value)) return false;
  if (best === null) return true;
  return higherIsBetter(metric) ? value > best : value < best;
}
