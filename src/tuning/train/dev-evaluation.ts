// A dev evaluation during training as the run records it: the headline figure (evaluation.metric)
// that decides the best checkpoint, the metrics.jsonl row and the event for the views. One place,
// for prompt tuning and model tuning alike.
import { headlineValue, improves } from '../../common/headline.js';
import type { HeadlineMetric, MetricRow, PromptResult } from '../../common/run-files.js';
import { taskKind, type Spec } from '../../common/spec.js';

export interface EvalEvent { step: number; split: 'dev'; accuracy: number; nll: number; macroF1?: number; best: boolean; metric?: { name: HeadlineMetric; value: number | null } }

export interface DevEvaluation {
  /** The headline figure: accuracy for labels, evaluation.metric's value for a text target. */
  value: number | null;
  /** Whether it beats the best so far (lower is better for the NLL). */
  better: boolean;
  row: MetricRow;
  event: EvalEvent;
}

export function devEvaluation(spec: Spec, step: number, result: PromptResult & { nll: number }, best: number | null): DevEvaluation {
  const metric = spec.evaluation.metric;
  const value = headlineValue(result, metric);
  const better = improves(metric, value, best);
  const target = taskKind(spec) === 'target';
  return {
    value, better,
    // a dev evaluation led by a text target's NLL generates nothing: it has no exact match to record
    row: { step, split: 'dev', devAccuracy: target && result.exactMatch === undefined ? null : result.accuracy, devNll: result.nll, ...(target ? { devMetric: value, metric } : { devMacroF1: result.macroF1 ?? null }) },
    event: { step, split: 'dev', accuracy: result.accuracy, nll: result.nll, ...(result.macroF1 !== undefined ? { macroF1: result.macroF1 } : {}), best: better, ...(target ? { metric: { name: metric, value } } : {}) },
  };
}
