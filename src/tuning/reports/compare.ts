// Comparison tables of finished runs: one row per (run, prompt), as Markdown, CSV or JSON.
import { accuracyText } from '../../common/accuracy-text.js';
import { InputError } from '../../common/errors.js';
import { effectiveStatus, interruptionReason, RunDir } from '../../common/run-folder.js';

export interface ComparisonRow {
  run: string; split: string; id: string; kind: string; accuracy: number;
  /** 95% Wilson interval; null: a run evaluated before eval.json held it. */
  accuracyInterval: [number, number] | null;
  macroF1: number; /** null: no label scored (a pipeline's stage one alone) */ nll: number | null; auc: number | null; exactMatch: number | null; count: number; taskParameters: number;
}

export function comparisonRows(runDirs: string[]): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const dir of runDirs) {
    const run = RunDir.open(dir);
    if (!run.has('eval.json')) {
      const record = run.record;
      const status = effectiveStatus(record);
      const why = status === 'interrupted' ? `interrupted: ${interruptionReason(record)}; resume it with ptune train ${record.specFile} --resume ${run.dir}`
        : status === 'running' ? 'still running' : `status ${status}${record.error ? `: ${record.error}` : ''}`;
      throw new InputError(`${run.dir}: the run has no eval.json yet (${why})`, { file: run.path('run.json') });
    }
    const ev = run.readEval();
    for (const r of ev.results) rows.push({ run: run.id, split: ev.split, id: r.id, kind: r.kind, accuracy: r.accuracy, accuracyInterval: r.accuracyInterval ?? null, macroF1: r.macroF1, nll: r.nll, auc: r.auc ?? null, exactMatch: r.exactMatch ?? null, count: r.count, taskParameters: r.taskParameters ?? 0 });
  }
  return rows;
}

const pct = (v: number | null) => (v === null ? '' : `${(100 * v).toFixed(1)}%`);

export function formatComparison(rows: ComparisonRow[], format: 'md' | 'csv' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  // task params: what each approach stores per task (0 for text, n x d for a soft prompt, every weight for model tuning)
  const header = ['run', 'split', 'prompt', 'kind', 'accuracy (95% CI)', 'macro-F1', 'NLL', 'AUC', 'exact match', 'n', 'task params'];
  const cells = rows.map((r) => [r.run, r.split, r.id, r.kind, accuracyText(r.accuracy, r.accuracyInterval), r.macroF1.toFixed(3), r.nll === null ? '' : r.nll.toFixed(3), r.auc === null ? '' : r.auc.toFixed(3), pct(r.exactMatch), String(r.count), r.taskParameters.toLocaleString('en-US')]);
  if (format === 'csv') {
    // a spreadsheet reads the accuracy and its interval's ends as separate numbers
    const csvHeader = [...header.slice(0, 4), 'accuracy', 'accuracy 95% low', 'accuracy 95% high', ...header.slice(5)];
    const csvCells = rows.map((r, k) => [...cells[k].slice(0, 4), pct(r.accuracy), pct(r.accuracyInterval?.[0] ?? null), pct(r.accuracyInterval?.[1] ?? null), ...cells[k].slice(5)]);
    const esc = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
    return [csvHeader, ...csvCells].map((row) => row.map(esc).join(',')).join('\n') + '\n';
  }
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n') + '\n';
}
