// The comparison panel: discrete and soft prompts side by side. Results, confusion matrices,
// training curves, and the examples view: one column per prompt headed by its template, filters
// per prompt, sortable columns, search hits marked, keyboard navigation, virtual scrolling for
// 10k+ rows, and a detail pane for the selected example (its rendered prompts, every label's
// log-probability, the generated text). Reflows down to 600 px; colours follow the theme. A
// text-target task shows outputs against their targets instead of labels (target-view.ts).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { ComparisonData, ComparisonFromWebview, ComparisonToWebview, ExampleDetail, ExampleDetailPrompt, ExampleFilter, ExampleRow, ExampleSort, PromptSummary, SortMetric } from '../../src/common/protocol.js';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { filterExamples, filterLabel, nextSort, sortExamples, validFilter } from '../../src/common/example-filter.js';
import { lowerIsBetter, metricTitle } from '../../src/common/metric-titles.js';
import type { RenderedPrompt } from '../../src/common/prompt-render.js';
import { LineChart } from '../common/chart.js';
import { applyStatusColors, onThemeChange } from '../common/theme.js';
import { el, pct, vscodeApi } from '../common/vscode-api.js';
import { columnWidths, type ColumnNeed } from './layout.js';
import { labelShares } from './detail.js';
import { marked } from './marks.js';
import { bytes, costColumns, sortMetricChoices, targetCell, targetDetailParts, targetResultsTable } from './target-view.js';
import { VirtualTable, type Cell } from './virtual-table.js';
import './comparison.css';

/**
 * selected: the prompt whose per-class figures show; normalised: confusion rows as shares of their
 * gold class; example: the selected example (file#line); sort: the examples table's order;
 * sortMetric: what a text target's prompt column sorts by.
 */
interface State { runDirs: string[]; filter: ExampleFilter; search: string; scrollTop: number; selected?: string; normalised?: boolean; example?: string; sort?: ExampleSort | null; sortMetric?: SortMetric }

const api = vscodeApi<State, ComparisonFromWebview>();
let state: State = api.state() ?? { runDirs: [], filter: 'all', search: '', scrollTop: 0 };
let data: ComparisonData | null = null;
const app = document.getElementById('app')!;
applyStatusColors();
onThemeChange(applyStatusColors);

const exampleKey = (r: { file: string; line: number }) => `${r.file}#${r.line}`;
const isTarget = (d: ComparisonData) => d.task === 'target';

