// How the views name and print the figures of a task: a label task's accuracy, a text-target
// task's per-example text metrics (exact match, token F1, chrF, ROUGE-L, NLL per token) and its
// assertions' pass rate. One table, so the comparison panel, the tree, the Run view and the inline
// marks say the same words.
import type { HeadlineMetric, TextMetricName } from './run-files.js';

/** A figure one example has: a text metric, or the target's NLL per token. */
export type ExampleMetric = TextMetricName | 'nll';

/** The per-example figures of a text-target task, in the order the views list them. */
export const EXAMPLE_METRICS: readonly ExampleMetric[] = ['exactMatch', 'tokenF1', 'chrF', 'rougeL', 'nll'];

const TITLES: Record<HeadlineMetric, string> = {
  rank: 'accuracy',
  generate: 'accuracy',
  exactMatch: 'exact match',
  tokenF1: 'token F1',
  chrF: 'chrF',
  rougeL: 'ROUGE-L',
  nll: 'NLL/token',
  passRate: 'pass rate',
};

/** What the metric is called in a heading or a sentence ("exact match", "NLL/token"). */
export function metricTitle(metric: HeadlineMetric | string): string {
  return (TITLES as Record<string, string>)[metric] ?? metric;
}

/** Whether a smaller value is the better one: the NLL; every other figure is a share, higher better. */
export function lowerIsBetter(metric: HeadlineMetric | string): boolean {
  return metric === 'nll';
}

/** A value as the views print it: a share in percent with one decimal, an NLL with three. */
export function metricValueText(metric: HeadlineMetric | string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  return lowerIsBetter(metric) ? value.toFixed(3) : `${(100 * value).toFixed(1)}%`;
}

/** A metric named with its value: "exact match 41.0%", "NLL/token 1.234". */
export function headlineText(metric: HeadlineMetric | string, value: number | null | undefined): string {
  return `${metricTitle(metric)} ${metricValueText(metric, value)}`;
}

/** Whether a is a better value than b under the metric (null is worst). */
export function betterThan(metric: HeadlineMetric | string, a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || Number.isNaN(a)) return false;
  if (b === null || b === undefined || Number.isNaN(b)) return true;
  return lowerIsBetter(metric) ? a < b : a > b;
}

/** A result's figures, as eval.json's results hold them. */
export interface ResultFigures { accuracy: number; nll: number | null; tokenF1?: number; chrF?: number; rougeL?: number; passRate?: number }

/** A result's value of a headline metric: accuracy for the label metrics and exact match; null where it lacks the figure. */
export function headlineValue(result: ResultFigures, metric: HeadlineMetric): number | null {
  if (metric === 'rank' || metric === 'generate' || metric === 'exactMatch') return result.accuracy;
  if (metric === 'nll') return result.nll;
  return result[metric] ?? null;
}
