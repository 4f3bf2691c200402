// The comparison panel: discrete and soft prompts side by side. Results, confusion matrices,
// training curves, and a per-example table (filters, search, virtual scrolling for 10k+ rows).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { ComparisonData, ComparisonFromWebview, ComparisonToWebview, ExampleRow, PromptSummary } from '../../src/common/protocol.js';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { filterExamples, type ExampleFilter } from '../../src/common/example-filter.js';
import { LineChart } from '../common/chart.js';
import { el, pct, vscodeApi } from '../common/vscode-api.js';
import { VirtualTable } from './virtual-table.js';
import './comparison.css';

type Filter = ExampleFilter;
/** selected: the prompt whose per-class figures show; normalised: confusion rows as shares of their gold class. */
interface State { runDirs: string[]; filter: Filter; search: string; scrollTop: number; selected?: string; normalised?: boolean }

const api = vscodeApi<State, ComparisonFromWebview>();
let state: State = api.state() ?? { runDirs: [], filter: 'all', search: '', scrollTop: 0 };
let data: ComparisonData | null = null;
const app = document.getElementById('app')!;

const bytes = (b: number) => (b === 0 ? '0' : b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KB` : `${(b / 2 ** 20).toFixed(1)} MB`);

function resultsTable(d: ComparisonData): HTMLElement {
  const best = Math.max(...d.prompts.map((p) => p.accuracy));
  const head = el('tr', {}, ...['prompt', 'kind', 'accuracy', 'macro-F1', 'NLL', 'AUC', 'exact match', ...d.labels.map((l) => `predicted ${l}`), 'task params', 'stored'].map((h) => el('th', {}, h)));
  const rows = d.prompts.map((p) => el('tr', { class: p.accuracy === best ? 'best' : '', 'data-prompt': p.key },
    el('td', p.rendered !== undefined ? { title: `rendered for the first example:\n${p.rendered}` } : {}, p.key), el('td', {}, el('span', { class: `kind ${p.kind}` }, p.kind)),
    el('td', { class: 'num accuracy', title: p.accuracyInterval ? 'accuracy (95% Wilson interval)' : 'accuracy' }, accuracyText(p.accuracy, p.accuracyInterval)), el('td', { class: 'num' }, p.macroF1.toFixed(3)), el('td', { class: 'num' }, p.nll === null ? '' : p.nll.toFixed(3)),
    el('td', { class: 'num', title: p.auc === null ? 'undefined here: a class with no examples, or no label scored' : d.labels.length > 2 ? 'one-vs-rest macro AUC' : '' }, p.auc === null ? '' : p.auc.toFixed(3)), el('td', { class: 'num' }, pct(p.exactMatch)),
    ...d.labels.map((l) => el('td', { class: 'num' }, pct(p.predictedRate[l] ?? 0))),
    el('td', { class: 'num', title: 'task-specific parameters: 0 for text, n x d for a soft prompt, every weight for model tuning' }, p.taskParameters.toLocaleString('en-US')),
    el('td', { class: 'num' }, bytes(p.taskParameters * 4))));
  rows.forEach((row, k) => row.addEventListener('click', () => { state.selected = d.prompts[k].key; save(); render(); }));
  for (const row of rows) if (row.getAttribute('data-prompt') === selectedPrompt(d)?.key) row.classList.add('selected');
  return el('table', { class: 'results', id: 'results' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/** The prompt chosen in the panel, else the first soft prompt, else the first. */
function selectedPrompt(d: ComparisonData): PromptSummary | undefined {
  return d.prompts.find((p) => p.key === state.selected) ?? d.prompts.find((p) => p.kind === 'soft') ?? d.prompts[0];
}

/** Precision, recall, F1 and support per class for the selected prompt. */
function perClassSection(d: ComparisonData): HTMLElement[] {
  const chosen = selectedPrompt(d);
  if (!chosen) return [];
  const picker = el('vscode-single-select', { id: 'per-class-prompt' }) as HTMLElement & { value: string };
  for (const p of d.prompts) {
    const option = el('vscode-option', { value: p.key }, p.key);
    if (p.key === chosen.key) option.setAttribute('selected', '');
    picker.append(option);
  }
  picker.addEventListener('change', () => { state.selected = picker.value; save(); render(); });
  const body = chosen.perClass === null
    ? el('div', { class: 'muted' }, 'This run was evaluated before per-class figures were recorded; evaluate it again to see them.')
    : el('table', { class: 'per-class', id: 'per-class' },
      el('thead', {}, el('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((h, i) => el('th', i ? { class: 'num' } : {}, h)))),
      el('tbody', {}, ...chosen.perClass.map((k) => el('tr', {}, el('td', {}, k.label), el('td', { class: 'num' }, k.precision.toFixed(3)), el('td', { class: 'num' }, k.recall.toFixed(3)), el('td', { class: 'num' }, k.f1.toFixed(3)), el('td', { class: 'num' }, String(k.support))))));
  return [el('h3', {}, 'Per class'), el('div', { class: 'toolbar' }, picker), body];
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
  return el('div', { class: 'confusion' }, el('div', { class: 'caption' }, `${p.key} (${p.kind})`), el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)));
}

/** Counts or shares of each gold class: a switch beside the matrices' heading. */
function confusionToggle(): HTMLElement {
  const toggle = el('vscode-button', { secondary: '', id: 'confusion-normalised', 'aria-pressed': String(state.normalised === true) }, state.normalised ? 'Show counts' : 'Normalise rows (100%)');
  toggle.addEventListener('click', () => { state.normalised = !state.normalised; save(); render(); });
  return toggle;
}

const filtered = (d: ComparisonData) => filterExamples(d, state.filter, state.search);

let table: VirtualTable<ExampleRow> | null = null;
const counter = el('span', { class: 'count', id: 'example-count' });

function scaleSection(d: ComparisonData): HTMLElement[] {
  return (d.scale ?? []).flatMap((s) => {
    const img = el('img', { class: 'scale-chart', alt: 'accuracy against model size', src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(s.svg)))}` });
    const head = el('tr', {}, ...['model', 'parameters', 'prompt design', 'prompt tuning', 'model tuning'].map((h) => el('th', {}, h)));
    const rows = s.points.map((p) => el('tr', {}, el('td', {}, p.model.split(/[\\/]/).pop() ?? p.model), el('td', { class: 'num' }, p.params.toLocaleString('en-US')),
      el('td', { class: 'num' }, pct(p.promptDesign)), el('td', { class: 'num' }, pct(p.promptTuning)), el('td', { class: 'num' }, pct(p.modelTuning))));
    return [el('h3', {}, `Model scaling (${s.run})`), el('div', { class: 'scale' }, img, el('table', { class: 'results', id: 'scale-points' }, el('thead', {}, head), el('tbody', {}, ...rows)))];
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
    return [el('div', { class: 'caption' }, `${prompt}: ${report.summary}`), el('table', { class: 'nearest-tokens' }, el('thead', {}, head), el('tbody', {}, ...rows))];
  });
}

