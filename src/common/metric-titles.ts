// How the views name and print the figures of a task: a label task's accuracy, a text-target
// task's per-example text metrics (exact match, token F1, chrF, ROUGE-L, NLL per token) and its
// assertions' pass rate. The names are text-metrics.ts's and the directions headline.ts's; this
// adds how the comparison panel, the tree, the Run view and the inline marks print them.
import { higherIsBetter } from './headline.js';
import type { HeadlineMetric, TextMetricName } from './run-files.js';
import { METRIC_TITLES, TEXT_METRIC_NAMES } from './text-metrics.js';

export { headlineValue, improves } from './headline.js';

/** A figure one example has: a text metric, or the target's NLL per token. */
export type ExampleMetric = TextMetricName | 'nll';

/** The per-example figures of a text-target task, in the order the views list them. */
export const EXAMPLE_METRICS: readonly ExampleMetric[] = [...TEXT_METRIC_NAMES, 'nll'];

/** What the metric is called in a heading or a sentence ("exact match", "NLL/token"); a label task's is accuracy. */
export function metricTitle(metric: HeadlineMetric): string {
  return metric === 'rank' || metric === 'generate' ? 'accuracy' : METRIC_TITLES[metric];
}

/** Whether a smaller value is the better one: the NLL; every other figure is a share, higher better. */
export function lowerIsBetter(metric: HeadlineMetric): boolean {
  return !higherIsBetter(metric);
}

/** A value as the views print it: a share in percent with one decimal, an NLL with three. */
export function metricValueText(metric: HeadlineMetric, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  return lowerIsBetter(metric) ? value.toFixed(3) : `${(100 * value).toFixed(1)}%`;
}

/** A metric named with its value: "exact match 41.0%", "NLL/token 1.234". */
export function headlineText(metric: HeadlineMetric, value: number | null | undefined): string {
  return `${metricTitle(metric)} ${metricValueText(metric, value)}`;
}
