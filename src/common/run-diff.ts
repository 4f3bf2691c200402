// Two runs compared as a diff: one prompt of run A against one prompt of run B on the same
// examples (accuracy and macro-F1 deltas, an exact McNemar test and a paired bootstrap interval of
// the accuracy difference, the examples B fixed and broke) and the differences of their specs.
// Text-target runs are compared on their headline metric (evaluation.metric): its delta and the
// paired bootstrap of its per-example difference; McNemar and the fixed and broken examples stay
// on exact match. It only reads run folders, so the CLI and the extension host share it.
import { resolve } from 'node:path';
import { examplePassRate } from './assertions.js';
import { InputError } from './errors.js';
import { bootstrapPercentile, BOOTSTRAP_DEFAULTS, type BootstrapOptions } from './intervals.js';
import { jsonDifferences, type JsonDifference } from './json-diff.js';
import { RunDir } from './run-folder.js';
import type { EvalFile, Prediction, PromptKind, PromptResult, RunRecord, TaskKind } from './run-files.js';
import { isTextMetricName, metricInfo, type ReportedMetric } from './text-metrics.js';

/** Which prompt of each run to compare; an id left out is the run's default (see chooseRunDiffPrompts). */
export interface RunDiffPrompts { a?: string; b?: string }

/** The figure a text-target diff leads with: a text metric, the target's NLL per token (lower is better) or the assertions' pass rate. */
export type TargetMetric = ReportedMetric;

export interface RunDiffSide {
  dir: string;
  runId: string;
  promptId: string;
  kind: PromptKind;
  /** Label tasks: the share of examples right; text targets: exact match. */
  accuracy: number;
  /** Label tasks only. */
  macroF1?: number;
  /** Text targets: the headline metric and this prompt's value of it, from eval.json. */
  metric?: TargetMetric;
  metricValue?: number;
}

/**
 * An example one prompt got right and the other wrong (text targets: whose exact match flips);
 * gold is the label or the target, the predictions the labels or the generated outputs.
 */
export interface ChangedExample { index: number; line: number; gold: string; predictionA: string; predictionB: string }

export interface RunDiff {
  a: RunDiffSide;
  b: RunDiffSide;
  split: EvalFile['split'];
  /** The evaluated data file, the same for both runs. */
  file: string;
  /** Text targets (absent for label tasks): the task, and the metric the diff leads with. */
  task?: 'target';
  metric?: TargetMetric;
  /** Examples both prompts were evaluated on. */
  examples: number;
  /** B less A, from each run's eval.json (text targets: of exact match). */
  accuracyDelta: number;
  /** Label tasks only. */
  macroF1Delta?: number;
  /** Text targets: the headline metric of B less that of A (for NLL, negative is better). */
  metricDelta?: number;
  /** Exact McNemar test on the examples right under one prompt only (text targets: exact match). */
  mcnemar: McNemarResult;
  /** Of the accuracy difference; text targets: of the headline metric's per-example difference. */
  bootstrap: BootstrapInterval;
  /** Wrong under A, right under B, in line order. */
  fixedByB: ChangedExample[];
  /** Right under A, wrong under B, in line order. */
  brokenByB: ChangedExample[];
  specDifferences: JsonDifference[];
}

export interface McNemarResult {
  /** Discordant pairs: right under A and wrong under B (b), wrong under A and right under B (c). */
  b: number;
  c: number;
  /** Two-sided exact p-value; 1 where there is no discordant pair. */
  p: number;
}

export interface BootstrapInterval {
  /** The mean per-example difference, B less A, on the paired examples (the accuracy difference for 0/1 outcomes). */
  observed: number;
  low: number;
  high: number;
  confidence: number;
  resamples: number;
  seed: number;
}

/**
 * Exact McNemar test: under the null hypothesis each of the n = b + c discordant pairs falls either
 * way with probability 1/2, so min(b, c) is Binomial(n, 1/2) and the two-sided p-value is
 * min(1, 2 * P(X <= min(b, c))). The binomial sum is kept in integers (BigInt) and divided once,
 * so the result is exact up to the final rounding to a double, for any n (no normal approximation,
 * no overflow of 2^n).
 */
