// Which example rows a comparison filter and search keep, their order, and where a search matches
// in a text. Pure: the webview bundles it too, and the host exports what the panel shows.
import type { ComparisonData, ExampleCell, ExampleFilter, ExampleRow, ExampleSort, PromptSummary, SortColumn, SortMetric } from './protocol.js';
import type { TaskKind } from './run-files.js';
import { normalizeAnswer } from './text-metrics.js';

export type { ExampleFilter, ExampleSort, SortColumn, SortMetric } from './protocol.js';

/**
 * Whether a prompt passes an example: a label task's right label; a text target's output passes
 * its assertions where it has any, else matches the target exactly.
 */
export function passes(c: ExampleCell): boolean {
  return c.assertions && c.assertions.total > 0 ? c.assertions.passed === c.assertions.total : c.correct;
}

/** Whether a text target's output falls short in any way: not an exact match, or an assertion failing. */
export function fallsShort(c: ExampleCell): boolean {
  return !c.correct || (c.assertions !== undefined && c.assertions.passed < c.assertions.total);
}

/** A filter in words, as the panel's menu and an export name it (a text target's prompts pass or fail). */
export function filterLabel(filter: ExampleFilter, task: TaskKind = 'label'): string {
  const target = task === 'target';
  if (filter === 'all') return 'All examples';
  if (filter === 'disagreements') return target ? 'Outputs differ' : 'Prompts disagree';
  if (filter === 'fails') return 'Fails: not exact, or an assertion fails';
  if (filter === 'soft-wrong') return target ? 'A soft prompt fails' : 'A soft prompt is wrong';
  if (filter === 'discrete-wrong') return target ? 'A discrete prompt fails' : 'A discrete prompt is wrong';
  if (filter.kind === 'wrong') return target ? `${filter.prompt} fails` : `${filter.prompt} is wrong`;
  if (filter.kind === 'rightWrong') return target ? `${filter.right} passes, ${filter.wrong} fails` : `${filter.right} right, ${filter.wrong} wrong`;
  if (filter.kind === 'allWrong') return target ? 'Every prompt fails' : 'Every prompt is wrong';
  return target ? 'No two outputs alike' : 'No two prompts agree';
}

/** The filter where every prompt it names is among `keys`, else 'all' (a panel state saved for other runs). */
export function validFilter(filter: unknown, keys: string[]): ExampleFilter {
  if (filter === 'all' || filter === 'disagreements' || filter === 'soft-wrong' || filter === 'discrete-wrong' || filter === 'fails') return filter;
  const f = filter as { kind?: string; prompt?: unknown; right?: unknown; wrong?: unknown } | null;
  if (f?.kind === 'allWrong' || f?.kind === 'allDisagree') return { kind: f.kind };
  if (f?.kind === 'wrong' && keys.includes(f.prompt as string)) return { kind: 'wrong', prompt: f.prompt as string };
  if (f?.kind === 'rightWrong' && keys.includes(f.right as string) && keys.includes(f.wrong as string) && f.right !== f.wrong) return { kind: 'rightWrong', right: f.right as string, wrong: f.wrong as string };
  return 'all';
}

/**
 * Whether a row passes a filter (`kinds`: each prompt key's kind). On a text target, outputs are
 * alike where exact match would call them equal, and a prompt is right where it passes.
 */
export function keepsRow(row: ExampleRow, filter: ExampleFilter, kinds: Map<string, PromptSummary['kind']>, task: TaskKind = 'label'): boolean {
  if (filter === 'all') return true;
  const cells = Object.entries(row.cells);
  const answer = task === 'target' ? (c: ExampleCell) => normalizeAnswer(c.prediction) : (c: ExampleCell) => c.prediction;
  if (filter === 'disagreements') return new Set(cells.map(([, c]) => answer(c))).size > 1;
  if (filter === 'fails') return cells.some(([, c]) => fallsShort(c));
  if (filter === 'soft-wrong') return cells.some(([k, c]) => kinds.get(k) !== 'discrete' && !passes(c));
  if (filter === 'discrete-wrong') return cells.some(([k, c]) => kinds.get(k) === 'discrete' && !passes(c));
  const cell = (key: string) => row.cells[key];
  if (filter.kind === 'wrong') return cell(filter.prompt) !== undefined && !passes(cell(filter.prompt));
  if (filter.kind === 'rightWrong') return cell(filter.right) !== undefined && passes(cell(filter.right)) && cell(filter.wrong) !== undefined && !passes(cell(filter.wrong));
  if (filter.kind === 'allWrong') return cells.length > 0 && cells.every(([, c]) => !passes(c));
  // no two alike: as many different predictions as prompts (two prompts at least)
  return cells.length > 1 && new Set(cells.map(([, c]) => answer(c))).size === cells.length;
}

/**
 * Whether a search matches a row: its input, its gold label (a text target's target), or a prompt's
 * generated text (a text target's output), case ignored.
 */
export function matchesSearch(row: ExampleRow, search: string, task: TaskKind = 'label'): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  if (row.input.toLowerCase().includes(needle) || row.gold.toLowerCase().includes(needle)) return true;
  for (const c of Object.values(row.cells)) {
    if (c.generated?.toLowerCase().includes(needle)) return true;
    if (task === 'target' && c.prediction.toLowerCase().includes(needle)) return true;
  }
  return false;
}

