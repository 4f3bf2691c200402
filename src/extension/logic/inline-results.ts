// Results on the lines of a dataset file: for each record's line, the gold label (or a text
// target's expected output) and each prompt's prediction (or output) from the newest finished run
// that evaluated this file.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { headlineText, headlineValue, improves, metricValueText } from '../../common/metric-titles.js';
import { listRuns, runsRootFor, type RunDir } from '../../common/run-folder.js';
import { loadSpec, type LoadedSpec } from '../../common/spec.js';
import type { AssertionResult, EvalFile, HeadlineMetric, PromptKind, TaskKind } from '../../common/run-files.js';

/**
 * One prompt on one line. A text target's `prediction` is its output and `correct` whether it
 * passes: every assertion where it has any, else an exact match (`exact`); `tokenF1` and the
 * assertions that failed, with their reasons, are for the hover.
 */
export interface LinePrediction {
  promptId: string; kind: string; prediction: string; correct: boolean; scores: Record<string, number> | null;
  exact?: boolean; tokenF1?: number; assertions?: { passed: number; total: number; failed: AssertionResult[] };
}

export interface LineResult {
  line: number;
  /** The gold label, or a text target's expected output. */
  gold: string;
  predictions: LinePrediction[];
}

/**
 * An evaluated prompt and its accuracy on the evaluated split, as eval.json lists them; a text
 * target's, its headline metric's value too (which ranks the prompts).
 */
export interface EvaluatedPrompt { id: string; kind: PromptKind; accuracy: number; headline?: { metric: HeadlineMetric; value: number | null } }

export interface FileResults { runId: string; runDir: string; split: string; task?: TaskKind; prompts: EvaluatedPrompt[]; lines: Map<number, LineResult> }

/** The newest completed run of any of the specs whose evaluation used this data file. */
export function resultsForDataset(dataFile: string, specFiles: string[]): FileResults | null {
  const target = resolve(dataFile);
  let best: { run: RunDir; ev: EvalFile; created: string } | null = null;
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
      if (!best || created > best.created) best = { run, ev, created };
    }
  }
  if (!best) return null;
  const task = best.ev.task ?? 'label';
  const lines = new Map<number, LineResult>();
  for (const p of best.run.readPredictions()) {
    const entry = lines.get(p.line) ?? { line: p.line, gold: p.target ?? p.gold, predictions: [] };
    if (task === 'target') {
      const failed = (p.assertions ?? []).filter((a) => !a.pass);
      const assertions = p.assertions?.length ? { passed: p.assertions.length - failed.length, total: p.assertions.length, failed } : undefined;
      entry.predictions.push({
        promptId: p.promptId, kind: p.kind, prediction: p.output ?? p.prediction, correct: assertions ? failed.length === 0 : p.correct, scores: null, exact: p.correct,
        ...(p.metrics?.tokenF1 !== undefined ? { tokenF1: p.metrics.tokenF1 } : {}), ...(assertions ? { assertions } : {}),
      });
    } else entry.predictions.push({ promptId: p.promptId, kind: p.kind, prediction: p.prediction, correct: p.correct, scores: p.scores });
    lines.set(p.line, entry);
  }
  const metric = best.ev.metric ?? 'exactMatch';
  const prompts = best.ev.results.map((r): EvaluatedPrompt => ({ id: r.id, kind: r.kind, accuracy: r.accuracy, ...(task === 'target' ? { headline: { metric, value: headlineValue(r, metric) } } : {}) }));
  return { runId: best.run.id, runDir: best.run.dir, split: best.ev.split, ...(task === 'target' ? { task } : {}), prompts, lines };
}

/** The setting promptTuning.inline.prompts: which prompts a dataset line shows. */
export type InlinePromptChoice = 'soft-vs-best' | 'all';
export const INLINE_PROMPT_CHOICES: readonly InlinePromptChoice[] = ['soft-vs-best', 'all'];

/** A prompt shown on the lines, with the short name its mark carries. */
export interface ShownPrompt extends EvaluatedPrompt { mark: string; role: 'soft' | 'best discrete' | null }

const MARK_NAME_MAX = 12;
const LABEL_MAX = 12;

