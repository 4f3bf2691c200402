// The text metrics of a text-target task, as one table: each metric's per-example score of an
// output against its target (0 to 1, higher is better), and how a prompt's per-example scores
// become its figure and 95% interval. Evaluation, the CLI tables, run files and the webview panel
// all read it, so it stays host-safe (common imports only, no Node APIs).
//
// Each metric reproduces a reference implementation exactly (test/text-metrics.test.ts checks them
// against its outputs). None is taken from npm: the packages there that compute them are
// unmaintained or differ from the references in tokenisation or smoothing.
import { bootstrapMean, wilsonInterval } from './intervals.js';
import type { TextMetricName } from './task-types.js';

/** Python's str.split() whitespace (wider than JS \s in \x1c-\x1f and \x85, narrower in \ufeff). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'gu');
/** Python's str.split(): no empty pieces, whatever the leading or trailing whitespace. */
const pySplit = (s: string): string[] => s.split(PY_SPACE_RUN).filter((w) => w !== '');

// ---- SQuAD v1.1 (the official evaluate-v1.1.py) ----

/** Python's string.punctuation. */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
/**
 * Python 3's \b(a|an|the)\b on a str: its \w is any letter, number or underscore (Unicode), where
 * JavaScript's \b knows ASCII only, so the boundaries are spelled out.
 */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD's normalize_answer: lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let text = '';
  for (const ch of s.toLowerCase()) if (!PUNCTUATION.has(ch)) text += ch;
  return pySplit(text.replace(ARTICLES, ' ')).join(' ');
}

/** SQuAD exact match: 1 where the normalized output equals the normalized target. */
export function exactMatch(output: string, target: string): number {
  return normalizeAnswer(output) === normalizeAnswer(target) ? 1 : 0;
}

/** SQuAD token F1: precision and recall of the normalized tokens (counted with multiplicity); 0 with no token in common. */
export function tokenF1(output: string, target: string): number {
  const predicted = pySplit(normalizeAnswer(output));
  const gold = pySplit(normalizeAnswer(target));
  const goldCounts = counts(gold);
  let same = 0;
  for (const [token, n] of counts(predicted)) same += Math.min(n, goldCounts.get(token) ?? 0);
  if (same === 0) return 0;
  const precision = same / predicted.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

function counts<T>(items: Iterable<T>): Map<T, number> {
  const out = new Map<T, number>();
  for (const x of items) out.set(x, (out.get(x) ?? 0) + 1);
  return out;
}

// ---- chrF (sacrebleu 2.x, metrics/chrf.py) ----

export interface ChrFOptions {
  /** Character n-gram orders 1..charOrder (6). */
  charOrder?: number;
  /** Recall weighs beta times as much as precision (2). */
  beta?: number;
  /** Keep whitespace in the n-grams (false: it is removed first). */
  whitespace?: boolean;
  /** chrF++.py's epsilon smoothing over all orders (false: sacrebleu's default, the effective order). */
  epsSmoothing?: boolean;
}

/**
 * Sentence-level chrF as sacrebleu 2.x's CHRF computes it (word order 0), on a 0-1 scale where
 * sacrebleu prints 0-100. The defaults are sacrebleu's: orders 1-6, beta 2, whitespace removed,
 * precision and recall averaged over the orders both texts have n-grams of (effective order).
 */
export function chrF(output: string, target: string, options: ChrFOptions = {}): number {
  const { charOrder = 6, beta = 2, whitespace = false, epsSmoothing = false } = options;
  // code points, as Python indexes a str
  const chars = (s: string) => Array.from(whitespace ? s : pySplit(s).join(''));
  const hyp = chars(output);
  const ref = chars(target);
  const factor = beta ** 2;
  const eps = 1e-16;
  let epsScore = 0;
  let sumPrecision = 0;
  let sumRecall = 0;
  let effectiveOrder = 0;
  for (let n = 1; n <= charOrder; n++) {
    const hypGrams = counts(ngrams(hyp, n));
    const refGrams = counts(ngrams(ref, n));
    let hypCount = 0;
    let matches = 0;
    for (const [gram, c] of hypGrams) {
      hypCount += c;
      matches += Math.min(c, refGrams.get(gram) ?? 0);
    }
    const refCount = Math.max(0, ref.length - n + 1);
    // sacrebleu counts no hypothesis n-grams of an order the reference has none of
    if (refCount === 0) hypCount = 0;
    const precision = hypCount > 0 ? matches / hypCount : eps;
    const recall = refCount > 0 ? matches / refCount : eps;
    const denominator = factor * precision + recall;
    epsScore += denominator > 0 ? ((1 + factor) * precision * recall) / denominator : eps;
    if (hypCount > 0 && refCount > 0) {
      sumPrecision += precision;
      sumRecall += recall;
      effectiveOrder++;
    }
  }
  if (epsSmoothing) return epsScore / charOrder;
  const precision = effectiveOrder === 0 ? 0 : sumPrecision / effectiveOrder;
  const recall = effectiveOrder === 0 ? 0 : sumRecall / effectiveOrder;
  if (precision + recall === 0) return 0;
  return ((1 + factor) * precision * recall) / (factor * precision + recall);
}

function ngrams(chars: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= chars.length; i++) out.push(chars.slice(i, i + n).join(''));
  return out;
}

// ---- ROUGE-L (rouge-score's RougeScorer(['rougeL'], use_stemmer=False)) ----

