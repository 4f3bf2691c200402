// The comparison panel's data, built from run folders: results per prompt, confusion matrices,
// training curves, and one row per example with every prompt's prediction; on request, one
// example's detail (every label's log-likelihood and the prompt each prompt rendered for it).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RunDir } from '../../common/run-folder.js';
import { formatOf, normaliseLabel, readRecords } from '../../common/data.js';
import { fillTemplate } from '../../common/template.js';
import { goldMargin } from '../../common/example-filter.js';
import { promptSource, renderPrompt, renderedText, sourceText, type PromptSource } from '../../common/prompt-render.js';
import type { ComparisonData, ExampleDetail, ExampleDetailPrompt, ExampleRow } from '../../common/protocol.js';
import type { InspectReport, Prediction } from '../../common/run-files.js';
import type { Spec } from '../../common/spec.js';

/** The comparison and a way to ask for one example's detail (kept in memory: the panel asks on every selection). */
export interface ComparisonSource {
  data: ComparisonData;
  /** Every prompt's scores and rendered prompt for the example at `line` of `file`; null where no run evaluated it. */
  detail(file: string, line: number): Promise<ExampleDetail | null>;
}

/** What a run adds to an example's detail. */
interface RunPart {
  spec: Spec | null;
  specDir: string;
  promptKey(id: string): string;
  sources: Map<string, PromptSource | null>;
  /** The train records by line, read on the first k-shot example asked for. */
  train?: Promise<Map<number, Record<string, unknown>>>;
}

/** A run's training loss and dev accuracy by step, from metrics.jsonl. */
export function trainingCurves(run: RunDir): { loss: [number, number][]; devAccuracy: [number, number][] } {
  const metrics = run.readMetrics();
  return {
    loss: metrics.filter((m) => typeof m.loss === 'number').map((m) => [m.step, m.loss as number]),
    devAccuracy: metrics.filter((m) => typeof m.devAccuracy === 'number').map((m) => [m.step, m.devAccuracy as number]),
  };
}

