// `--fail-under METRIC=VALUE` (train and eval): a threshold for CI, as promptfoo's pass-rate
// threshold. The job's results are checked against every threshold; each prompt below one is
// named with its figure, and the command exits 3.
import { InputError } from '../common/errors.js';
import type { ResultRow } from '../common/protocol.js';

/** The result figures a threshold can name: those where higher is better. */
const METRICS = ['accuracy', 'macroF1', 'exactMatch', 'tokenF1', 'chrF', 'rougeL', 'passRate'] as const;
type ThresholdMetric = (typeof METRICS)[number];

export interface Threshold { prompt?: string; metric: ThresholdMetric; value: number; text: string }

/** Exit status of a job whose results fall below a --fail-under threshold. */
export const FAIL_UNDER_EXIT = 3;

/**
 * `[PROMPT:]METRIC=VALUE`, VALUE a share (0.8) or a percentage (80%); without PROMPT the threshold
 * holds for every prompt of the run.
 */
export function parseThreshold(text: string): Threshold {
  const m = /^(?:([^:=]+):)?([A-Za-z0-9]+)=([0-9.]+)(%?)$/.exec(text.trim());
  if (!m) throw new InputError(`--fail-under ${text}: expected METRIC=VALUE or PROMPT:METRIC=VALUE, such as exactMatch=0.6, soft:chrF=55%`);
  const [, prompt, metric, number, percent] = m;
  if (metric === 'nll') throw new InputError(`--fail-under ${text}: nll is lower-is-better, so a floor does not fit it; use a metric where higher is better (${METRICS.join(', ')})`);
  if (!(METRICS as readonly string[]).includes(metric)) throw new InputError(`--fail-under ${text}: unknown metric "${metric}"; use one of ${METRICS.join(', ')}`);
  const value = Number(number) / (percent ? 100 : 1);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InputError(`--fail-under ${text}: the value must be a share from 0 to 1, or a percentage (80%)`);
  return { ...(prompt ? { prompt: prompt.trim() } : {}), metric: metric as ThresholdMetric, value, text };
}

/**
 * The lines that say which prompt fell below which threshold; none when all hold. A threshold
 * naming a prompt the run does not have, or a metric its task does not report, is an input error:
 * a CI check that silently checked nothing would pass forever.
 */
export function thresholdFailures(results: ResultRow[], thresholds: Threshold[]): string[] {
  const failures: string[] = [];
  for (const t of thresholds) {
    const rows = t.prompt === undefined ? results : results.filter((r) => r.id === t.prompt);
    if (rows.length === 0) throw new InputError(`--fail-under ${t.text}: the run has no prompt "${t.prompt}" (prompts: ${results.map((r) => r.id).join(', ')})`);
    const measured = rows.filter((r) => r[t.metric] !== undefined);
    if (measured.length === 0) throw new InputError(`--fail-under ${t.text}: no prompt reports ${t.metric} (${t.metric === 'macroF1' ? 'label tasks only' : t.metric === 'passRate' ? 'text targets with assertions only' : t.metric === 'accuracy' ? 'every task' : 'text targets only'})`);
    for (const r of measured) {
      const v = r[t.metric]!;
      if (v < t.value) failures.push(`prompt "${r.id}" (${r.kind}): ${t.metric} ${(100 * v).toFixed(1)}% is below ${(100 * t.value).toFixed(1)}% (--fail-under ${t.text})`);
    }
  }
  return failures;
}