/** rouge-score's default tokenizer without stemming: lowercase, then the runs of [a-z0-9]. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** ROUGE-L F-measure: the longest common subsequence of tokens over the output's length (precision) and the target's (recall). */
export function rougeL(output: string, target: string): number {
  const predicted = rougeTokens(output);
  const reference = rougeTokens(target);
  if (predicted.length === 0 || reference.length === 0) return 0;
  const lcs = lcsLength(reference, predicted);
  const precision = lcs / predicted.length;
  const recall = lcs / reference.length;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Length of the longest common subsequence, one table row at a time. */
function lcsLength(a: string[], b: string[]): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

// ---- the table ----

/** A prompt's figure for a metric: the mean of its per-example values and the mean's 95% interval. */
export interface MetricAggregate { value: number; interval: [number, number] }

export interface TextMetric {
  name: TextMetricName;
  /** As a column header or legend reads it. */
  title: string;
  description: string;
  higherIsBetter: true;
  /** The output's score against the target, 0 to 1. */
  perExample(output: string, target: string): number;
  /** The mean of a prompt's per-example values, with its 95% interval (throws on no values). */
  aggregate(values: readonly number[]): MetricAggregate;
}

/** A proportion of 0/1 outcomes: the Wilson interval, as a label task's accuracy has. */
function proportion(values: readonly number[]): MetricAggregate {
  if (values.length === 0) throw new RangeError('no values to aggregate');
  const successes = values.reduce((s, v) => s + v, 0);
  return { value: successes / values.length, interval: wilsonInterval(successes, values.length) };
}

/** A mean of scores in [0, 1]: a seeded percentile bootstrap (2000 resamples, seed 1), the same interval on every run. */
const bootstrapped = (values: readonly number[]): MetricAggregate => bootstrapMean(values);

export const TEXT_METRICS: readonly TextMetric[] = [
  {
    name: 'exactMatch', title: 'exact match', higherIsBetter: true, perExample: exactMatch, aggregate: proportion,
    description: 'The output equals the target after SQuAD normalization (case, punctuation, articles and extra spaces ignored).',
  },
  {
    name: 'tokenF1', title: 'token F1', higherIsBetter: true, perExample: tokenF1, aggregate: bootstrapped,
    description: 'SQuAD token F1: the overlap of the output\'s and the target\'s normalized words.',
  },
  {
    name: 'chrF', title: 'chrF', higherIsBetter: true, perExample: (output, target) => chrF(output, target), aggregate: bootstrapped,
    description: 'Character n-gram F-score (orders 1-6, recall weighted twice as much as precision), as sacrebleu computes it.',
  },
  {
    name: 'rougeL', title: 'ROUGE-L', higherIsBetter: true, perExample: rougeL, aggregate: bootstrapped,
    description: 'F-measure of the longest common subsequence of lowercase words, as rouge-score computes it (no stemming).',
  },
];

/** The text metrics' names, in table order. */
export const TEXT_METRIC_NAMES: readonly TextMetricName[] = TEXT_METRICS.map((m) => m.name);

export function isTextMetricName(name: string): name is TextMetricName {
  return (TEXT_METRIC_NAMES as readonly string[]).includes(name);
}

export function textMetric(name: TextMetricName): TextMetric {
  const metric = TEXT_METRICS.find((m) => m.name === name);
  if (!metric) throw new RangeError(`unknown text metric "${name}"; the text metrics are ${TEXT_METRIC_NAMES.join(', ')}`);
  return metric;
}

/** Every text metric of one output against its target, as a prediction records them. */
export function scoreText(output: string, target: string): Record<TextMetricName, number> {
  return Object.fromEntries(TEXT_METRICS.map((m) => [m.name, m.perExample(output, target)])) as Record<TextMetricName, number>;
}

/** Every figure a text-target result reports: the text metrics, the target's NLL and the assertions' pass rate. */
export type ReportedMetric = TextMetricName | 'nll' | 'passRate';

export interface MetricInfo { name: ReportedMetric; title: string; description: string; higherIsBetter: boolean }

const OTHER_METRICS: readonly MetricInfo[] = [
  { name: 'nll', title: 'NLL/token', higherIsBetter: false, description: 'The target\'s negative log-likelihood per token under the prompt (teacher-forced); lower is better.' },
  { name: 'passRate', title: 'pass rate', higherIsBetter: true, description: 'The share of (example, assertion) checks the outputs pass.' },
];

const INFO: ReadonlyMap<ReportedMetric, MetricInfo> = new Map([
  ...TEXT_METRICS.map(({ name, title, description, higherIsBetter }): [ReportedMetric, MetricInfo] => [name, { name, title, description, higherIsBetter }]),
  ...OTHER_METRICS.map((m): [ReportedMetric, MetricInfo] => [m.name, m]),
]);

/** Title, description and direction of any reported figure, for CLI and panel headers. */
export function metricInfo(name: ReportedMetric): MetricInfo {
  const info = INFO.get(name);
  if (!info) throw new RangeError(`unknown metric "${name}"; the metrics are ${[...INFO.keys()].join(', ')}`);
  return info;
}

/** The reported figures' titles, by name. */
export const METRIC_TITLES: Readonly<Record<ReportedMetric, string>> = Object.fromEntries([...INFO.values()].map((m) => [m.name, m.title])) as Record<ReportedMetric, string>;