export async function loadComparison(runDirs: string[]): Promise<ComparisonSource> {
  const data: ComparisonData = { runs: [], labels: [], prompts: [], examples: [], curves: [] };
  const byExample = new Map<string, ExampleRow>();
  // runs compared side by side usually evaluated the same file with the same template: read it once
  const recordsByFile = new Map<string, Promise<Map<number, ExampleRecord>>>();
  const records = new Map<string, Map<number, ExampleRecord>>();
  const predictions = new Map<string, { part: RunPart; prediction: Prediction }[]>();
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
    const spec = record.spec ?? null;
    const part: RunPart = { spec, specDir: record.specFile ? dirname(record.specFile) : run.dir, promptKey, sources: new Map() };
    for (const r of ev.results) part.sources.set(r.id, spec ? promptSource(spec, r.id, r.kind) : null);
    const inspection = inspectionOf(run, ev.results.filter((r) => r.kind === 'soft').map((r) => r.id));
    if (inspection) (data.inspections ??= []).push({ run: run.id, prompt: promptKey(inspection.prompt), report: inspection.report });
    for (const r of ev.results) {
      const source = part.sources.get(r.id);
      data.prompts.push({ key: promptKey(r.id), id: r.id, run: run.id, kind: r.kind, accuracy: r.accuracy, macroF1: r.macroF1, nll: r.nll, auc: r.auc, exactMatch: r.exactMatch ?? null, accuracyInterval: r.accuracyInterval ?? null, perClass: r.perClass ?? null, confusion: r.confusion, predictedRate: r.predictedRate, count: r.count, taskParameters: r.taskParameters ?? 0, ...(r.rendered !== undefined ? { rendered: r.rendered } : {}), ...(source ? { template: sourceText(source) } : {}) });
    }
    data.curves.push({ run: run.id, ...trainingCurves(run) });
    const textKey = `${ev.file}\n${spec?.data.text ?? ''}`;
    if (!recordsByFile.has(textKey)) recordsByFile.set(textKey, exampleRecords(ev.file, spec));
    const texts = await recordsByFile.get(textKey)!;
    if (!records.has(ev.file)) records.set(ev.file, texts);
    for (const p of run.readPredictions()) {
      const key = `${ev.file}#${p.line}`;
      let row = byExample.get(key);
      if (!row) {
        row = { line: p.line, file: ev.file, input: texts.get(p.line)?.text ?? '', gold: p.gold, cells: {} };
        byExample.set(key, row);
      }
      // a pipeline's stage one alone scored no label
      const top = p.scores?.[p.prediction] ?? null;
      row.cells[promptKey(p.promptId)] = { prediction: p.prediction, correct: p.correct, score: top, margin: goldMargin(p.scores, p.gold), generated: p.generated, stage1: p.stage1 };
      let list = predictions.get(key);
      if (!list) predictions.set(key, (list = []));
      list.push({ part, prediction: p });
    }
  }
  data.examples = [...byExample.values()].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const order = new Map(data.prompts.map((p, i) => [p.key, i]));

  async function detail(file: string, line: number): Promise<ExampleDetail | null> {
    const key = `${file}#${line}`;
    const row = byExample.get(key);
    const list = predictions.get(key);
    if (!row || !list) return null;
    const fields = records.get(file)?.get(line)?.fields ?? null;
    const prompts: ExampleDetailPrompt[] = [];
    for (const { part, prediction: p } of list) {
      const source = part.sources.get(p.promptId) ?? null;
      let prompt: ExampleDetailPrompt['prompt'] = null;
      if (source && part.spec && fields) {
        const spec = part.spec;
        let demonstrations: Parameters<typeof renderPrompt>[1]['demonstrations'] = [];
        if (source.shots > 0) {
          const lines = p.shots;
          const train = lines ? await trainRecords(part) : null;
          demonstrations = lines && train ? lines.map((l) => {
            const f = train.get(l) ?? {};
            const label = normaliseLabel(f[spec.data.label]) ?? '';
            return { line: l, fields: f, labelText: spec.data.verbalizer[label] ?? label };
          }) : null;
        }
        prompt = renderPrompt(source, { fields, demonstrations, stage1: p.stage1, labelSeparator: spec.data.labelSeparator ?? ' ' });
      }
      prompts.push({ key: part.promptKey(p.promptId), kind: p.kind, prediction: p.prediction, correct: p.correct, scores: p.scores, ...(p.generated !== undefined ? { generated: p.generated } : {}), ...(p.stage1 !== undefined ? { stage1: p.stage1 } : {}), prompt });
    }
    prompts.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
    return { file, line, input: row.input, gold: row.gold, prompts };
  }

  // each column's heading shows its whole prompt for the first example
  const first = data.examples[0];
  const shown = first ? await detail(first.file, first.line) : null;
  for (const p of data.prompts) {
    const d = shown?.prompts.find((q) => q.key === p.key);
    if (p.rendered !== undefined) p.preview = { line: first.line, text: p.rendered };
    else if (d?.prompt) p.preview = { line: first.line, text: renderedText(d.prompt) };
  }
  return { data, detail };
}

/** The train split's records by line, for the demonstrations of k-shot prompts (empty where unreadable). */
function trainRecords(part: RunPart): Promise<Map<number, Record<string, unknown>>> {
  part.train ??= (async () => {
    const out = new Map<number, Record<string, unknown>>();
    const spec = part.spec;
    if (!spec?.data.train) return out;
    const file = resolve(part.specDir, spec.data.train);
    try {
      for await (const r of readRecords(file, { ...readOptions(file, spec), onMalformed: () => {} })) out.set(r.line, r.fields);
    } catch {
      /* a file moved or changed since the run: demonstrations show without their text */
    }
    return out;
  })();
  return part.train;
}

const readOptions = (file: string, spec: Spec | null) => ({ format: formatOf(file, spec?.data.format), header: spec?.data.header ?? true, columns: spec?.data.columns });

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

interface ExampleRecord { text: string; fields: Record<string, unknown> }

/** Every record of a data file by line: its fields and its input text (as the spec's data.text renders it). */
async function exampleRecords(file: string, spec: Spec | null): Promise<Map<number, ExampleRecord>> {
  const out = new Map<number, ExampleRecord>();
  if (!file || !existsSync(file)) return out;
  const template = spec?.data.text;
  try {
    for await (const r of readRecords(file, { ...readOptions(file, spec), onMalformed: () => {} })) {
      let text: string;
      try {
        text = template ? fillTemplate(template, r.fields) : JSON.stringify(r.fields);
      } catch {
        text = JSON.stringify(r.fields);
      }
      out.set(r.line, { text, fields: r.fields });
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
