// The comparison panel for a text-target task: the results (exact match with its interval, token
// F1, chrF, ROUGE-L, NLL per token, the assertions' pass rate, what a request costs), each
// output against its target word by word (extra words struck through, missing words boxed, each
// with a tooltip, so colour is never the only sign), and the detail pane's figures and assertion
// verdicts. main.ts lays these out as it lays out a label task's.
import type { ComparisonData, ExampleCell, ExampleDetailPrompt, PromptSummary, SortMetric } from '../../src/common/protocol.js';
import type { AssertionResult, HeadlineMetric } from '../../src/common/run-files.js';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { cellMetric, passes } from '../../src/common/example-filter.js';
import { EXAMPLE_METRICS, headlineValue, improves, lowerIsBetter, metricTitle, metricValueText, type ExampleMetric } from '../../src/common/metric-titles.js';
import { differs, wordDiff } from '../../src/common/word-diff.js';
import { el } from '../common/vscode-api.js';
import { marked } from './marks.js';

/** A prompt's value of a headline or per-example metric, from its summary (null: not measured). */
export function summaryValue(p: PromptSummary, metric: HeadlineMetric): number | null {
  return headlineValue({ accuracy: p.accuracy, nll: p.nll, tokenF1: p.text?.tokenF1 ?? undefined, chrF: p.text?.chrF ?? undefined, rougeL: p.text?.rougeL ?? undefined, passRate: p.text?.passRate }, metric);
}

const intervalOf = (p: PromptSummary, metric: ExampleMetric | 'passRate') => (metric === 'exactMatch' ? p.accuracyInterval ?? p.text?.intervals.exactMatch : p.text?.intervals[metric]) ?? null;

/** A value with its 95% interval in words, for a tooltip. */
function intervalTitle(metric: ExampleMetric | 'passRate', p: PromptSummary): string {
  const iv = intervalOf(p, metric);
  const title = metricTitle(metric);
  return iv ? `${title}: 95% interval ${metricValueText(metric, iv[0])} to ${metricValueText(metric, iv[1])}` : title;
}

/** The cost figures every result may carry (absent from runs evaluated before they were measured). */
export const COST_COLUMNS: { name: string; title: string; value: (p: PromptSummary) => number | undefined; digits: number }[] = [
  { name: 'prompt tokens', title: 'mean input tokens per request: the soft prompt\'s tokens and k-shot demonstrations counted', value: (p) => p.promptTokens, digits: 1 },
  { name: 'output tokens', title: 'mean tokens generated per example', value: (p) => p.outputTokens, digits: 1 },
  { name: 'ms/example', title: 'measured milliseconds per example of this prompt\'s evaluation (scoring and generation)', value: (p) => p.msPerExample, digits: 1 },
];

/** The cost columns some prompt of the comparison has a figure for. */
export function costColumns(d: ComparisonData): typeof COST_COLUMNS {
  return COST_COLUMNS.filter((c) => d.prompts.some((p) => c.value(p) !== undefined));
}

