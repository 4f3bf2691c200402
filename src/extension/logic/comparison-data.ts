// The comparison panel's data, built from run folders: results per prompt, confusion matrices,
// training curves, and one row per example with every prompt's prediction; on request, one
// example's detail (every label's log-likelihood and the prompt each prompt rendered for it). A
// text-target task's rows hold each prompt's output, its text metrics and how many of its
// assertions passed; its detail, each assertion's verdict and reason.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RunDir } from '../../common/run-folder.js';
import { formatOf, normaliseLabel, readRecords } from '../../common/data.js';
import { fillTemplate } from '../../common/template.js';
import { goldMargin, passes } from '../../common/example-filter.js';
import { InputError } from '../../common/errors.js';
import { EXAMPLE_METRICS, metricTitle, metricValueText } from '../../common/metric-titles.js';
import { promptSource, renderPrompt, renderedText, sourceText, type PromptSource } from '../../common/prompt-render.js';
import type { ComparisonData, ExampleCell, ExampleDetail, ExampleDetailPrompt, ExampleRow, PromptSummary, TrainingCurve } from '../../common/protocol.js';
import type { EvalFile, HeadlineMetric, InspectReport, Prediction, PromptResult, TaskKind } from '../../common/run-files.js';
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

/**
 * A run's training loss and dev accuracy by step, from metrics.jsonl; a text target's dev rows also
 * give its headline metric (devMetric, named by metric), the curve its views show.
 */
export function trainingCurves(run: RunDir): Omit<TrainingCurve, 'run'> {
  const metrics = run.readMetrics();
  const dev = metrics.filter((m) => typeof m.devMetric === 'number' && typeof m.metric === 'string');
  return {
    loss: metrics.filter((m) => typeof m.loss === 'number').map((m) => [m.step, m.loss as number]),
    devAccuracy: metrics.filter((m) => typeof m.devAccuracy === 'number').map((m) => [m.step, m.devAccuracy as number]),
    ...(dev.length ? { devMetric: { name: dev[dev.length - 1].metric as HeadlineMetric, points: dev.map((m): [number, number] => [m.step, m.devMetric as number]) } } : {}),
  };
}

/** A run's task as eval.json records it (files written before text targets: labels). */
export function evalTask(ev: Pick<EvalFile, 'task'>): TaskKind {
  return ev.task ?? 'label';
}

/** One prompt's row of the results, from its eval.json entry. */
export function promptSummary(r: PromptResult, key: string, run: string, task: TaskKind): PromptSummary {
  return {
    key, id: r.id, run, kind: r.kind, accuracy: r.accuracy, macroF1: r.macroF1 ?? null, nll: r.nll, auc: r.auc ?? null, exactMatch: r.exactMatch ?? null,
    accuracyInterval: r.accuracyInterval ?? null, perClass: r.perClass ?? null, confusion: r.confusion ?? [], predictedRate: r.predictedRate ?? {}, count: r.count, taskParameters: r.taskParameters ?? 0,
    ...(task === 'target' ? { text: { tokenF1: r.tokenF1 ?? null, chrF: r.chrF ?? null, rougeL: r.rougeL ?? null, ...(r.passRate !== undefined ? { passRate: r.passRate } : {}), intervals: { ...r.intervals, ...(r.accuracyInterval ? { exactMatch: r.accuracyInterval } : {}) } } } : {}),
    ...(r.promptTokens !== undefined ? { promptTokens: r.promptTokens } : {}),
    ...(r.outputTokens !== undefined ? { outputTokens: r.outputTokens } : {}),
    ...(r.msPerExample !== undefined ? { msPerExample: r.msPerExample } : {}),
    ...(r.rendered !== undefined ? { rendered: r.rendered } : {}),
  };
}

