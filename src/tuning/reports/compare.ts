// Comparison tables of finished runs: one row per (run, prompt), as Markdown, CSV or JSON.
import { accuracyText } from '../../common/accuracy-text.js';
import { InputError } from '../../common/errors.js';
import { continueCommand, effectiveStatus, interruptionReason, RunDir } from '../../common/run-folder.js';
import type { TaskKind } from '../../common/run-files.js';

export interface ComparisonRow {
  run: string; split: string; id: string; kind: string;
  /** 'target': a text-target task, whose accuracy is exact match (absent: label). */
  task?: TaskKind;
  accuracy: number;
  /** 95% Wilson interval; null: a run evaluated before eval.json held it. */
  accuracyInterval: [number, number] | null;
  /** null: a text target (label tasks only). */
  macroF1: number | null;
  /** null: no label scored (a pipeline's stage one alone); per token for a text target. */
  nll: number | null; auc: number | null; exactMatch: number | null;
  /** Text targets (null otherwise): the text metrics' means and the assertions' pass rate (null without assertions). */
  tokenF1?: number | null; chrF?: number | null; rougeL?: number | null; passRate?: number | null;
  /** What a request costs: input tokens (soft prompt included), output tokens, ms per example; null in older runs. */
  promptTokens?: number | null; outputTokens?: number | null; msPerExample?: number | null;
  count: number; taskParameters: number;
}

export function comparisonRows(runDirs: string[]): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const dir of runDirs) {
    const run = RunDir.open(dir);
    if (!run.has('eval.json')) {
      const record = run.record;
      const status = effectiveStatus(record);
      const why = status === 'interrupted' ? `interrupted: ${interruptionReason(record)}; ${continueCommand(record, run.dir)}`
        : status === 'running' ? 'still running' : `status ${status}${record.error ? `: ${record.error}` : ''}${status === 'cancelled' ? `; ${continueCommand(record, run.dir)}` : ''}`;
      throw new InputError(`${run.dir}: the run has no eval.json yet (${why})`, { file: run.path('run.json') });
    }
    const ev = run.readEval();
    for (const r of ev.results) {
      rows.push({
        run: run.id, split: ev.split, id: r.id, kind: r.kind, task: ev.task ?? 'label', accuracy: r.accuracy, accuracyInterval: r.accuracyInterval ?? null,
        macroF1: r.macroF1 ?? null, nll: r.nll, auc: r.auc ?? null, exactMatch: r.exactMatch ?? null,
        tokenF1: r.tokenF1 ?? null, chrF: r.chrF ?? null, rougeL: r.rougeL ?? null, passRate: r.passRate ?? null,
        promptTokens: r.promptTokens ?? null, outputTokens: r.outputTokens ?? null, msPerExample: r.msPerExample ?? null,
        count: r.count, taskParameters: r.taskParameters ?? 0,
      });
    }
  }
  return rows;
}

const pct = (v: number | null) => (v === null ? '' : `${(100 * v).toFixed(1)}%`);

/** A table column: its heading and a row's cell (a CSV splits an interval into its own columns). */
interface Column { header: string; cell(r: ComparisonRow): string; csv?: { header: string; cell(r: ComparisonRow): string }[] }

const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '' : v.toFixed(digits));
const percent = (v: number | null | undefined) => pct(v ?? null);
const taskOf = (r: ComparisonRow): TaskKind => r.task ?? 'label';

/**
 * The columns for these rows: a label task's (accuracy, macro-F1, NLL, AUC, exact match of
 * generation) and a text target's (exact match, token F1, chrF, ROUGE-L, pass rate, NLL per token),
 * whichever the rows have, then what a request costs.
 */