function resultsTable(d: ComparisonData): HTMLElement {
  if (isTarget(d)) return targetResultsTable(d);
  const best = Math.max(...d.prompts.map((p) => p.accuracy));
  // what a request costs, where the runs measured it
  const costs = costColumns(d);
  // a non-breaking hyphen: a wrapping heading keeps "macro-F1" whole
  const names = ['prompt', 'kind', 'accuracy', 'macro\u2011F1', 'NLL', 'AUC', 'exact match', ...d.labels.map((l) => `predicted ${l}`), ...costs.map((c) => c.name), 'task params', 'stored'];
  const costFrom = 7 + d.labels.length;
  const head = el('tr', {}, ...names.map((h, k) => el('th', { scope: 'col', ...(k >= costFrom && k < costFrom + costs.length ? { class: 'cost', title: costs[k - costFrom].title } : {}) }, h)));
  // each cell names its column: below 760 px the rows become cards that show the names
  const td = (k: number, attrs: Record<string, string>, ...content: (Node | string)[]) => el('td', { ...attrs, 'data-label': names[k] }, ...content);
  const rows = d.prompts.map((p) => el('tr', { class: p.accuracy === best ? 'best' : '', 'data-prompt': p.key },
    td(0, { class: 'prompt-name', ...(p.rendered !== undefined ? { title: `rendered for the first example:\n${p.rendered}` } : p.template ? { title: p.template } : {}) }, p.key), td(1, {}, el('span', { class: `kind ${p.kind}` }, p.kind)),
    td(2, { class: 'num accuracy', title: p.accuracyInterval ? 'accuracy (95% Wilson interval)' : 'accuracy' }, accuracyText(p.accuracy, p.accuracyInterval)), td(3, { class: 'num' }, p.macroF1 === null ? '' : p.macroF1.toFixed(3)), td(4, { class: 'num' }, p.nll === null ? '' : p.nll.toFixed(3)),
    td(5, { class: 'num', title: p.auc === null ? 'undefined here: a class with no examples, or no label scored' : d.labels.length > 2 ? 'one-vs-rest macro AUC' : '' }, p.auc === null ? '' : p.auc.toFixed(3)), td(6, { class: 'num' }, pct(p.exactMatch)),
    ...d.labels.map((l, k) => td(7 + k, { class: 'num' }, pct(p.predictedRate[l] ?? 0))),
    ...costs.map((c, k) => td(7 + d.labels.length + k, { class: 'num cost', title: c.title }, c.value(p)?.toFixed(c.digits) ?? '')),
    td(7 + d.labels.length + costs.length, { class: 'num', title: 'task-specific parameters: 0 for text, n x d for a soft prompt, every weight for model tuning' }, p.taskParameters.toLocaleString('en-US')),
    td(8 + d.labels.length + costs.length, { class: 'num' }, bytes(p.taskParameters * 4))));
  rows.forEach((row, k) => row.addEventListener('click', () => { state.selected = d.prompts[k].key; save(); renderPerClass(d); }));
  for (const row of rows) if (row.getAttribute('data-prompt') === selectedPrompt(d)?.key) row.classList.add('selected');
  return el('table', { class: 'results', id: 'results' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/** The prompt chosen in the panel, else the first soft prompt, else the first. */
function selectedPrompt(d: ComparisonData): PromptSummary | undefined {
  return d.prompts.find((p) => p.key === state.selected) ?? d.prompts.find((p) => p.kind === 'soft') ?? d.prompts[0];
}

const summaryHost = el('div', { class: 'summary' });
const perClassHost = el('div', { class: 'per-class-section' });

/** The results table (its selected row) and the per-class figures of the selected prompt. */
function renderPerClass(d: ComparisonData): void {
  summaryHost.replaceChildren(resultsTable(d));
  // a text target has no classes
  perClassHost.replaceChildren(...(isTarget(d) ? [] : perClassSection(d)));
}

/** Precision, recall, F1 and support per class for the selected prompt. */
function perClassSection(d: ComparisonData): HTMLElement[] {
  const chosen = selectedPrompt(d);
  if (!chosen) return [];
  const picker = el('vscode-single-select', { id: 'per-class-prompt', 'aria-label': 'Prompt' }) as HTMLElement & { value: string };
  for (const p of d.prompts) {
    const option = el('vscode-option', { value: p.key }, p.key);
    if (p.key === chosen.key) option.setAttribute('selected', '');
    picker.append(option);
  }
  picker.addEventListener('change', () => { state.selected = picker.value; save(); renderPerClass(d); });
  const body = chosen.perClass === null
    ? el('div', { class: 'muted' }, 'This run was evaluated before per-class figures were recorded; evaluate it again to see them.')
    : el('table', { class: 'per-class', id: 'per-class' },
      el('thead', {}, el('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((h, i) => el('th', i ? { class: 'num', scope: 'col' } : { scope: 'col' }, h)))),
      el('tbody', {}, ...chosen.perClass.map((k) => el('tr', {}, el('td', {}, k.label), el('td', { class: 'num' }, k.precision.toFixed(3)), el('td', { class: 'num' }, k.recall.toFixed(3)), el('td', { class: 'num' }, k.f1.toFixed(3)), el('td', { class: 'num' }, String(k.support))))));
  return [el('h3', {}, 'Per class'), el('div', { class: 'toolbar' }, picker), el('div', { class: 'table-scroll' }, body)];
}

function confusion(p: PromptSummary, labels: string[], normalised: boolean): HTMLElement {
  const max = Math.max(1, ...p.confusion.flat());
  const head = el('tr', {}, el('th', {}, 'gold \\ predicted'), ...labels.map((l) => el('th', {}, l)));
  const rows = p.confusion.map((row, g) => {
    // a row's share of its gold class; predictions naming no label are in no column, so a row may sum below 100%
    const goldCount = p.perClass?.[g]?.support ?? row.reduce((s, v) => s + v, 0);
    return el('tr', {}, el('th', {}, labels[g]), ...row.map((v, c) => {
      const share = goldCount === 0 ? 0 : v / goldCount;
      const cell = el('td', { class: `num ${g === c ? 'diag' : 'off'}`, title: normalised ? `${v} of ${goldCount}` : `${pct(share)} of ${labels[g]}` }, normalised ? pct(share) : String(v));
      cell.style.setProperty('--share', String(normalised ? share : v / max));
      return cell;
    }));
  });
  return el('div', { class: 'confusion' }, el('div', { class: 'caption' }, `${p.key} (${p.kind})`), el('div', { class: 'table-scroll' }, el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows))));
}

/** Counts or shares of each gold class: a switch beside the matrices' heading. */
function confusionToggle(): HTMLElement {
  const toggle = el('vscode-button', { secondary: '', id: 'confusion-normalised', 'aria-pressed': String(state.normalised === true) }, state.normalised ? 'Show counts' : 'Normalise rows (100%)');
  toggle.addEventListener('click', () => { state.normalised = !state.normalised; save(); render(); });
  return toggle;
}

function scaleSection(d: ComparisonData): HTMLElement[] {
  return (d.scale ?? []).flatMap((s) => {
    const img = el('img', { class: 'scale-chart', alt: 'accuracy against model size', src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(s.svg)))}` });
    const head = el('tr', {}, ...['model', 'parameters', 'prompt design', 'prompt tuning', 'model tuning'].map((h) => el('th', {}, h)));
    const rows = s.points.map((p) => el('tr', {}, el('td', {}, p.model.split(/[\\/]/).pop() ?? p.model), el('td', { class: 'num' }, p.params.toLocaleString('en-US')),
      el('td', { class: 'num' }, pct(p.promptDesign)), el('td', { class: 'num' }, pct(p.promptTuning)), el('td', { class: 'num' }, pct(p.modelTuning))));
    return [el('h3', {}, `Model scaling (${s.run})`), el('div', { class: 'scale' }, img, el('div', { class: 'table-scroll' }, el('table', { class: 'results', id: 'scale-points' }, el('thead', {}, head), el('tbody', {}, ...rows))))];
  });
}

/** Soft prompts with inspect.json: each prompt token's nearest vocabulary tokens and its label similarities. */
function nearestTokensSection(d: ComparisonData): HTMLElement[] {
  return (d.inspections ?? []).flatMap(({ prompt, report }) => {
    const labels = report.labels;
    const head = el('tr', {}, el('th', {}, 'token'), el('th', {}, `nearest ${report.top} (cosine)`), ...labels.map((l) => el('th', { class: 'num', title: `cosine with the mean embedding of "${l.text}"` }, l.label)));
    const rows = report.tokens.map((t) => el('tr', {},
      el('td', { class: 'num' }, String(t.index)),
      el('td', { class: 'neighbours' }, ...t.neighbours.map((nb) => el('span', { class: nb.label !== undefined ? 'neighbour label' : 'neighbour', title: `token ${nb.id}${nb.label !== undefined ? `, a token of label ${nb.label}` : ''}` }, `${JSON.stringify(nb.text)} ${nb.cosine.toFixed(2)}`))),
      ...labels.map((l) => el('td', { class: `num${t.nearestLabel?.label === l.label ? ' nearest' : ''}` }, l.similarities[t.index].toFixed(3)))));
    return [el('div', { class: 'caption' }, `${prompt}: ${report.summary}`), el('div', { class: 'table-scroll' }, el('table', { class: 'nearest-tokens' }, el('thead', {}, head), el('tbody', {}, ...rows)))];
  });
}

// ---- the examples view ----

let table: VirtualTable<ExampleRow> | null = null;
let shownRows: ExampleRow[] = [];
let charts: LineChart[] = [];
let tableResize: ResizeObserver | null = null;
const counter = el('span', { class: 'count', id: 'example-count', role: 'status' });
const detailHost = el('aside', { class: 'detail', id: 'example-detail', 'aria-label': 'Selected example' });
const detailCache = new Map<string, ExampleDetail | null>();
let detailTimer: ReturnType<typeof setTimeout> | undefined;

/** The filter menu's value for a filter (a prompt's own filters carry its key). */
function filterValue(f: ExampleFilter): string {
  return typeof f === 'string' ? f : f.kind === 'wrong' ? `wrong:${f.prompt}` : f.kind;
}

/** The filter a menu value means, with the pair of a rightWrong filter kept or chosen. */
function filterFrom(value: string, d: ComparisonData): ExampleFilter {
  if (value.startsWith('wrong:')) return { kind: 'wrong', prompt: value.slice('wrong:'.length) };
  if (value === 'rightWrong') {
    if (typeof state.filter === 'object' && state.filter.kind === 'rightWrong') return state.filter;
    const keys = d.prompts.map((p) => p.key);
    const right = d.prompts.find((p) => p.kind !== 'discrete')?.key ?? keys[0];
    const wrong = keys.find((k) => k !== right) ?? right;
    return { kind: 'rightWrong', right, wrong };
  }
  if (value === 'allWrong' || value === 'allDisagree') return { kind: value };
  return validFilter(value, []);
}

/** The filter menu: a label task's prompts are right or wrong, a text target's pass or fail. */
function filterChoices(d: ComparisonData): [string, string][] {
  const keys = d.prompts.map((p) => p.key);
  if (isTarget(d)) {
    const named: ExampleFilter[] = ['all', 'fails', 'disagreements', { kind: 'allWrong' }, 'soft-wrong', 'discrete-wrong', ...keys.map((prompt): ExampleFilter => ({ kind: 'wrong', prompt }))];
    return [
      ...named.map((f): [string, string] => [filterValue(f), filterLabel(f, 'target')]),
      ...(keys.length > 1 ? [['rightWrong', 'One prompt passes, another fails…'] as [string, string]] : []),
    ];
  }
  return [
    ['all', 'All examples'], ['disagreements', 'Prompts disagree'], ['allDisagree', 'No two prompts agree'], ['allWrong', 'Every prompt is wrong'],
    ['soft-wrong', 'A soft prompt is wrong'], ['discrete-wrong', 'A discrete prompt is wrong'],
    ...keys.map((k): [string, string] => [`wrong:${k}`, `${k} is wrong`]),
    ...(keys.length > 1 ? [['rightWrong', 'One prompt right, another wrong…'] as [string, string]] : []),
  ];
}

/** A text target's "sort prompts by" menu: what a click on a prompt's heading sorts by. */
function sortMetricPicker(d: ComparisonData): HTMLElement {
  const select = el('vscode-single-select', { id: 'sort-metric', 'aria-label': 'Sort a prompt\'s column by' }) as HTMLElement & { value: string };
  const current = state.sortMetric ?? 'exactMatch';
  for (const [value, label] of sortMetricChoices(d)) {
    const option = el('vscode-option', { value }, label);
    if (value === current) option.setAttribute('selected', '');
    select.append(option);
  }
  select.addEventListener('change', () => {
    state.sortMetric = select.value as SortMetric;
    // a prompt's column sorted already sorts again by the metric chosen
    const column = state.sort?.column;
    if (state.sort && typeof column === 'object') state.sort = { column: { prompt: column.prompt, metric: state.sortMetric }, descending: state.sort.descending };
    save();
    refreshTable();
  });
  return el('label', { class: 'pair' }, el('span', {}, 'sort prompts by'), select);
}

function filterBar(d: ComparisonData): HTMLElement {
  const bar = el('div', { class: 'toolbar filters' });
  const keys = d.prompts.map((p) => p.key);
  const select = el('vscode-single-select', { id: 'filter', 'aria-label': 'Filter examples' }) as HTMLElement & { value: string };
  const choices = filterChoices(d);
  for (const [value, label] of choices) {
    const option = el('vscode-option', { value }, label);
    if (value === filterValue(state.filter)) option.setAttribute('selected', '');
    select.append(option);
  }
  select.addEventListener('change', () => { state.filter = filterFrom(select.value, d); save(); bar.replaceWith(filterBar(d)); refreshTable(); });
  bar.append(select);
  const f = state.filter;
  if (typeof f === 'object' && f.kind === 'rightWrong') {
    const picker = (id: string, label: string, value: string, set: (k: string) => void) => {
      const s = el('vscode-single-select', { id, 'aria-label': label }) as HTMLElement & { value: string };
      for (const k of keys) {
        const option = el('vscode-option', { value: k }, k);
        if (k === value) option.setAttribute('selected', '');
        s.append(option);
      }
      s.addEventListener('change', () => { set(s.value); save(); refreshTable(); });
      return el('label', { class: 'pair' }, el('span', {}, label), s);
    };
    const [rightName, wrongName] = isTarget(d) ? ['passes', 'fails'] : ['right', 'wrong'];
    bar.append(picker('filter-right', rightName, f.right, (k) => { f.right = k; }), picker('filter-wrong', wrongName, f.wrong, (k) => { f.wrong = k; }));
  }
  if (isTarget(d)) bar.append(sortMetricPicker(d));
  const search = el('vscode-textfield', { id: 'search', placeholder: isTarget(d) ? 'Search inputs and outputs' : 'Search inputs and generated text', 'aria-label': isTarget(d) ? 'Search inputs, targets and outputs' : 'Search examples', value: state.search }) as HTMLElement & { value: string };
  search.addEventListener('input', () => { state.search = search.value; save(); refreshTable(); });
  const exportCsv = el('vscode-button', { secondary: '' }, 'Export CSV');
  exportCsv.addEventListener('click', () => api.post({ type: 'export', format: 'csv', filter: state.filter, search: state.search, sort: state.sort ?? null }));
  const exportMd = el('vscode-button', { secondary: '' }, 'Export Markdown');
  exportMd.addEventListener('click', () => api.post({ type: 'export', format: 'md', filter: state.filter, search: state.search, sort: state.sort ?? null }));
  bar.append(search, counter, exportCsv, exportMd);
  return bar;
}

/** A prompt's column heading: its key and kind, then its template; the tooltip holds the whole rendered prompt. */
function promptHeader(p: PromptSummary): { header: (Node | string)[]; title: string } {
  const header = [el('span', { class: 'col-key' }, p.key), el('span', { class: 'col-template' }, p.template ?? p.kind)];
  return { header, title: headerTitle(p, p.preview ?? null) };
}

function headerTitle(p: PromptSummary, shown: { line: number; text: string } | null): string {
  const metric = state.sortMetric ?? 'exactMatch';
  const sorts = data && isTarget(data)
    ? `click to sort by ${metric === 'assertions' ? 'assertions passed' : metricTitle(metric)}, its worst outputs first (${metric !== 'assertions' && lowerIsBetter(metric) ? 'highest' : 'lowest'}${metric === 'exactMatch' ? ', then by token F1' : ''}; "sort prompts by" picks the metric)`
    : 'click to sort, the examples it gets most surely wrong first (by the gold label\'s log-prob margin)';
  const lines = [`${p.key} (${p.kind}): ${sorts}`];
  if (p.template) lines.push(`template: ${p.template}`);
  if (shown) lines.push('', `rendered for line ${shown.line}:`, shown.text);
  return lines.join('\n');
}

/** The columns' sort keys, in the table's order. */
function sortColumns(d: ComparisonData): (ExampleSort['column'] | null)[] {
  const prompt = (key: string): ExampleSort['column'] => (isTarget(d) ? { prompt: key, metric: state.sortMetric ?? 'exactMatch' } : { prompt: key });
  return ['line', 'input', 'gold', ...d.prompts.map((p) => prompt(p.key)), ...d.prompts.filter((p) => p.kind === 'pipeline').map(() => null)];
}

/** The width of texts in the table's font (px), for the columns' minimums. */
function textWidth(texts: string[], font: string): number {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return 8 * Math.max(0, ...texts.map((t) => t.length));
  ctx.font = font;
  return Math.ceil(Math.max(0, ...texts.map((t) => ctx.measureText(t).width)));
}

function buildTable(d: ComparisonData, host: HTMLElement): VirtualTable<ExampleRow> {
  const prompts = d.prompts;
  // a pipeline also shows what its first stage wrote
  const stages = prompts.filter((p) => p.kind === 'pipeline');
  const generation = d.examples.some((r) => Object.values(r.cells).some((c) => c.generated !== undefined));
  const target = isTarget(d);
  const columns = [
    { header: ['line'], sortable: true, className: 'col-line', title: 'line in the data file: click to sort' },
    { header: ['input'], sortable: true, className: 'col-input', title: 'the record as data.text renders it: click to sort' },
    target
      ? { header: ['target'], sortable: true, className: 'col-gold col-target', title: 'the expected output (data.target): click to sort' }
      : { header: ['gold'], sortable: true, className: 'col-gold', title: 'the gold label: click to sort' },
    ...prompts.map((p) => ({ ...promptHeader(p), sortable: true, className: `col-prompt kind-${p.kind}` })),
    ...stages.map((p) => ({ header: [el('span', { class: 'col-key' }, `${p.key}: stage one`), el('span', { class: 'col-template' }, 'first stage text')], className: 'col-stage' })),
  ];
  const t = new VirtualTable<ExampleRow>(host, columns, (row) => (target ? targetExampleCells(row, prompts) : exampleCells(row, prompts, stages)), (row) => api.post({ type: 'openLine', file: row.file, line: row.line }), {
    // a text target's output takes two lines, its figures a third
    rowHeight: target ? 62 : generation || stages.length ? 42 : 26,
    label: 'Examples: arrow keys move, Enter opens the line in the data file',
    idPrefix: 'example',
    onSort: (i) => {
      const column = sortColumns(d)[i];
      if (!column) return;
      state.sort = nextSort(state.sort, column);
      save();
      refreshTable();
    },
  });
  const sizeColumns = () => {
    const font = getComputedStyle(t.table).font;
    const pad = 18;
    if (target) {
      // outputs wrap over two lines and share the room with the input; the target keeps its longest
      // word readable, and the detail pane shows every text whole
      const longestWord = (texts: string[]) => textWidth(texts.flatMap((x) => x.split(/\s+/)).slice(0, 5000), font);
      const targetMin = Math.min(160, Math.max(textWidth(['target'], font) + 12, longestWord(d.examples.map((r) => r.gold)))) + pad;
      const needs: ColumnNeed[] = [
        { min: textWidth([String(d.examples.reduce((m, r) => Math.max(m, r.line), 1)), 'line'], font) + pad + 12, grow: 0 },
        { min: 90, grow: 3 },
        { min: targetMin, max: 240, grow: 0.8 },
        ...prompts.map(() => ({ min: 96, max: 320, grow: 1.4 })),
      ];
      t.setWidths(columnWidths(Math.max(0, t.viewport.clientWidth - 2), needs));
      return;
    }
    const labels = [...d.labels, '(none)'];
    const predictionMin = textWidth(labels.map((l) => `✓ ${l}`), font) + pad + 6;
    const needs: ColumnNeed[] = [
      { min: textWidth([String(d.examples.reduce((m, r) => Math.max(m, r.line), 1)), 'line'], font) + pad + 12, grow: 0 },
      { min: 120, grow: 5 },
      { min: Math.max(textWidth(d.labels, font), textWidth(['gold'], font) + 12) + pad, grow: 0 },
      ...prompts.map(() => ({ min: Math.max(predictionMin, 76), max: generation ? 300 : 200, grow: generation ? 1.2 : 0.4 })),
      ...stages.map(() => ({ min: 100, max: 300, grow: 1 })),
    ];
    t.setWidths(columnWidths(Math.max(0, t.viewport.clientWidth - 2), needs));
  };
  tableResize?.disconnect();
  tableResize = new ResizeObserver(() => sizeColumns());
  tableResize.observe(t.viewport);
  sizeColumns();
  t.onSelect((row) => showDetail(row));
  return t;
}

function exampleCells(row: ExampleRow, prompts: PromptSummary[], stages: PromptSummary[]): Cell[] {
  const search = state.search;
  return [
    { text: String(row.line), className: 'num' },
    { nodes: marked(row.input, search), title: row.input, className: 'input' },
    { text: row.gold, className: 'gold' },
    ...prompts.map((p): Cell => {
      const c = row.cells[p.key];
      if (!c) return '';
      const verdict = c.correct ? 'right' : 'wrong';
      const tip = [`${p.key}: ${verdict}, predicted ${c.prediction || '(no label)'}`, c.score === null ? 'no label scored' : `log P = ${c.score.toFixed(3)}`];
      if (c.margin !== undefined && c.margin !== null) tip.push(`gold margin ${c.margin >= 0 ? '+' : ''}${c.margin.toFixed(3)}`);
      if (c.generated !== undefined) tip.push(`generated: ${c.generated}`);
      if (c.stage1 !== undefined) tip.push(`stage one: ${c.stage1}`);
      return {
        nodes: [el('span', { class: 'mark', 'aria-hidden': 'true' }, c.correct ? '✓' : '✗'), ' ', el('span', { class: 'pred' }, c.prediction || '(none)')],
        sub: c.generated !== undefined ? [el('span', { class: 'gen-label' }, '→ '), ...marked(c.generated.replace(/\s+/g, ' ').trim() || '(empty)', search)] : undefined,
        title: tip.join('\n'), className: `prediction ${verdict}`, label: `${verdict}: ${c.prediction || 'no label'}${c.generated !== undefined ? `; generated ${c.generated}` : ''}`,
      };
    }),
    ...stages.map((p): Cell => ({ nodes: marked(row.cells[p.key]?.stage1 ?? '', search), title: row.cells[p.key]?.stage1 ?? '', className: 'stage1' })),
  ];
}

/** A text target's row: the input, the target, and each prompt's output against it. */
function targetExampleCells(row: ExampleRow, prompts: PromptSummary[]): Cell[] {
  const search = state.search;
  return [
    { text: String(row.line), className: 'num' },
    { nodes: marked(row.input, search), title: row.input, className: 'input wrapped' },
    { nodes: marked(row.gold, search), title: `target: ${row.gold}`, className: 'gold target' },
    ...prompts.map((p): Cell => {
      const c = row.cells[p.key];
      return c ? targetCell(p, c, row.gold, search) : '';
    }),
  ];
}

function refreshTable(): void {
  if (!data || !table) return;
  state.filter = validFilter(state.filter, data.prompts.map((p) => p.key));
  shownRows = sortExamples(filterExamples(data, state.filter, state.search), state.sort);
  counter.textContent = `${shownRows.length} of ${data.examples.length}`;
  counter.title = filterLabel(state.filter);
  const at = state.example ? shownRows.findIndex((r) => exampleKey(r) === state.example) : -1;
  table.setRows(shownRows, at);
  const columns = sortColumns(data);
  const sortAt = state.sort ? columns.findIndex((c) => c !== null && JSON.stringify(c) === JSON.stringify(state.sort!.column)) : -1;
  table.setSort(sortAt, state.sort ? (state.sort.descending ? 'descending' : 'ascending') : 'none');
}

// ---- the detail pane ----

function showDetail(row: ExampleRow | undefined): void {
  if (!row) {
    // a selected example a filter or search hides stays selected, to come back when it shows again
    detailHost.replaceChildren(el('div', { class: 'muted hint' }, 'Select an example: click a row, or focus the table and use the arrow keys (Enter opens its line).'));
    return;
  }
  const key = exampleKey(row);
  state.example = key;
  save();
  if (detailCache.has(key)) {
    renderDetail(detailCache.get(key)!, row);
    return;
  }
  detailHost.setAttribute('aria-busy', 'true');
  detailHost.classList.add('loading');
  // arrow keys held down select many rows: ask for the one it rests on
  clearTimeout(detailTimer);
  detailTimer = setTimeout(() => api.post({ type: 'detail', file: row.file, line: row.line }), 60);
}

function renderedPrompt(r: RenderedPrompt, search: string): HTMLElement {
  const pre = el('pre', { class: 'rendered' });
  for (const part of r.parts) {
    const body = marked(part.text, search);
    if (part.kind === 'query' || part.kind === 'separator') pre.append(...body);
    else pre.append(el('span', { class: `part ${part.kind}`, ...(part.kind === 'shot' && part.line !== undefined ? { title: `demonstration: line ${part.line} of the train file` } : {}) }, ...body));
  }
  return pre;
}

function scoreChart(p: ExampleDetailPrompt, gold: string, labels: string[]): HTMLElement {
  if (!p.scores) return el('div', { class: 'muted' }, 'No label scored (judged by its generated text alone).');
  const order = labels.filter((l) => l in p.scores!);
  const shares = labelShares(p.scores);
  const rows = order.map((l) => {
    const bar = el('div', { class: 'bar' });
    bar.style.width = `${(100 * shares[l]).toFixed(1)}%`;
    const marks = [l === gold ? 'gold' : '', l === p.prediction ? 'predicted' : ''].filter(Boolean);
    return el('tr', { class: marks.join(' ') },
      el('th', { scope: 'row' }, l, ...marks.map((m) => el('span', { class: `tag ${m}` }, m))),
      el('td', { class: 'bar-cell', 'aria-hidden': 'true' }, el('div', { class: 'track' }, bar)),
      el('td', { class: 'num', title: `${pct(shares[l])} of the probability the labels share` }, p.scores![l].toFixed(3)));
  });
  return el('table', { class: 'label-scores' }, el('caption', {}, 'log P of each label (bars: its share among the labels)'), el('tbody', {}, ...rows));
}

function renderDetail(detail: ExampleDetail | null, row: ExampleRow): void {
  detailHost.removeAttribute('aria-busy');
  detailHost.classList.remove('loading');
  if (!data) return;
  if (!detail) {
    detailHost.replaceChildren(el('div', { class: 'muted' }, `No detail for line ${row.line}.`));
    return;
  }
  const search = state.search;
  const target = isTarget(data);
  const open = el('vscode-button', { secondary: '', id: 'open-line' }, 'Open line');
  open.addEventListener('click', () => api.post({ type: 'openLine', file: detail.file, line: detail.line }));
  const prompts = detail.prompts.map((p) => {
    const assertions = p.assertions?.length ? { passed: p.assertions.filter((a) => a.pass).length, total: p.assertions.length } : null;
    // a text target's prompt passes its assertions where it has any, else the exact match
    const pass = assertions ? assertions.passed === assertions.total : p.correct;
    const verdict = pass ? 'right' : 'wrong';
    const summary = data!.prompts.find((q) => q.key === p.key);
    const head = target
      ? [el('span', { class: `verdict ${p.correct ? 'right' : 'wrong'}` }, p.correct ? '✓ exact match' : '✗ not exact'), ...(assertions ? [el('span', { class: `verdict ${pass ? 'right' : 'wrong'}` }, `${pass ? '✓' : '✗'} ${assertions.passed}/${assertions.total} assertions`)] : [])]
      : [el('span', { class: `verdict ${verdict}` }, `${p.correct ? '✓' : '✗'} ${p.prediction || '(no label)'}`)];
    const parts: HTMLElement[] = [
      el('div', { class: 'detail-prompt-head' }, el('span', { class: 'key' }, p.key), el('span', { class: `kind ${p.kind}` }, p.kind), ...head),
      ...(target ? targetDetailParts(p, detail.gold, search) : [scoreChart(p, detail.gold, data!.labels)]),
    ];
    if (p.generated !== undefined) parts.push(el('div', { class: 'generated' }, el('span', { class: 'muted' }, 'generated '), el('q', {}, ...marked(p.generated, search))));
    if (p.stage1 !== undefined) parts.push(el('div', { class: 'generated' }, el('span', { class: 'muted' }, 'stage one '), el('q', {}, ...marked(p.stage1, search))));
    if (p.prompt) {
      const shots = p.prompt.parts.filter((x) => x.kind === 'shot' && x.line !== undefined).length;
      parts.push(el('details', { class: 'prompt-text', open: '' }, el('summary', {}, `rendered prompt${shots ? ` (${shots} demonstrations)` : ''}`), renderedPrompt(p.prompt, search), ...(p.prompt.note ? [el('div', { class: 'note muted' }, p.prompt.note)] : [])));
    } else if (summary?.rendered) parts.push(el('div', { class: 'muted' }, 'The run\'s spec does not describe this prompt.'));
    return el('section', { class: `detail-prompt ${verdict}`, 'data-prompt': p.key }, ...parts);
  });
  detailHost.replaceChildren(
    el('div', { class: 'detail-head' }, el('h4', {}, `Line ${detail.line}`), ...(target ? [open] : [el('span', { class: 'gold-label' }, 'gold ', el('b', {}, detail.gold)), open])),
    el('div', { class: 'detail-input' }, ...marked(detail.input, search)),
    // a target can be long: it gets a block of its own, whole
    ...(target ? [el('div', { class: 'output-block detail-target' }, el('div', { class: 'caption' }, 'target'), el('div', { class: 'target-text' }, ...marked(detail.gold, search)))] : []),
    ...prompts,
  );
  // the column headings' tooltips show the prompts rendered for this example
  if (table) data.prompts.forEach((p, i) => {
    const d = detail.prompts.find((q) => q.key === p.key);
    if (d?.prompt) table!.headerCell(3 + i).title = headerTitle(p, { line: detail.line, text: d.prompt.parts.map((x) => x.text).join('') });
  });
}

/** What the marks of a text target's outputs mean, above its examples. */
function diffLegend(d: ComparisonData): HTMLElement {
  const assertions = d.examples.some((r) => Object.values(r.cells).some((c) => c.assertions));
  return el('div', { class: 'diff-legend muted', id: 'diff-legend' },
    `✓ passes (${assertions ? 'every assertion, or an exact match where a prompt has none' : 'an exact match'}), ✗ fails · `,
    el('del', { class: 'extra' }, 'struck'), ': in the output, not the target · ',
    el('ins', { class: 'missing' }, 'boxed'), ': in the target, missing from the output · F1: token F1',
    ...(assertions ? [' · 1/2: assertions passed'] : []));
}

// ---- the whole panel ----

function render(): void {
  if (!data) return;
  const d = data;
  for (const c of charts) c.dispose();
  charts = [];
  if (d.prompts.length === 0) {
    app.replaceChildren(el('h2', {}, 'Model scaling'), ...scaleSection(d));
    return;
  }
  state.filter = validFilter(state.filter, d.prompts.map((p) => p.key));
  const chartsHost = el('div', { class: 'charts', id: 'charts' });
  const runsLine = d.runs.map((r) => `${r.id} (${r.split}: ${r.file.split(/[\\/]/).pop()})`).join(', ');
  const tableHost = el('div', { class: 'examples', id: 'examples' });
  renderPerClass(d);
  app.replaceChildren(
    el('h2', {}, 'Discrete and soft prompts'),
    el('div', { class: 'runs' }, runsLine),
    summaryHost,
    ...scaleSection(d),
    ...(d.inspections?.length ? [el('h3', {}, 'Nearest tokens'), el('div', { class: 'inspections', id: 'nearest-tokens' }, ...nearestTokensSection(d))] : []),
    perClassHost,
    // a text target has no classes to confuse
    ...(isTarget(d) ? [] : [
      el('div', { class: 'section-head' }, el('h3', {}, 'Confusion matrices'), confusionToggle()),
      el('div', { class: 'confusions' }, ...d.prompts.map((p) => confusion(p, d.labels, state.normalised === true))),
    ]),
    el('h3', {}, 'Training'),
    chartsHost,
    el('h3', { id: 'examples-heading' }, 'Examples'),
    filterBar(d),
    ...(isTarget(d) ? [diffLegend(d)] : []),
    el('div', { class: 'examples-layout' }, tableHost, detailHost),
  );
  const curves = d.curves.filter((c) => c.loss.length);
  if (curves.length) {
    const lossHost = el('div', { class: 'chart', id: 'chart-loss' });
    const accHost = el('div', { class: 'chart', id: 'chart-accuracy' });
    chartsHost.append(lossHost, accHost);
    // a text target's runs stop early on their headline metric: the dev curve is that metric
    const devMetric = curves.find((c) => c.devMetric)?.devMetric?.name;
    const loss = new LineChart(lossHost, 'training loss');
    const acc = new LineChart(accHost, `dev ${devMetric ? metricTitle(devMetric) : 'accuracy'}`);
    charts.push(loss, acc);
    loss.render(curves.map((c) => ({ label: c.run, points: c.loss })));
    const dev = curves.map((c) => (c.devMetric ? { label: c.run, points: c.devMetric.points, percent: !lowerIsBetter(c.devMetric.name) } : { label: c.run, points: c.devAccuracy, percent: true }));
    acc.render(dev.filter((c) => c.points.length));
  } else chartsHost.append(el('div', { class: 'muted' }, 'No training curves (evaluation-only runs).'));

  table = buildTable(d, tableHost);
  refreshTable();
  table.scrollTo(state.scrollTop);
  table.onScroll((top) => { state.scrollTop = top; save(); });
  if (table.selectedIndex < 0) showDetail(undefined);
}

function save(): void { api.save(state); }

window.addEventListener('message', (event: MessageEvent<ComparisonToWebview>) => {
  const m = event.data;
  if (m.type === 'data') {
    data = m.data;
    detailCache.clear();
    state.runDirs = m.runDirs;
    save();
    render();
  } else if (m.type === 'detail') {
    const key = exampleKey(m);
    detailCache.set(key, m.detail);
    if (detailCache.size > 200) detailCache.delete(detailCache.keys().next().value!);
    const row = table?.selectedRow;
    if (row && exampleKey(row) === key) renderDetail(m.detail, row);
  }
});
api.post({ type: 'ready' });