/** A prediction as its row's cell: a label and its margin, or a text target's output, metrics and assertions. */
export function exampleCell(p: Prediction): ExampleCell {
  if (p.output !== undefined || p.metrics !== undefined) {
    const assertions = p.assertions?.length ? { passed: p.assertions.filter((a) => a.pass).length, total: p.assertions.length } : undefined;
    return { prediction: p.output ?? p.prediction, correct: p.correct, score: null, metrics: p.metrics ?? {}, ...(assertions ? { assertions } : {}) };
  }
  // a pipeline's stage one alone scored no label
  const top = p.scores?.[p.prediction] ?? null;
  return { prediction: p.prediction, correct: p.correct, score: top, margin: goldMargin(p.scores, p.gold), generated: p.generated, stage1: p.stage1 };
}

export async function loadComparison(runDirs: string[]): Promise<ComparisonSource> {
  const data: ComparisonData = { runs: [], labels: [], prompts: [], examples: [], curves: [] };
  const byExample = new Map<string, ExampleRow>();
  // runs compared side by side usually evaluated the same file with the same template: read it once
  const recordsByFile = new Map<string, Promise<Map<number, ExampleRecord>>>();
  const records = new Map<string, Map<number, ExampleRecord>>();
  const predictions = new Map<string, { part: RunPart; prediction: Prediction }[]>();
  let firstTask: { task: TaskKind; run: string } | undefined;
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
    const task = evalTask(ev);
    // one examples table holds one kind of answer: labels with their scores, or outputs with their metrics
    firstTask ??= { task, run: run.id };
    if (firstTask.task !== task) {
      const answer = (t: TaskKind) => (t === 'target' ? 'a text output' : 'a label');
      throw new InputError(`${run.id} answers with ${answer(task)} and ${firstTask.run} with ${answer(firstTask.task)}: a label task's runs and a text-target task's runs cannot be compared side by side; compare each task's runs apart`);
    }
    if (task === 'target') {
      data.task = 'target';
      data.metric = ev.metric ?? 'exactMatch';
    }
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
      data.prompts.push({ ...promptSummary(r, promptKey(r.id), run.id, task), ...(source ? { template: sourceText(source) } : {}) });
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
        row = { line: p.line, file: ev.file, input: texts.get(p.line)?.text ?? '', gold: p.target ?? p.gold, cells: {} };
        byExample.set(key, row);
      }
      row.cells[promptKey(p.promptId)] = exampleCell(p);
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
            return { line: l, fields: f, labelText: demonstrationAnswer(spec, f) };
          }) : null;
        }
        prompt = renderPrompt(source, { fields, demonstrations, stage1: p.stage1, labelSeparator: spec.data.labelSeparator ?? ' ' });
      }
      prompts.push({
        key: part.promptKey(p.promptId), kind: p.kind, prediction: p.prediction, correct: p.correct, scores: p.scores,
        ...(p.generated !== undefined ? { generated: p.generated } : {}), ...(p.stage1 !== undefined ? { stage1: p.stage1 } : {}),
        ...(p.output !== undefined ? { output: p.output } : {}), ...(p.outputTokens !== undefined ? { outputTokens: p.outputTokens } : {}),
        ...(p.metrics !== undefined ? { metrics: p.metrics } : {}), ...(p.assertions !== undefined ? { assertions: p.assertions } : {}),
        prompt,
      });
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

/**
 * What a demonstration shows after its text, from its train record's fields (as data.ts's
 * answerText gives it from an example): its label's text, or a text target's expected output
 * filled from the record ('' where the record lacks a field).
 */