function columns(rows: ComparisonRow[]): Column[] {
  const labels = rows.some((r) => taskOf(r) === 'label');
  const targets = rows.some((r) => taskOf(r) === 'target');
  const interval = (name: string) => [
    { header: name, cell: (r: ComparisonRow) => pct(r.accuracy) },
    { header: `${name} 95% low`, cell: (r: ComparisonRow) => pct(r.accuracyInterval?.[0] ?? null) },
    { header: `${name} 95% high`, cell: (r: ComparisonRow) => pct(r.accuracyInterval?.[1] ?? null) },
  ];
  const onlyFor = (task: TaskKind, cell: (r: ComparisonRow) => string) => (r: ComparisonRow) => (taskOf(r) === task ? cell(r) : '');
  const has = (field: 'passRate' | 'promptTokens' | 'outputTokens') => rows.some((r) => r[field] !== null && r[field] !== undefined);
  return [
    ...(labels ? [
      { header: 'accuracy (95% CI)', cell: onlyFor('label', (r) => accuracyText(r.accuracy, r.accuracyInterval)), csv: interval('accuracy').map((c) => ({ ...c, cell: onlyFor('label', c.cell) })) },
      { header: 'macro-F1', cell: (r: ComparisonRow) => fixed(r.macroF1) },
      { header: 'NLL', cell: onlyFor('label', (r) => fixed(r.nll)) },
      { header: 'AUC', cell: (r: ComparisonRow) => fixed(r.auc) },
      { header: 'exact match', cell: onlyFor('label', (r) => pct(r.exactMatch)) },
    ] : []),
    ...(targets ? [
      { header: 'exact match (95% CI)', cell: onlyFor('target', (r) => accuracyText(r.accuracy, r.accuracyInterval)), csv: interval('exact match').map((c) => ({ ...c, cell: onlyFor('target', c.cell) })) },
      { header: 'token F1', cell: (r: ComparisonRow) => percent(r.tokenF1) },
      { header: 'chrF', cell: (r: ComparisonRow) => percent(r.chrF) },
      { header: 'ROUGE-L', cell: (r: ComparisonRow) => percent(r.rougeL) },
      ...(has('passRate') ? [{ header: 'pass rate', cell: (r: ComparisonRow) => percent(r.passRate) }] : []),
      { header: 'NLL/token', cell: onlyFor('target', (r) => fixed(r.nll)) },
    ] : []),
    { header: 'n', cell: (r) => String(r.count) },
    // what each approach stores per task (0 for text, n x d for a soft prompt, every weight for model tuning)
    { header: 'task params', cell: (r) => r.taskParameters.toLocaleString('en-US') },
    // what each request costs (runs evaluated before it was measured have none): a soft prompt's
    // case is often 20 vectors against a 600-token k-shot text
    ...(has('promptTokens') ? [{ header: 'tokens/request', cell: (r: ComparisonRow) => fixed(r.promptTokens, 0) }] : []),
    ...(has('outputTokens') ? [{ header: 'output tokens', cell: (r: ComparisonRow) => fixed(r.outputTokens, 1) }] : []),
    ...(has('promptTokens') ? [{ header: 'ms/example', cell: (r: ComparisonRow) => fixed(r.msPerExample, 1) }] : []),
  ];
}

export function formatComparison(rows: ComparisonRow[], format: 'md' | 'csv' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const lead: Column[] = [
    { header: 'run', cell: (r) => r.run }, { header: 'split', cell: (r) => r.split },
    { header: 'prompt', cell: (r) => r.id }, { header: 'kind', cell: (r) => r.kind },
  ];
  const all = [...lead, ...columns(rows)];
  if (format === 'csv') {
    // a spreadsheet reads a figure and its interval's ends as separate numbers
    const flat = all.flatMap((c) => c.csv ?? [c]);
    const esc = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
    return [flat.map((c) => c.header), ...rows.map((r) => flat.map((c) => c.cell(r)))].map((row) => row.map(esc).join(',')).join('\n') + '\n';
  }
  const header = all.map((c) => c.header);
  const cells = rows.map((r) => all.map((c) => c.cell(r)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n') + '\n';
}