export function filterExamples(data: ComparisonData, filter: ExampleFilter, search: string): ExampleRow[] {
  const kinds = new Map(data.prompts.map((p) => [p.key, p.kind]));
  const task = data.task ?? 'label';
  return data.examples.filter((row) => keepsRow(row, filter, kinds, task) && matchesSearch(row, search, task));
}

/**
 * How surely a prompt chose the gold label: its log-probability less the best other label's.
 * Negative where another label scored higher (the prediction is wrong, more surely the lower);
 * null where no label was scored (a pipeline's stage one alone) or the gold is no label.
 */
export function goldMargin(scores: Record<string, number> | null | undefined, gold: string): number | null {
  if (!scores || !(gold in scores)) return null;
  let best = -Infinity;
  for (const [label, v] of Object.entries(scores)) if (label !== gold && v > best) best = v;
  return best === -Infinity ? null : scores[gold] - best;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** A cell's place in its column: wrong before right, then by the gold margin (no margin last of its group). */
function cellOrder(a: ExampleCell | undefined, b: ExampleCell | undefined): number {
  if (!a || !b) return a ? -1 : b ? 1 : 0;
  if (a.correct !== b.correct) return a.correct ? 1 : -1;
  const ma = a.margin ?? null;
  const mb = b.margin ?? null;
  if (ma === null || mb === null) return ma === null ? (mb === null ? 0 : 1) : -1;
  return ma - mb;
}

/** A text target's cell on a metric (null: not measured); exact match falls back to the cell's verdict. */
export function cellMetric(c: ExampleCell, metric: SortMetric): number | null {
  if (metric === 'assertions') return c.assertions && c.assertions.total > 0 ? c.assertions.passed / c.assertions.total : null;
  const v = c.metrics?.[metric];
  if (v !== undefined && Number.isFinite(v)) return v;
  return metric === 'exactMatch' ? (c.correct ? 1 : 0) : null;
}

/**
 * A text target's cells on a metric, worst first: the lowest share, or the highest NLL; not
 * measured last. Exact match, which most cells tie on, is broken by token F1.
 */
function metricOrder(metric: SortMetric): (a: ExampleCell | undefined, b: ExampleCell | undefined) => number {
  const badness = (c: ExampleCell, m: SortMetric) => {
    const v = cellMetric(c, m);
    return v === null ? null : m === 'nll' ? -v : v;
  };
  const by = (m: SortMetric) => (a: ExampleCell, b: ExampleCell) => {
    const x = badness(a, m);
    const y = badness(b, m);
    if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
    return x - y;
  };
  return (a, b) => {
    if (!a || !b) return a ? -1 : b ? 1 : 0;
    return by(metric)(a, b) || (metric === 'exactMatch' ? by('tokenF1')(a, b) : 0);
  };
}

/**
 * The rows in a column's order (a new array; ties keep file and line order). A prompt's column
 * ascending: the examples it gets most surely wrong first, those it gets most surely right last;
 * with a metric (text targets), its worst values first.
 */
export function sortExamples(rows: ExampleRow[], sort: ExampleSort | null | undefined): ExampleRow[] {
  if (!sort) return rows;
  const { column } = sort;
  const byPlace = (a: ExampleRow, b: ExampleRow) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1);
  const compare = column === 'line' ? byPlace
    : column === 'input' ? (a: ExampleRow, b: ExampleRow) => collator.compare(a.input, b.input)
      : column === 'gold' ? (a: ExampleRow, b: ExampleRow) => collator.compare(a.gold, b.gold)
        : column.metric ? ((order) => (a: ExampleRow, b: ExampleRow) => order(a.cells[column.prompt], b.cells[column.prompt]))(metricOrder(column.metric))
          : (a: ExampleRow, b: ExampleRow) => cellOrder(a.cells[column.prompt], b.cells[column.prompt]);
  const sign = sort.descending ? -1 : 1;
  return rows.slice().sort((a, b) => sign * compare(a, b) || byPlace(a, b));
}

/** The next sort when a column's heading is clicked: ascending, then descending, then none. */
export function nextSort(current: ExampleSort | null | undefined, column: SortColumn): ExampleSort | null {
  const same = current && JSON.stringify(current.column) === JSON.stringify(column);
  if (!same) return { column, descending: false };
  return current.descending ? null : { column, descending: true };
}

/** Where a search matches in a text: [start, end) ranges, case ignored, not overlapping. */
export function searchHits(text: string, search: string): [number, number][] {
  const needle = search.trim().toLowerCase();
  if (!needle) return [];
  const hay = text.toLowerCase();
  const out: [number, number][] = [];
  // lower-casing keeps the length of nearly every text; where it does not, offsets would drift
  if (hay.length !== text.length) return out;
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + needle.length)) out.push([at, at + needle.length]);
  return out;
}

/** A text cut at a search's hits: the pieces in order, each marked whether it is a hit. */
export function splitHits(text: string, search: string): { text: string; hit: boolean }[] {
  const out: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [s, e] of searchHits(text, search)) {
    if (s > at) out.push({ text: text.slice(at, s), hit: false });
    out.push({ text: text.slice(s, e), hit: true });
    at = e;
  }
  if (at < text.length || out.length === 0) out.push({ text: text.slice(at), hit: false });
  return out;
}