export function mcnemarExact(b: number, c: number): number {
  for (const [name, v] of [['b', b], ['c', c]] as const) if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} = ${v}: expected a whole number of at least 0`);
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let term = 1n; // C(n, 0)
  let sum = 1n;
  for (let i = 0; i < k; i++) {
    term = (term * BigInt(n - i)) / BigInt(i + 1);
    sum += term;
  }
  // p = 2 * sum / 2^n = sum / 2^(n-1)
  return Math.min(1, bigRatioToNumber(sum, n - 1));
}

/** numerator / 2^exponent as a double, without forming a number that overflows. */
function bigRatioToNumber(numerator: bigint, exponent: number): number {
  const bits = numerator.toString(2).length;
  // keep 64 significant bits: more than a double holds
  const shift = Math.max(0, bits - 64);
  const mantissa = Number(numerator >> BigInt(shift));
  const e = shift - exponent;
  // two factors, so neither 2^(e/2) underflows before the product does
  const half = Math.trunc(e / 2);
  return mantissa * 2 ** half * 2 ** (e - half);
}

/**
 * Paired bootstrap percentile interval of the mean of B's values less A's: the examples are
 * resampled with replacement, each keeping both prompts' values, so the interval reflects the
 * pairing. Outcomes right/wrong (booleans) give the interval of accuracy(B) - accuracy(A).
 */
export function pairedBootstrap(valuesA: readonly boolean[] | readonly number[], valuesB: readonly boolean[] | readonly number[], options: BootstrapOptions = {}): BootstrapInterval {
  const { resamples, seed, confidence } = { ...BOOTSTRAP_DEFAULTS, ...options };
  const n = valuesA.length;
  if (n === 0 || valuesB.length !== n) throw new RangeError(`paired bootstrap: expected two equal, non-empty lists of outcomes (got ${n} and ${valuesB.length})`);
  const delta = Array.from({ length: n }, (_, i) => Number(valuesB[i]) - Number(valuesA[i]));
  const observed = delta.reduce((s, d) => s + d, 0) / n;
  const [low, high] = bootstrapPercentile(n, (drawn) => {
    let sum = 0;
    for (const i of drawn) sum += delta[i];
    return sum / n;
  }, { resamples, seed, confidence });
  return { observed, low, high, confidence, resamples, seed };
}

interface OpenedRun { run: RunDir; record: RunRecord; ev: EvalFile }

function openEvaluated(dir: string): OpenedRun {
  const run = RunDir.open(dir);
  if (!run.has('eval.json')) throw new InputError(`${run.path('eval.json')}: the run has not been evaluated (no eval.json); only evaluated runs can be compared`, { file: run.path('run.json') });
  return { run, record: run.record, ev: run.readEval() };
}

/** A run's own soft prompt: the spec's softPrompt.id where evaluated, else its only soft prompt. */
function ownSoftPrompt({ record, ev }: OpenedRun): string | null {
  const soft = ev.results.filter((r) => r.kind === 'soft').map((r) => r.id);
  const own = record.spec?.softPrompt.id;
  if (own !== undefined && soft.includes(own)) return own;
  return soft.length === 1 ? soft[0] : null;
}

/**
 * The prompt of each run to compare: the one asked for, else the run's own soft prompt, else the id
 * the other side uses (or the only id both runs evaluated), so two runs of discrete prompts alone
 * compare like with like.
 */
function chooseRunDiffPrompts(a: OpenedRun, b: OpenedRun, asked: RunDiffPrompts): { a: string; b: string } {
  const ids = (r: OpenedRun) => r.ev.results.map((x) => x.id);
  for (const [side, run, id] of [['A', a, asked.a], ['B', b, asked.b]] as const) {
    if (id !== undefined && !ids(run).includes(id)) throw new InputError(`${run.run.path('eval.json')}: run ${side} has no prompt "${id}"; it evaluated ${ids(run).join(', ')}`, { file: run.run.path('eval.json') });
  }
  let idA = asked.a ?? ownSoftPrompt(a);
  let idB = asked.b ?? ownSoftPrompt(b);
  if (idA === null && idB !== null && ids(a).includes(idB)) idA = idB;
  if (idB === null && idA !== null && ids(b).includes(idA)) idB = idA;
  if (idA === null && idB === null) {
    const shared = ids(a).filter((id) => ids(b).includes(id));
    if (shared.length === 1) idA = idB = shared[0];
  }
  if (idA === null || idB === null) {
    throw new InputError(`cannot tell which prompts to compare: ${a.run.path('eval.json')} has ${ids(a).join(', ')}; ${b.run.path('eval.json')} has ${ids(b).join(', ')}. Name one prompt for both runs (--prompt ID) or one for each (--prompts IDA,IDB)`, { file: a.run.path('eval.json') });
  }
  return { a: idA, b: idB };
}

/** A prompt's predictions by line; a line twice would make the pairing ambiguous. */
function predictionsByLine(opened: OpenedRun, promptId: string): Map<number, Prediction> {
  const file = opened.run.path('predictions.jsonl');
  const out = new Map<number, Prediction>();
  for (const p of opened.run.readPredictions()) {
    if (p.promptId !== promptId) continue;
    if (out.has(p.line)) throw new InputError(`${file}: prompt "${promptId}" has two predictions for line ${p.line}; the run's predictions cannot be paired by example`, { file });
    out.set(p.line, p);
  }
  if (out.size === 0) throw new InputError(`${file}: no predictions for prompt "${promptId}" (the file is missing or was written before per-example predictions were kept)`, { file });
  return out;
}