export const bytes = (b: number) => (b === 0 ? '0' : b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 2 ** 20).toFixed(1)} MB`);

/**
 * A text target's results: one row per prompt, the headline metric's best row in bold. Each cell
 * names its column (data-label), so the rows become cards below 760 px as a label task's do. No
 * row is selected: a text target has no per-class figures to pick a prompt for.
 */
export function targetResultsTable(d: ComparisonData): HTMLElement {
  const headline = d.metric ?? 'exactMatch';
  const best = d.prompts.reduce<PromptSummary | undefined>((b, p) => (b === undefined || improves(headline, summaryValue(p, headline), summaryValue(b, headline)) ? p : b), undefined);
  const bestValue = best ? summaryValue(best, headline) : null;
  const withPassRate = d.prompts.some((p) => p.text?.passRate !== undefined);
  const costs = costColumns(d);
  const figures: ('exactMatch' | 'tokenF1' | 'chrF' | 'rougeL' | 'nll' | 'passRate')[] = [...EXAMPLE_METRICS, ...(withPassRate ? ['passRate' as const] : [])];
  const names = ['prompt', 'kind', ...figures.map((m) => metricTitle(m)), ...costs.map((c) => c.name), 'task params', 'stored'];
  const head = el('tr', {}, ...names.map((h, k) => {
    const metric = figures[k - 2];
    const isHeadline = metric === headline;
    const cost = costs[k - 2 - figures.length];
    return el('th', { scope: 'col', ...(k >= 2 ? { class: `num${isHeadline ? ' headline' : ''}${cost ? ' cost' : ''}` } : {}), ...(isHeadline ? { title: `the headline metric (evaluation.metric): the bold row is best${lowerIsBetter(headline) ? ' (lowest)' : ''}` } : cost ? { title: cost.title } : {}) }, h);
  }));
  const td = (k: number, attrs: Record<string, string>, ...content: (Node | string)[]) => el('td', { ...attrs, 'data-label': names[k] }, ...content);
  const rows = d.prompts.map((p) => {
    const value = summaryValue(p, headline);
    const row = el('tr', { class: bestValue !== null && value === bestValue ? 'best' : '', 'data-prompt': p.key },
      td(0, { class: 'prompt-name', ...(p.rendered !== undefined ? { title: `rendered for the first example:\n${p.rendered}` } : p.template ? { title: p.template } : {}) }, p.key),
      td(1, {}, el('span', { class: `kind ${p.kind}` }, p.kind)),
      ...figures.map((m, k) => {
        const v = summaryValue(p, m);
        const text = m === 'exactMatch' ? accuracyText(p.accuracy, intervalOf(p, m)) : metricValueText(m, v);
        return td(2 + k, { class: `num metric-${m}${m === headline ? ' headline' : ''}`, title: intervalTitle(m, p) }, text);
      }),
      ...costs.map((c, k) => td(2 + figures.length + k, { class: 'num cost', title: c.title }, c.value(p)?.toFixed(c.digits) ?? '')),
      td(2 + figures.length + costs.length, { class: 'num', title: 'task-specific parameters: 0 for text, n x d for a soft prompt, every weight for model tuning' }, p.taskParameters.toLocaleString('en-US')),
      td(3 + figures.length + costs.length, { class: 'num' }, bytes(p.taskParameters * 4)));
    return row;
  });
  return el('table', { class: 'results target', id: 'results' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/** The difference of an output from its target: extra words struck through, missing ones boxed, search hits marked. */
export function diffNodes(target: string, output: string, search: string, spoken = false): (Node | string)[] {
  const pieces = wordDiff(target, output);
  return pieces.map((piece) => {
    if (piece.kind === 'same') return el('span', {}, ...marked(piece.text, search));
    const extra = piece.kind === 'extra';
    // the words are said as what they are where a screen reader reads the detail pane
    const words = spoken ? [el('span', { class: 'sr-only' }, extra ? ' (extra: ' : ' (missing: '), ...marked(piece.text, search), el('span', { class: 'sr-only' }, ')')] : marked(piece.text, search);
    return el(extra ? 'del' : 'ins', { class: extra ? 'extra' : 'missing', title: extra ? 'in the output, not in the target' : 'in the target, missing from the output' }, ...words);
  });
}

/**
 * The short line under an output in the table: its token F1 in whole percent and its assertions
 * passed ("F1 67% · 1/2", as the legend above the table says); the tooltip and the detail pane
 * have every figure.
 */
export function cellFigures(c: ExampleCell): string {
  const parts: string[] = [];
  const f1 = c.metrics?.tokenF1;
  if (f1 !== undefined) parts.push(`F1 ${Math.round(100 * f1)}%`);
  if (c.assertions) parts.push(`${c.assertions.passed}/${c.assertions.total}`);
  return parts.join(' · ');
}

/** A text target's prompt cell in the examples table: ✓ or ✗ (passes), the output with its difference, its figures. */
export function targetCell(p: PromptSummary, c: ExampleCell, target: string, search: string): { nodes: (Node | string)[]; sub: (Node | string)[]; title: string; className: string; label: string } {
  const pass = passes(c);
  const verdict = pass ? 'right' : 'wrong';
  const output = c.prediction.replace(/\s+/g, ' ').trim();
  const figures = cellFigures(c);
  const tip = [`${p.key}: ${c.correct ? 'exact match' : 'not an exact match'}${c.assertions ? `, ${c.assertions.passed} of ${c.assertions.total} assertions pass` : ''}`, `output: ${c.prediction || '(empty)'}`, `target: ${target}`];
  for (const m of EXAMPLE_METRICS) if (m !== 'exactMatch' && c.metrics?.[m] !== undefined) tip.push(`${metricTitle(m)} ${metricValueText(m, c.metrics[m])}`);
  const diff = output ? diffNodes(target, output, search) : [el('span', { class: 'muted' }, '(empty)'), ...(target ? [' ', el('ins', { class: 'missing', title: 'in the target, missing from the output' }, target)] : [])];
  return {
    nodes: [el('span', { class: 'mark', 'aria-hidden': 'true' }, pass ? '✓' : '✗'), ' ', el('span', { class: 'output' }, ...diff)],
    sub: [figures],
    title: tip.join('\n'),
    className: `prediction output-cell ${verdict}${differs(wordDiff(target, output)) ? ' differs' : ''}`,
    label: `${pass ? 'passes' : 'fails'}: output ${c.prediction || 'empty'}${c.correct ? ', exact match' : `, target ${target}`}${c.metrics?.tokenF1 !== undefined ? `; token F1 ${Math.round(100 * c.metrics.tokenF1)}%` : ''}${c.assertions ? `; ${c.assertions.passed} of ${c.assertions.total} assertions pass` : ''}`,
  };
}

/** The sort menu's metrics for a text target, and what each sorts. */
export function sortMetricChoices(d: ComparisonData): [SortMetric, string][] {
  const out: [SortMetric, string][] = EXAMPLE_METRICS.map((m) => [m, lowerIsBetter(m) ? `${metricTitle(m)} (highest first)` : metricTitle(m)]);
  if (d.examples.some((r) => Object.values(r.cells).some((c) => c.assertions))) out.push(['assertions', 'assertions passed']);
  return out;
}

/** A text target's sort value of a cell in words, for a heading's tooltip. */
export function sortMetricText(metric: SortMetric, c: ExampleCell): string {
  const v = cellMetric(c, metric);
  if (v === null) return '';
  return metric === 'assertions' ? `${Math.round(100 * v)}% of assertions` : metricValueText(metric, v);
}

function assertionValue(a: AssertionResult): string {
  if (a.value === undefined) return '';
  if (typeof a.value === 'string') return JSON.stringify(a.value);
  if (Array.isArray(a.value)) return a.value.map((v) => JSON.stringify(v)).join(', ');
  return 'a JSON schema';
}

/** The detail pane's part for one text-target prompt: the output whole, its difference, every figure, every assertion's verdict. */
export function targetDetailParts(p: ExampleDetailPrompt, target: string, search: string): HTMLElement[] {
  const output = p.output ?? p.prediction;
  const parts: HTMLElement[] = [
    el('div', { class: 'output-block' }, el('div', { class: 'caption' }, 'output'), el('div', { class: 'output-text' }, ...(output ? marked(output, search) : [el('span', { class: 'muted' }, '(empty)')]))),
  ];
  if (!p.correct) parts.push(el('div', { class: 'output-block' }, el('div', { class: 'caption' }, 'against the target'), el('div', { class: 'diff-text' }, ...diffNodes(target, output, search, true))));
  const rows = EXAMPLE_METRICS.filter((m) => m === 'exactMatch' || p.metrics?.[m] !== undefined).map((m) => {
    const v = m === 'exactMatch' ? (p.metrics?.exactMatch ?? (p.correct ? 1 : 0)) : p.metrics![m]!;
    const text = m === 'exactMatch' ? (v === 1 ? 'yes' : 'no') : metricValueText(m, v);
    return el('tr', { 'data-metric': m }, el('th', { scope: 'row' }, metricTitle(m)), el('td', { class: 'num' }, text));
  });
  if (p.outputTokens !== undefined) rows.push(el('tr', {}, el('th', { scope: 'row' }, 'output tokens'), el('td', { class: 'num' }, String(p.outputTokens))));
  parts.push(el('table', { class: 'text-metrics' }, el('caption', {}, 'this output\'s figures'), el('tbody', {}, ...rows)));
  if (p.assertions?.length) {
    const items = p.assertions.map((a) => el('li', { class: a.pass ? 'pass' : 'fail' },
      el('span', { class: `verdict ${a.pass ? 'right' : 'wrong'}` }, a.pass ? '✓ pass' : '✗ fail'), ' ',
      el('code', {}, a.type), ...(a.value !== undefined ? [' ', el('span', { class: 'assert-value' }, assertionValue(a))] : []),
      ...(a.reason ? [el('div', { class: 'reason' }, a.reason)] : [])));
    parts.push(el('div', { class: 'assertions' }, el('div', { class: 'caption' }, `assertions: ${p.assertions.filter((a) => a.pass).length} of ${p.assertions.length} pass`), el('ul', {}, ...items)));
  }
  return parts;
}