/** Text cut to at most max characters, ending in an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * The most accurate prompt of a kind (a text target's best on its headline metric); equal figures
 * go to the smallest id, so the pick never depends on file order.
 */
function mostAccurate(prompts: EvaluatedPrompt[], kind: PromptKind): EvaluatedPrompt | undefined {
  const better = (a: EvaluatedPrompt, b: EvaluatedPrompt) => {
    if (a.headline && b.headline) return improves(a.headline.metric, a.headline.value, b.headline.value) ? -1 : improves(a.headline.metric, b.headline.value, a.headline.value) ? 1 : 0;
    return b.accuracy - a.accuracy;
  };
  return prompts.filter((p) => p.kind === kind).sort((a, b) => better(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}

/** A prompt's figure in words: its accuracy, or a text target's headline metric ("exact match 41.0%"). */
export function promptFigure(p: EvaluatedPrompt): string {
  return p.headline ? headlineText(p.headline.metric, p.headline.value) : percent(p.accuracy);
}

/**
 * The prompts whose marks a line shows. 'soft-vs-best': the soft prompt (the most accurate if
 * there are several) and the most accurate discrete prompt, the comparison the run was made for;
 * a run with neither (model tuning alone, say) falls back to every prompt rather than showing nothing.
 */
export function inlinePrompts(prompts: EvaluatedPrompt[], choice: InlinePromptChoice): ShownPrompt[] {
  const every = (): ShownPrompt[] => prompts.map((p) => ({ ...p, mark: truncate(p.id, MARK_NAME_MAX), role: null }));
  if (choice === 'all') return every();
  const soft = mostAccurate(prompts, 'soft');
  const best = mostAccurate(prompts, 'discrete');
  const shown: ShownPrompt[] = [];
  if (soft) shown.push({ ...soft, mark: 'soft', role: 'soft' });
  if (best) shown.push({ ...best, mark: 'best', role: 'best discrete' });
  return shown.length ? shown : every();
}

/**
 * The short mark on a record's line: each shown prompt's name and ✓ or ✗, a wrong one followed
 * by the label it predicted (cut to a few characters; the hover has it whole), e.g.
 * "soft ✓ · best ✗ sad"; a text target's failing output likewise, its spaces folded.
 */
export function markText(r: LineResult, shown: ShownPrompt[]): string {
  const parts: string[] = [];
  for (const s of shown) {
    const p = r.predictions.find((q) => q.promptId === s.id);
    if (!p) continue;
    const none = p.exact !== undefined ? '(empty)' : '(none)';
    parts.push(p.correct ? `${s.mark} ✓` : `${s.mark} ✗ ${truncate(p.prediction.replace(/\s+/g, ' ').trim() || none, LABEL_MAX)}`);
  }
  return parts.join(' · ');
}

/** Whether the shown prompts were all right, all wrong or split on a line (what colours its mark). */
export function lineOutcome(r: LineResult, shown: ShownPrompt[]): 'right' | 'wrong' | 'mixed' | null {
  const correct = shown.flatMap((s) => r.predictions.filter((p) => p.promptId === s.id).map((p) => p.correct));
  if (correct.length === 0) return null;
  return correct.every(Boolean) ? 'right' : correct.some(Boolean) ? 'mixed' : 'wrong';
}

/** A line's mark: its text, and the outcome that colours it. */
export interface LineMark { line: number; text: string; outcome: 'right' | 'wrong' | 'mixed' }

/**
 * The marks of a file's lines, and one width (in characters) for all of them, which keeps the
 * records' text aligned; two characters of slack cover ✓ and ✗ drawn wider by a fallback font.
 */
export function lineMarks(lines: Iterable<LineResult>, shown: ShownPrompt[]): { marks: LineMark[]; width: number } {
  const marks: LineMark[] = [];
  for (const r of lines) {
    const outcome = lineOutcome(r, shown);
    if (outcome) marks.push({ line: r.line, text: markText(r, shown), outcome });
  }
  return { marks, width: marks.reduce((w, m) => Math.max(w, [...m.text].length), 0) + 2 };
}

/** A cell's text with the characters Markdown tables and emphasis would read escaped. */
function md(text: string): string {
  return text.replace(/[\\`*_[\]|<>~]/g, '\\$&');
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Markdown for a record's hover: the gold label, a legend of the marks (which prompt each names,
 * what ✓ and ✗ mean), then every prompt's prediction and log-likelihood of each label, in full.
 */
export function hoverMarkdown(r: LineResult, results: Pick<FileResults, 'runId' | 'split' | 'task'>, shown: ShownPrompt[]): string {
  if (results.task === 'target') return targetHoverMarkdown(r, results, shown);
  const legend = shown.map((s) => `**${md(s.mark)}** = ${md(s.id)} (${s.role ?? s.kind}, ${percent(s.accuracy)} on ${results.split})`).join(' · ');
  const meaning = '✓ predicted the gold label, ✗ another label (named after the mark)';
  // a pipeline's stage one alone scored no label: its cells stay empty
  const labels = Object.keys(r.predictions.find((p) => p.scores)?.scores ?? {});
  const head = `| mark | prompt | prediction | ${labels.map((l) => `log P(${md(l)})`).join(' | ')} |\n|---|---|---|${labels.map(() => '---:').join('|')}|`;
  const markOf = new Map(shown.map((s) => [s.id, s.mark]));
  const rows = r.predictions.map((p) => `| ${md(markOf.get(p.promptId) ?? '')} | ${md(p.promptId)} (${p.kind}) | ${p.correct ? '✓' : '✗'} ${md(p.prediction)} | ${labels.map((l) => p.scores?.[l]?.toFixed(3) ?? '').join(' | ')} |`);
  return `**Gold: ${md(r.gold)}** (run ${md(results.runId)}, ${results.split} split)\n\n${legend}; ${meaning}\n\n${head}\n${rows.join('\n')}`;
}

const OUTPUT_MAX = 300;

/** A text for a Markdown table cell: escaped, on one line, cut where very long (the comparison panel has it whole). */
const cell = (text: string) => md(truncate(text.replace(/\s+/g, ' ').trim(), OUTPUT_MAX));

/**
 * A text target's hover: the target, a legend of the marks, every prompt's output against it
 * (✓ or ✗ as the mark has it, exact match, token F1, assertions passed), then each failed
 * assertion with its reason.
 */
function targetHoverMarkdown(r: LineResult, results: Pick<FileResults, 'runId' | 'split'>, shown: ShownPrompt[]): string {
  const legend = shown.map((s) => `**${md(s.mark)}** = ${md(s.id)} (${s.role ?? s.kind}, ${promptFigure(s)} on ${results.split})`).join(' · ');
  const anyAssertions = r.predictions.some((p) => p.assertions);
  const meaning = anyAssertions ? '✓ passes every assertion (an exact match where a prompt has none), ✗ fails' : '✓ the output matches the target exactly, ✗ it does not';
  const markOf = new Map(shown.map((s) => [s.id, s.mark]));
  const head = `| mark | prompt | output | exact | token F1 |${anyAssertions ? ' assertions |' : ''}\n|---|---|---|---|---:|${anyAssertions ? '---|' : ''}`;
  const rows = r.predictions.map((p) => `| ${md(markOf.get(p.promptId) ?? '')} | ${md(p.promptId)} (${p.kind}) | ${p.correct ? '✓' : '✗'} ${p.prediction.trim() ? cell(p.prediction) : '*(empty)*'} | ${p.exact ? 'yes' : 'no'} | ${metricValueText('tokenF1', p.tokenF1)} |${anyAssertions ? ` ${p.assertions ? `${p.assertions.passed}/${p.assertions.total}` : ''} |` : ''}`);
  const failures = r.predictions.flatMap((p) => (p.assertions?.failed ?? []).map((a) => `- ${md(p.promptId)}: ✗ \`${a.type}\`${a.reason ? ` ${md(a.reason)}` : ''}`));
  return `**Target: ${r.gold.trim() ? cell(r.gold) : '*(empty)*'}** (run ${md(results.runId)}, ${results.split} split)\n\n${legend}; ${meaning}\n\n${head}\n${rows.join('\n')}${failures.length ? `\n\nFailed assertions:\n\n${failures.join('\n')}` : ''}`;
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