const sample = (lines: number[]) => `${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ` and ${lines.length - 5} more` : ''}`;

const taskOf = (o: OpenedRun): TaskKind => o.ev.task ?? 'label';

/** Refuses a label run against a text-target run: their prompts answer different questions. */
function checkSameTask(a: OpenedRun, b: OpenedRun): void {
  if (taskOf(a) === taskOf(b)) return;
  const what = (o: OpenedRun) => `${o.run.path('eval.json')} is ${taskOf(o) === 'target' ? 'a text-target run (free-text outputs scored against data.target)' : `a label run (labels ${o.ev.labels.join(', ')})`}`;
  throw new InputError(`cannot compare a label run with a text-target run: ${what(a)}; ${what(b)}. Compare runs of the same task`, { file: b.run.path('eval.json') });
}

/** Refuses two runs whose prompts were not evaluated on the same examples, naming both runs' files. */
function checkSameExamples(a: OpenedRun, b: OpenedRun, predA: Map<number, Prediction>, predB: Map<number, Prediction>): void {
  const evalA = a.run.path('eval.json');
  const evalB = b.run.path('eval.json');
  if (a.ev.split !== b.ev.split || resolve(a.ev.file) !== resolve(b.ev.file)) {
    throw new InputError(`the runs were evaluated on different data, so their examples cannot be paired: ${evalA} is the ${a.ev.split} split ${a.ev.file}; ${evalB} is the ${b.ev.split} split ${b.ev.file}`, { file: evalB });
  }
  const filesNamed = `${a.run.path('predictions.jsonl')} and ${b.run.path('predictions.jsonl')}`;
  const onlyA = [...predA.keys()].filter((l) => !predB.has(l)).sort((x, y) => x - y);
  const onlyB = [...predB.keys()].filter((l) => !predA.has(l)).sort((x, y) => x - y);
  if (onlyA.length || onlyB.length) {
    const parts = [onlyA.length ? `${onlyA.length} only in A (lines ${sample(onlyA)})` : '', onlyB.length ? `${onlyB.length} only in B (lines ${sample(onlyB)})` : ''].filter(Boolean);
    throw new InputError(`the runs were evaluated on different example sets of ${a.ev.file}: ${parts.join(', ')}; compare runs evaluated on the same examples (${filesNamed})`, { file: b.run.path('predictions.jsonl') });
  }
  const relabelled = [...predA.keys()].filter((l) => predA.get(l)!.gold !== predB.get(l)!.gold).sort((x, y) => x - y);
  if (relabelled.length) {
    const golds = taskOf(a) === 'target' ? 'targets' : 'gold labels';
    throw new InputError(`the runs' examples have different ${golds} on ${relabelled.length} lines of ${a.ev.file} (lines ${sample(relabelled)}): the data file changed between the runs (${filesNamed})`, { file: b.run.path('predictions.jsonl') });
  }
}

/** A text-target run's headline metric: evaluation.metric where it names one of a text target's figures, else exact match. */
function headlineMetric(ev: EvalFile): TargetMetric {
  const m = ev.metric;
  return m !== undefined && (isTextMetricName(m) || m === 'nll' || m === 'passRate') ? m : 'exactMatch';
}