export function demonstrationAnswer(spec: Spec, fields: Record<string, unknown>): string {
  if (spec.data.target !== undefined) {
    try {
      return fillTemplate(spec.data.target, fields);
    } catch {
      return '';
    }
  }
  const label = spec.data.label !== undefined ? normaliseLabel(fields[spec.data.label]) ?? '' : '';
  return spec.data.verbalizer?.[label] ?? label;
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
  if (data.task === 'target') return exportTargetExamples(data, rows, format);
  const keys = data.prompts.map((p) => p.key);
  const stageKeys = data.prompts.filter((p) => p.kind === 'pipeline').map((p) => p.key);
  const header = ['line', 'input', 'gold', ...keys, ...stageKeys.map((k) => `${k}: stage one`)];
  const body = rows.map((r) => [String(r.line), r.input, r.gold, ...keys.map((k) => (r.cells[k] ? `${r.cells[k].prediction}${r.cells[k].correct ? '' : ' (wrong)'}` : '')), ...stageKeys.map((k) => r.cells[k]?.stage1 ?? '')]);
  if (format === 'csv') return csvText([header, ...body]);
  const results = ['| prompt | kind | accuracy | macro-F1 | NLL |', '|---|---|---:|---:|---:|', ...data.prompts.map((p) => `| ${md(p.key)} | ${p.kind} | ${(100 * p.accuracy).toFixed(1)}% | ${p.macroF1 === null ? '' : p.macroF1.toFixed(3)} | ${p.nll === null ? '' : p.nll.toFixed(3)} |`)];
  return `${results.join('\n')}\n\n${mdTable(header, body)}\n`;
}

const csvText = (rows: string[][]) => {
  const esc = (c: string) => (/[",\n\r]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((row) => row.map(esc).join(',')).join('\n') + '\n';
};
const md = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mdTable = (header: string[], body: string[][]) => [`| ${header.map(md).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(md).join(' | ')} |`)].join('\n');

/**
 * A text target's examples: each prompt's output, whether it matched exactly, its token F1 and its
 * assertions passed; the Markdown opens with every prompt's figures and what a request costs.
 */
function exportTargetExamples(data: ComparisonData, rows: ExampleRow[], format: 'csv' | 'md'): string {
  const keys = data.prompts.map((p) => p.key);
  const hasAssertions = rows.some((r) => Object.values(r.cells).some((c) => c.assertions));
  const header = ['line', 'input', 'target', ...keys.flatMap((k) => [k, `${k}: exact`, `${k}: token F1`, ...(hasAssertions ? [`${k}: assertions`] : [])])];
  const body = rows.map((r) => [String(r.line), r.input, r.gold, ...keys.flatMap((k) => {
    const c = r.cells[k];
    if (!c) return ['', '', '', ...(hasAssertions ? [''] : [])];
    const f1 = c.metrics?.tokenF1;
    return [c.prediction, c.correct ? 'yes' : 'no', f1 === undefined ? '' : f1.toFixed(3), ...(hasAssertions ? [c.assertions ? `${c.assertions.passed}/${c.assertions.total}${passes(c) ? '' : ' (fails)'}` : ''] : [])];
  })]);
  if (format === 'csv') return csvText([header, ...body]);
  const figures: { title: string; value: (p: PromptSummary) => string }[] = [
    { title: metricTitle('exactMatch'), value: (p) => metricValueText('exactMatch', p.accuracy) },
    ...EXAMPLE_METRICS.filter((m) => m !== 'exactMatch' && m !== 'nll').map((m) => ({ title: metricTitle(m), value: (p: PromptSummary) => metricValueText(m, p.text?.[m as 'tokenF1' | 'chrF' | 'rougeL']) })),
    { title: metricTitle('nll'), value: (p) => metricValueText('nll', p.nll) },
    ...(data.prompts.some((p) => p.text?.passRate !== undefined) ? [{ title: metricTitle('passRate'), value: (p: PromptSummary) => metricValueText('passRate', p.text?.passRate) }] : []),
    { title: 'prompt tokens', value: (p) => (p.promptTokens === undefined ? '' : p.promptTokens.toFixed(1)) },
    { title: 'output tokens', value: (p) => (p.outputTokens === undefined ? '' : p.outputTokens.toFixed(1)) },
    { title: 'ms/example', value: (p) => (p.msPerExample === undefined ? '' : p.msPerExample.toFixed(1)) },
  ];
  const results = [`| prompt | kind | ${figures.map((f) => f.title).join(' | ')} |`, `|---|---|${figures.map(() => '---:').join('|')}|`, ...data.prompts.map((p) => `| ${md(p.key)} | ${p.kind} | ${figures.map((f) => f.value(p)).join(' | ')} |`)];
  return `${results.join('\n')}\n\n${mdTable(header, body)}\n`;
}
