// Results on the lines of a dataset file: for each record's line, the gold label and each
// prompt's prediction from the newest finished run that evaluated this file; and the file's
// malformed lines, each with its reason.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { listRuns, runsRootFor, type RunDir } from '../../common/run-folder.js';
import { formatOf, normaliseLabel, readRecords } from '../../common/data.js';
import { loadSpec, type LoadedSpec } from '../../common/spec.js';
import { templateFields } from '../../common/template.js';
import type { EvalFile } from '../../common/run-files.js';

export interface LineResult {
  line: number;
  gold: string;
  predictions: { promptId: string; kind: string; prediction: string; correct: boolean; scores: Record<string, number> | null }[];
}

export interface FileResults { runId: string; runDir: string; split: string; lines: Map<number, LineResult> }

/** The newest completed run of any of the specs whose evaluation used this data file. */
export function resultsForDataset(dataFile: string, specFiles: string[]): FileResults | null {
  const target = resolve(dataFile);
  let best: { run: RunDir; split: string; created: string } | null = null;
  for (const specFile of specFiles) {
    const specDir = resolve(specFile, '..');
    for (const run of listRuns(runsRootFor(specDir))) {
      if (!run.has('eval.json')) continue;
      let ev: EvalFile;
      try {
        ev = run.readEval();
      } catch {
        continue;
      }
      if (!ev.file || resolve(ev.file) !== target) continue;
      const created = run.record.createdAt;
      if (!best || created > best.created) best = { run, split: ev.split, created };
    }
  }
  if (!best) return null;
  const lines = new Map<number, LineResult>();
  for (const p of best.run.readPredictions()) {
    const entry = lines.get(p.line) ?? { line: p.line, gold: p.gold, predictions: [] };
    entry.predictions.push({ promptId: p.promptId, kind: p.kind, prediction: p.prediction, correct: p.correct, scores: p.scores });
    lines.set(p.line, entry);
  }
  return { runId: best.run.id, runDir: best.run.dir, split: best.split, lines };
}

/** One line of text for the end of a record's line: gold, then each prompt's mark and prediction. */
export function inlineText(r: LineResult, verbalizer?: Record<string, string>): string {
  const show = (label: string) => verbalizer?.[label] ?? label;
  return `gold ${show(r.gold)} | ${r.predictions.map((p) => `${p.promptId} ${p.correct ? '✓' : '✗'} ${show(p.prediction)}`).join(' | ')}`;
}

/** Markdown for a hover: each prompt's log-likelihood of each label. */
export function hoverMarkdown(r: LineResult, runId: string): string {
  // a pipeline's stage one alone scored no label: its cells stay empty
  const labels = Object.keys(r.predictions.find((p) => p.scores)?.scores ?? {});
  const head = `| prompt | prediction | ${labels.map((l) => `log P(${l})`).join(' | ')} |\n|---|---|${labels.map(() => '---:').join('|')}|`;
  const rows = r.predictions.map((p) => `| ${p.promptId} (${p.kind}) | ${p.correct ? '✓' : '✗'} ${p.prediction} | ${labels.map((l) => p.scores?.[l]?.toFixed(3) ?? '').join(' | ')} |`);
  return `**Gold: ${r.gold}** (run ${runId})\n\n${head}\n${rows.join('\n')}`;
}

export interface LineProblem { line: number; message: string }

/**
 * Every malformed record of a data file as the spec reads it (not only the first, as training
 * stops at): bad JSON, missing fields, labels absent from the verbalizer, wrong column counts.
 */
export async function lintDataset(file: string, loaded: LoadedSpec, limit = 500): Promise<LineProblem[]> {
  const { spec } = loaded;
  const problems: LineProblem[] = [];
  const format = formatOf(file, spec.data.format);
  const needed = [...new Set([...templateFields(spec.data.text), spec.data.label])];
  if (format === 'jsonl') {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (problems.length >= limit || !text.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        problems.push({ line: i + 1, message: `not valid JSON (${(e as Error).message})` });
        return;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        problems.push({ line: i + 1, message: 'expected a JSON object with named fields' });
        return;
      }
      checkRecord(value as Record<string, unknown>, i + 1);
    });
    return problems;
  }
  try {
    for await (const r of readRecords(file, { format, header: spec.data.header, columns: spec.data.columns })) {
      checkRecord(r.fields, r.line);
      if (problems.length >= limit) break;
    }
  } catch (e) {
    const err = e as Error & { location?: { line?: number } };
    problems.push({ line: err.location?.line ?? 1, message: err.message.replace(/^.*?:\d+: /, '') });
  }
  return problems;

  function checkRecord(fields: Record<string, unknown>, line: number) {
    const missing = needed.filter((f) => !(f in fields));
    if (missing.length) {
      problems.push({ line, message: `missing field${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (the spec ${loaded.file} uses ${missing.length > 1 ? 'them' : 'it'})` });
      return;
    }
    const label = normaliseLabel(fields[spec.data.label]);
    if (label === undefined || !(label in spec.data.verbalizer)) {
      problems.push({ line, message: `label ${JSON.stringify(fields[spec.data.label])} is not in the verbalizer (known: ${Object.keys(spec.data.verbalizer).join(', ')})` });
    }
  }
}

/** The specs (of a list) that read this data file, with the split it is for. */
export function specsUsingFile(dataFile: string, specFiles: string[]): { loaded: LoadedSpec; split: string }[] {
  const target = resolve(dataFile);
  const out: { loaded: LoadedSpec; split: string }[] = [];
  for (const f of specFiles) {
    if (!existsSync(f)) continue;
    let loaded: LoadedSpec;
    try {
      loaded = loadSpec(f);
    } catch {
      continue;
    }
    for (const split of ['train', 'dev', 'test'] as const) {
      const p = loaded.spec.data[split];
      if (p && loaded.resolvePath(p) === target) out.push({ loaded, split });
    }
  }
  return out;
}