/** One example's value of the headline metric, from its prediction; an InputError where the run did not record it. */
function exampleValue(o: OpenedRun, p: Prediction, metric: TargetMetric): number {
  let v: number | null | undefined;
  if (metric === 'passRate') v = examplePassRate(p.assertions ?? []);
  else v = p.metrics?.[metric] ?? (metric === 'exactMatch' ? Number(p.correct) : undefined);
  if (v === undefined || v === null || !Number.isFinite(v)) {
    const file = o.run.path('predictions.jsonl');
    const what = metric === 'passRate' ? 'no assertion results' : `no ${metricInfo(metric).title} value`;
    throw new InputError(`${file}: prompt "${p.promptId}" has ${what} for line ${p.line}, so the runs cannot be compared on ${metricInfo(metric).title}`, { file });
  }
  return v;
}

/** A prompt's figure for the headline metric from eval.json; the mean of its per-example values where eval.json has none. */
function resultValue(r: PromptResult, metric: TargetMetric, perExample: number[]): number {
  const recorded = metric === 'exactMatch' ? r.exactMatch ?? r.accuracy : r[metric];
  return typeof recorded === 'number' ? recorded : perExample.reduce((s, v) => s + v, 0) / perExample.length;
}

/** Run B against run A on the same examples, one prompt of each. */
export function computeRunDiff(dirA: string, dirB: string, prompts: RunDiffPrompts = {}, bootstrap: { resamples?: number; seed?: number } = {}): RunDiff {
  const a = openEvaluated(dirA);
  const b = openEvaluated(dirB);
  checkSameTask(a, b);
  const ids = chooseRunDiffPrompts(a, b, prompts);
  const predA = predictionsByLine(a, ids.a);
  const predB = predictionsByLine(b, ids.b);
  checkSameExamples(a, b, predA, predB);
  const lines = [...predA.keys()].sort((x, y) => x - y);
  const target = taskOf(a) === 'target';
  // a text target's exact match is its prediction's `correct`; its texts are the output and the target
  const shownText = (p: Prediction) => (target ? p.output ?? p.prediction : p.prediction);
  const fixedByB: ChangedExample[] = [];
  const brokenByB: ChangedExample[] = [];
  for (const line of lines) {
    const pa = predA.get(line)!;
    const pb = predB.get(line)!;
    if (pa.correct === pb.correct) continue;
    (pb.correct ? fixedByB : brokenByB).push({ index: pa.index, line, gold: target ? pa.target ?? pa.gold : pa.gold, predictionA: shownText(pa), predictionB: shownText(pb) });
  }
  const mcnemar = { b: brokenByB.length, c: fixedByB.length, p: mcnemarExact(brokenByB.length, fixedByB.length) };
  const specDifferences = jsonDifferences(a.record.spec, b.record.spec);
  const resultOf = (o: OpenedRun, promptId: string) => o.ev.results.find((x) => x.id === promptId)!;
  const base = (o: OpenedRun, promptId: string) => {
    const r = resultOf(o, promptId);
    return { dir: o.run.dir, runId: o.run.id, promptId, kind: r.kind, accuracy: r.accuracy };
  };

  if (!target) {
    const side = (o: OpenedRun, promptId: string): RunDiffSide => ({ ...base(o, promptId), macroF1: resultOf(o, promptId).macroF1 ?? 0 });
    const sideA = side(a, ids.a);
    const sideB = side(b, ids.b);
    return {
      a: sideA, b: sideB, split: a.ev.split, file: a.ev.file, examples: lines.length,
      accuracyDelta: sideB.accuracy - sideA.accuracy, macroF1Delta: sideB.macroF1! - sideA.macroF1!,
      mcnemar,
      bootstrap: pairedBootstrap(lines.map((l) => predA.get(l)!.correct), lines.map((l) => predB.get(l)!.correct), bootstrap),
      fixedByB, brokenByB, specDifferences,
    };
  }

  // run A's headline metric: B is measured by A's yardstick where the two differ
  const metric = headlineMetric(a.ev);
  const valuesA = lines.map((l) => exampleValue(a, predA.get(l)!, metric));
  const valuesB = lines.map((l) => exampleValue(b, predB.get(l)!, metric));
  const side = (o: OpenedRun, promptId: string, values: number[]): RunDiffSide => ({ ...base(o, promptId), metric, metricValue: resultValue(resultOf(o, promptId), metric, values) });
  const sideA = side(a, ids.a, valuesA);
  const sideB = side(b, ids.b, valuesB);
  return {
    a: sideA, b: sideB, split: a.ev.split, file: a.ev.file, task: 'target', metric, examples: lines.length,
    accuracyDelta: sideB.accuracy - sideA.accuracy, metricDelta: sideB.metricValue! - sideA.metricValue!,
    mcnemar,
    bootstrap: pairedBootstrap(valuesA, valuesB, bootstrap),
    fixedByB, brokenByB, specDifferences,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const points = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} pts`;
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
const pValue = (p: number) => (p >= 0.001 ? p.toFixed(4) : p.toExponential(2));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const shown = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
/** A generated text or target in a table cell: one line, at most about 80 characters. */
const textCell = (s: string, max = 80) => cell(s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** How a metric's values and differences read: shares as percentages and points, the rest to 3 decimals. */
function metricFormat(metric: TargetMetric): { value: (v: number) => string; delta: (v: number) => string } {
  return metric === 'exactMatch' || metric === 'passRate' ? { value: pct, delta: points } : { value: (v) => v.toFixed(3), delta: signed };
}

/** The diff as a Markdown report, for the terminal and an editor tab. */
export function formatRunDiff(d: RunDiff): string {
  const name = (s: RunDiffSide) => `${s.runId}, prompt \`${s.promptId}\` (${s.kind})`;
  const { b, c, p } = d.mcnemar;
  const iv = d.bootstrap;
  const target = d.task === 'target';
  const metric = d.metric ?? 'exactMatch';
  const info = metricInfo(metric);
  const format = metricFormat(metric);
  const changed = (rows: ChangedExample[]) => (rows.length === 0 ? ['(none)'] : target ? [
    '| line | target | A | B |', '|---:|---|---|---|',
    ...rows.map((r) => `| ${r.line} | ${textCell(r.gold)} | ${textCell(r.predictionA)} | ${textCell(r.predictionB)} |`),
  ] : [
    '| line | gold | A | B |', '|---:|---|---|---|',
    ...rows.map((r) => `| ${r.line} | ${cell(r.gold)} | ${cell(r.predictionA)} | ${cell(r.predictionB)} |`),
  ]);
  const figures = target ? [
    `| exact match | ${pct(d.a.accuracy)} | ${pct(d.b.accuracy)} | ${points(d.accuracyDelta)} |`,
    ...(metric === 'exactMatch' ? [] : [`| ${info.title}${info.higherIsBetter ? '' : ' (lower is better)'} | ${format.value(d.a.metricValue!)} | ${format.value(d.b.metricValue!)} | ${format.delta(d.metricDelta!)} |`]),
  ] : [
    `| accuracy | ${pct(d.a.accuracy)} | ${pct(d.b.accuracy)} | ${points(d.accuracyDelta)} |`,
    `| macro-F1 | ${(d.a.macroF1 ?? 0).toFixed(3)} | ${(d.b.macroF1 ?? 0).toFixed(3)} | ${signed(d.macroF1Delta ?? 0)} |`,
  ];
  const changes = target ? 'On exact match, B fixed' : 'B fixed';
  const difference = target ? `${info.title} difference${info.higherIsBetter ? '' : ' (negative: B is better)'}` : 'accuracy difference';
  const intervalFormat = target ? format.delta : points;
  return [
    `# Run diff: B against A`,
    '',
    `- A: ${name(d.a)} (${d.a.dir})`,
    `- B: ${name(d.b)} (${d.b.dir})`,
    `- Examples: ${d.examples} of the ${d.split} split, ${d.file}`,
    ...(target ? [`- Text targets, compared on ${info.title} (run A's headline metric)`] : []),
    '',
    '| | A | B | B - A |',
    '|---|---:|---:|---:|',
    ...figures,
    '',
    `${changes} ${c} and broke ${b} of the ${d.examples} examples. Exact McNemar test on the ${b + c} discordant examples: two-sided p = ${pValue(p)}.`,
    `Paired bootstrap ${Math.round(100 * iv.confidence)}% interval of the ${difference}: ${intervalFormat(iv.low)} to ${intervalFormat(iv.high)} (observed ${intervalFormat(iv.observed)}; ${iv.resamples.toLocaleString('en-US')} resamples, seed ${iv.seed}).`,
    '',
    `## Fixed by B (${c})`,
    '',
    ...changed(d.fixedByB),
    '',
    `## Broken by B (${b})`,
    '',
    ...changed(d.brokenByB),
    '',
    `## Spec differences (${d.specDifferences.length})`,
    '',
    ...(d.specDifferences.length === 0 ? ['(none: the runs were started from the same spec)'] : d.specDifferences.map((s) => `- \`${s.path}\`: ${cell(shown(s.a))} -> ${cell(shown(s.b))}`)),
    '',
  ].join('\n');
}
