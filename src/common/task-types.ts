// What a task asks for and how its outputs are judged: the names the spec, the run files and the
// metrics share (below all of them, so none imports another for these).

/** A task's answers: a label from a fixed set (label + verbalizer), or a free text (data.target). */
export type TaskKind = 'label' | 'target';

/** The per-example text metrics of a text-target task (src/common/text-metrics.ts computes them). */
export type TextMetricName = 'exactMatch' | 'tokenF1' | 'chrF' | 'rougeL';

/**
 * evaluation.metric, the figure early stopping, the best checkpoint and the comparison lead with:
 * label tasks rank (rank classification) or generate (generation mapped to a label); text-target
 * tasks a text metric, the target's teacher-forced NLL (lower is better) or the assertions' pass rate.
 */
export type HeadlineMetric = 'rank' | 'generate' | TextMetricName | 'nll' | 'passRate';

/** The checks promptfoo users know, on a text output (evaluation.assert, or one prompt's assert). */
export type AssertionType = 'equals' | 'contains' | 'icontains' | 'contains-any' | 'regex' | 'starts-with' | 'is-json' | 'levenshtein';

/**
 * One assertion as written in the spec: `value` is a template ({field} filled from the record; a
 * list for contains-any; a JSON Schema object for is-json, optional); `threshold` the most edits
 * levenshtein allows (default 5).
 */
export interface AssertionSpec { type: AssertionType; value?: string | string[] | Record<string, unknown>; threshold?: number }

/** One assertion's verdict on one output: the value as filled for the record, and why it failed. */
export interface AssertionResult { type: AssertionType; value?: string | string[] | Record<string, unknown>; pass: boolean; reason?: string }
