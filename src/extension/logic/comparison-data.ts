// The comparison panel's data, built from run folders: results per prompt, confusion matrices,
// training curves, and one row per example with every prompt's prediction.
import { existsSync, readFileSync } from 'node:fs';
import { RunDir } from '../../common/run-folder.js';
import { formatOf, readRecords } from '../../common/data.js';
import { fillTemplate } from '../../common/template.js';
import type { ComparisonData, ExampleRow } from '../../common/protocol.js';
import type { InspectReport } from '../../common/run-files.js';
export { filterExamples, type ExampleFilter } from '../../common/example-filter.js';

export async function buildComparison(runDirs: string[]): Promise<ComparisonData> {
  const data: ComparisonData = { runs: [], labels: [], prompts: [], examples: [], curves: [] };
  const byExample = new Map<string, ExampleRow>();
  // runs compared side by side usually evaluated the same file with the same template: read it once
  const textsByFile = new Map<string, Promise<Map<number, string>>>();
  for (const dir of runDirs) {
    const run = RunDir.open(dir);
    const record = run.record;
    if (run.has('scale.json')) {
      const scale = run.readScale();
      (data.scale ??= []).push({ run: run.id, points: scale.points, svg: run.has('scale.svg') ? readFileSync(run.path('scale.svg'), 'utf8') : '' });
      data.runs.push({ id: run.id, dir: run.dir, split: 'test', file: '', status: record.status });
      continue;
    }
    if (!run.has('eval.json')) continue;
    const ev = run.readEval();
    data.labels = ev.labels;
    data.runs.push({ id: run.id, dir: run.dir, split: ev.split, file: ev.file, status: record.status });
    const multi = runDirs.length > 1;
    const promptKey = (id: string) => (multi ? `${run.id}/${id}` : id);
    const inspection = inspectionOf(run, ev.results.filter((r) => r.kind === 'soft').map((r) => r.id));
    if (inspection) (data.inspections ??= []).push({ run: run.id, prompt: promptKey(inspection.prompt), report: inspection.report });
    for (const r of ev.results) data.prompts.push({ key: promptKey(r.id), id: r.id, run: run.id, kind: r.kind, accuracy: r.accuracy, macroF1: r.macroF1, nll: r.nll, auc: r.auc, exactMatch: r.exactMatch ?? null, accuracyInterval: r.accuracyInterval ?? null, perClass: r.perClass ?? null, confusion: r.confusion, predictedRate: r.predictedRate, count: r.count, taskParameters: r.taskParameters ?? 0, ...(r.rendered !== undefined ? { rendered: r.rendered } : {}) });
    const metrics = run.readMetrics();
    data.curves.push({
      run: run.id,
      loss: metrics.filter((m) => typeof m.loss === 'number').map((m) => [m.step, m.loss as number]),
      devAccuracy: metrics.filter((m) => typeof m.devAccuracy === 'number').map((m) => [m.step, m.devAccuracy as number]),
    });
    const textKey = `${ev.file}\n${record.spec?.data.text ?? ''}`;
    if (!textsByFile.has(textKey)) textsByFile.set(textKey, exampleTexts(ev.file, record.spec?.data.text));
    const texts = await textsByFile.get(textKey)!;
    for (const p of run.readPredictions()) {
      const key = `${ev.file}#${p.line}`;
      let row = byExample.get(key);
      if (!row) {
        row = { line: p.line, file: ev.file, input: texts.get(p.line) ?? '', gold: p.gold, cells: {} };
        byExample.set(key, row);
      }
      // a pipeline's stage one alone scored no label
      const top = p.scores?.[p.prediction] ?? null;
      row.cells[promptKey(p.promptId)] = { prediction: p.prediction, correct: p.correct, score: top, generated: p.generated, stage1: p.stage1 };
    }
  }
  data.examples = [...byExample.values()].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return data;
}

/**
 * A run's inspect.json, with the soft prompt it is about: the run's own (the spec's softPrompt.id),
 * else its only soft prompt. Null where that is unclear, or the file is unreadable (being rewritten).
 */
function inspectionOf(run: RunDir, softIds: string[]): { prompt: string; report: InspectReport } | null {
  const report = readInspection(run);
  if (!report || softIds.length === 0) return null;
  const own = run.record.spec?.softPrompt.id;
  const prompt = own !== undefined && softIds.includes(own) ? own : softIds.length === 1 ? softIds[0] : null;
  return prompt === null ? null : { prompt, report };
}

/** A run's inspect.json; null where there is none or it cannot be read. */
export function readInspection(run: RunDir): InspectReport | null {
  if (!run.has('inspect.json')) return null;
  try {
    return run.readInspect();
  } catch {
    return null;
  }
}

/** The input text of every record of a data file, by line (as the spec's data.text renders it). */
async function exampleTexts(file: string, template: string | undefined): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (!file || !existsSync(file)) return out;
  try {
    for await (const r of readRecords(file, { format: formatOf(file), header: true })) {
      let text: string;
      try {
        text = template ? fillTemplate(template, r.fields) : JSON.stringify(r.fields);
      } catch {
        text = JSON.stringify(r.fields);
      }
      out.set(r.line, text);
    }
  } catch {
    /* a file changed since the run: rows show without their text */
  }
  return out;
}

export function exportExamples(data: ComparisonData, rows: ExampleRow[], format: 'csv' | 'md'): string {
  const keys = data.prompts.map((p) => p.key);
  const stageKeys = data.prompts.filter((p) => p.kind === 'pipeline').map((p) => p.key);
  const header = ['line', 'input', 'gold', ...keys, ...stageKeys.map((k) => `${k}: stage one`)];
  const body = rows.map((r) => [String(r.line), r.input, r.gold, ...keys.map((k) => (r.cells[k] ? `${r.cells[k].prediction}${r.cells[k].correct ? '' : ' (wrong)'}` : '')), ...stageKeys.map((k) => r.cells[k]?.stage1 ?? '')]);
  if (format === 'csv') {
    const esc = (c: string) => (/[",\n\r]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
    return [header, ...body].map((row) => row.map(esc).join(',')).join('\n') + '\n';
  }
  const md = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const results = ['| prompt | kind | accuracy | macro-F1 | NLL |', '|---|---|---:|---:|---:|', ...data.prompts.map((p) => `| ${md(p.key)} | ${p.kind} | ${(100 * p.accuracy).toFixed(1)}% | ${p.macroF1.toFixed(3)} | ${p.nll === null ? '' : p.nll.toFixed(3)} |`)];
  const table = [`| ${header.map(md).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(md).join(' | ')} |`)];
  return `${results.join('\n')}\n\n${table.join('\n')}\n`;
}