function render(): void {
  if (!data) return;
  const d = data;
  if (d.prompts.length === 0) {
    app.replaceChildren(el('h2', {}, 'Model scaling'), ...scaleSection(d));
    return;
  }
  const charts = el('div', { class: 'charts' });
  const runsLine = d.runs.map((r) => `${r.id} (${r.split}: ${r.file.split(/[\\/]/).pop()})`).join(', ');
  const filter = el('vscode-single-select', { id: 'filter' }) as HTMLElement & { value: string };
  for (const [value, label] of [['all', 'All examples'], ['disagreements', 'Prompts disagree'], ['soft-wrong', 'A soft prompt is wrong'], ['discrete-wrong', 'A discrete prompt is wrong']]) {
    const option = el('vscode-option', { value }, label);
    if (value === state.filter) option.setAttribute('selected', '');
    filter.append(option);
  }
  filter.addEventListener('change', () => { state.filter = filter.value as Filter; save(); refreshTable(); });
  const search = el('vscode-textfield', { id: 'search', placeholder: 'Search inputs', value: state.search }) as HTMLElement & { value: string };
  search.addEventListener('input', () => { state.search = search.value; save(); refreshTable(); });
  const exportCsv = el('vscode-button', { secondary: '' }, 'Export CSV');
  exportCsv.addEventListener('click', () => api.post({ type: 'export', format: 'csv', filter: state.filter, search: state.search }));
  const exportMd = el('vscode-button', { secondary: '' }, 'Export Markdown');
  exportMd.addEventListener('click', () => api.post({ type: 'export', format: 'md', filter: state.filter, search: state.search }));
  const tableHost = el('div', { class: 'examples', id: 'examples' });
  app.replaceChildren(
    el('h2', {}, 'Discrete and soft prompts'),
    el('div', { class: 'runs' }, runsLine),
    resultsTable(d),
    ...scaleSection(d),
    ...(d.inspections?.length ? [el('h3', {}, 'Nearest tokens'), el('div', { class: 'inspections', id: 'nearest-tokens' }, ...nearestTokensSection(d))] : []),
    ...perClassSection(d),
    el('div', { class: 'section-head' }, el('h3', {}, 'Confusion matrices'), confusionToggle()),
    el('div', { class: 'confusions' }, ...d.prompts.map((p) => confusion(p, d.labels, state.normalised === true))),
    el('h3', {}, 'Training'),
    charts,
    el('h3', {}, 'Examples'),
    el('div', { class: 'toolbar' }, filter, search, counter, exportCsv, exportMd),
    tableHost,
  );
  const curves = d.curves.filter((c) => c.loss.length);
  if (curves.length) {
    const lossHost = el('div', { class: 'chart' });
    const accHost = el('div', { class: 'chart' });
    charts.append(lossHost, accHost);
    new LineChart(lossHost, 'training loss').render(curves.map((c) => ({ label: c.run, points: c.loss })));
    new LineChart(accHost, 'dev accuracy').render(curves.filter((c) => c.devAccuracy.length).map((c) => ({ label: c.run, points: c.devAccuracy, percent: true })));
  } else charts.append(el('div', { class: 'muted' }, 'No training curves (evaluation-only runs).'));

  const keys = d.prompts.map((p) => p.key);
  // a pipeline also shows what its first stage wrote
  const stageKeys = d.prompts.filter((p) => p.kind === 'pipeline').map((p) => p.key);
  const t = new VirtualTable<ExampleRow>(tableHost, ['line', 'input', 'gold', ...keys, ...stageKeys.map((k) => `${k}: stage one`)], (row: ExampleRow) => [
    String(row.line), row.input, row.gold,
    ...keys.map((k) => {
      const c = row.cells[k];
      return c ? { text: `${c.correct ? '✓' : '✗'} ${c.prediction}`, title: `${c.score === null ? 'no label scored' : `log P = ${c.score.toFixed(3)}`}${c.generated !== undefined ? `\ngenerated: ${c.generated}` : ''}${c.stage1 !== undefined ? `\nstage one: ${c.stage1}` : ''}`, className: c.correct ? 'right' : 'wrong' } : '';
    }),
    ...stageKeys.map((k) => ({ text: row.cells[k]?.stage1 ?? '', title: row.cells[k]?.stage1 ?? '', className: 'stage1' })),
  ], (row) => api.post({ type: 'openLine', file: row.file, line: row.line }));
  table = t;
  refreshTable();
  t.scrollTo(state.scrollTop);
  t.onScroll((top) => { state.scrollTop = top; save(); });
}

function refreshTable(): void {
  if (!data || !table) return;
  const rows = filtered(data);
  counter.textContent = `${rows.length} of ${data.examples.length}`;
  table.setRows(rows);
}

function save(): void { api.save(state); }

window.addEventListener('message', (event: MessageEvent<ComparisonToWebview>) => {
  if (event.data.type === 'data') {
    data = event.data.data;
    state.runDirs = event.data.runDirs;
    save();
    render();
  }
});
window.addEventListener('resize', () => table?.layout());
api.post({ type: 'ready' });
