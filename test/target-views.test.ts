// The extension's views of a text-target task, on hand-written run folders: the word diff of an
// output against its target, the examples view's filters and sort for outputs, the comparison
// panel's data, exports and detail, the inline marks and hover, the Experiments tree's row, the Run
// view's dev curve, and the New Experiment wizard's guess of the target field.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cellMetric, fallsShort, filterExamples, filterLabel, keepsRow, matchesSearch, nextSort, passes, sortExamples, validFilter } from '../src/common/example-filter.js';
import { headlineText, headlineValue, metricTitle, metricValueText } from '../src/common/metric-titles.js';
import type { ComparisonData, ExampleCell, ExampleRow, PromptSummary } from '../src/common/protocol.js';
import { RunDir, runsRootFor } from '../src/common/run-folder.js';
import type { AssertionResult, EvalFile, MetricRow, Prediction, PromptResult, RunRecord, Unversioned } from '../src/common/run-files.js';
import type { Spec } from '../src/common/spec.js';
import { normalizeAnswer } from '../src/common/text-metrics.js';
import { differs, wordDiff, type DiffPiece } from '../src/common/word-diff.js';
import { exportExamples, loadComparison } from '../src/extension/logic/comparison-data.js';
import { runLabel, runNode, specNode } from '../src/extension/logic/experiments.js';
import { hoverMarkdown, inlinePrompts, lineMarks, markText, promptFigure, resultsForDataset } from '../src/extension/logic/inline-results.js';
import { outcomeLine, resultsLine } from '../src/extension/logic/jobs.js';
import { buildSpec, profileDataset, targetCandidates, type FieldStats } from '../src/extension/logic/new-experiment.js';
import { JobManager } from '../src/extension/logic/jobs.js';
import { loadSpec } from '../src/common/spec.js';
import { readSplit } from '../src/common/data.js';
import { renderedText } from '../src/common/prompt-render.js';
import { openModel } from '../src/models/load.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { runViewReset } from '../src/extension/logic/run-view.js';
import { diffOfPickedRuns } from '../src/extension/logic/run-diff-view.js';
import { root, storiesDir, tempDir } from './helpers.js';

const show = (pieces: DiffPiece[]) => pieces.map((p) => (p.kind === 'extra' ? `[-${p.text}]` : p.kind === 'missing' ? `[+${p.text}]` : p.text)).join('');

describe('word diff of an output against its target', () => {
  it('marks the output\'s extra words and inserts the target\'s missing ones where they belong', () => {
    assert.equal(show(wordDiff('Lily', 'Lily')), 'Lily');
    assert.equal(show(wordDiff('Lily', 'Tom')), '[-Tom] [+Lily]');
    assert.equal(show(wordDiff('Lily and Tom', 'Lily went with Tom to')), 'Lily [-went with] [+and] Tom [-to]');
    assert.equal(show(wordDiff('Paris', '')), '[+Paris]');
    assert.equal(show(wordDiff('', 'a cat sat')), 'a [-cat sat]');
    assert.equal(show(wordDiff('red big ball', 'big red ball')), '[+red] big [-red] ball');
  });

  it('compares words as exact match does: case, punctuation and articles do not count as a difference', () => {
    const pieces = wordDiff('the big dog', 'Big dog.');
    assert.equal(differs(pieces), false);
    assert.equal(show(pieces), 'Big dog.');
  });

  it('keeps the output\'s own spaces and line breaks; an inserted word gets one space of its own', () => {
    assert.equal(show(wordDiff('Lily', '  Lily went\nhome  ')), '  Lily [-went\nhome]  ');
    assert.equal(show(wordDiff('Lily Tom', 'Lily\tTom')), 'Lily\tTom');
    assert.equal(show(wordDiff('big red ball', 'red\nball')), '[+big] red\nball');
    for (const [t, o] of [['one two three', 'three\ttwo  one'], ['x y', 'y x'], ['', ' a  b ']]) {
      const kept = wordDiff(t, o).filter((p) => p.kind !== 'missing').map((p) => p.text).join('');
      assert.equal(kept.replace(/\s+/g, ' ').trim(), o.replace(/\s+/g, ' ').trim(), `${t} / ${o}`);
    }
  });

  it('aligns a long output against a long target without a quadratic blow-up on equal ends', () => {
    const words = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const output = [...words.slice(0, 1500), 'extra', ...words.slice(1500)].join(' ');
    const start = Date.now();
    assert.equal(show(wordDiff(words.join(' '), output)), output.replace('extra', '[-extra]'));
    assert.ok(Date.now() - start < 2000);
  });
});

describe('metric titles and values', () => {
  it('names each figure and prints shares in percent, the NLL per token with three decimals', () => {
    assert.equal(metricTitle('exactMatch'), 'exact match');
    assert.equal(metricTitle('nll'), 'NLL/token');
    assert.equal(metricValueText('chrF', 0.4567), '45.7%');
    assert.equal(metricValueText('nll', 1.23456), '1.235');
    assert.equal(metricValueText('tokenF1', undefined), '');
    assert.equal(headlineText('exactMatch', 0.41), 'exact match 41.0%');
    const r = { accuracy: 0.4, nll: 2.5, tokenF1: 0.6, passRate: 0.9 };
    assert.equal(headlineValue(r, 'exactMatch'), 0.4);
    assert.equal(headlineValue(r, 'nll'), 2.5);
    assert.equal(headlineValue(r, 'tokenF1'), 0.6);
    assert.equal(headlineValue(r, 'chrF'), null);
  });
});

const cell = (prediction: string, correct: boolean, metrics: ExampleCell['metrics'] = {}, assertions?: [number, number]): ExampleCell => ({ prediction, correct, score: null, metrics: { exactMatch: correct ? 1 : 0, ...metrics }, ...(assertions ? { assertions: { passed: assertions[0], total: assertions[1] } } : {}) });
const row = (line: number, target: string, cells: Record<string, ExampleCell>): ExampleRow => ({ line, file: '/d/test.jsonl', input: `story ${line}`, gold: target, cells });
const prompt = (key: string, kind: PromptSummary['kind']): PromptSummary => ({ key, id: key, run: 'r', kind, accuracy: 0, macroF1: null, nll: 0, auc: null, exactMatch: null, accuracyInterval: null, perClass: null, confusion: [], predictedRate: {}, count: 0, taskParameters: 0 });

/** Four examples, prompts a (discrete, with assertions), b (discrete), s (soft). */
function targets(): ComparisonData {
  return {
    runs: [], task: 'target', metric: 'exactMatch', labels: [], curves: [],
    prompts: [prompt('a', 'discrete'), prompt('b', 'discrete'), prompt('s', 'soft')],
    examples: [
      // every prompt exact, a's assertions pass
      row(1, 'Lily', { a: cell('Lily', true, { tokenF1: 1 }, [2, 2]), b: cell('lily.', true, { tokenF1: 1 }), s: cell('Lily', true, { tokenF1: 1 }) }),
      // a exact but fails an assertion; b wrong; s wrong but the same output as b
      row(2, 'Tom', { a: cell('Tom', true, { tokenF1: 1 }, [1, 2]), b: cell('Tom went', false, { tokenF1: 0.67, nll: 3 }), s: cell('tom  went!', false, { tokenF1: 0.67, nll: 1 }) }),
      // a not exact, its assertions pass; b and s differ
      row(3, 'Ben', { a: cell('Ben and Sue', false, { tokenF1: 0.5 }, [2, 2]), b: cell('He', false, { tokenF1: 0, nll: 5 }), s: cell('Ben', true, { tokenF1: 1, nll: 0.5 }) }),
      // every prompt fails
      row(4, 'Sue', { a: cell('Max', false, { tokenF1: 0 }, [0, 2]), b: cell('', false, { tokenF1: 0 }), s: cell('Sam', false, { tokenF1: 0.2 }) }),
    ],
  };
}

describe('examples view of a text target: filters and sort', () => {
  const d = targets();
  const lines = (f: Parameters<typeof filterExamples>[1], search = '') => filterExamples(d, f, search).map((r) => r.line);

  it('a prompt passes on its assertions where it has any, else on exact match; it falls short on either', () => {
    assert.equal(passes(d.examples[1].cells.a), false, 'exact, an assertion failing');
    assert.equal(passes(d.examples[2].cells.a), true, 'not exact, every assertion passing');
    assert.equal(passes(d.examples[0].cells.b), true);
    assert.equal(fallsShort(d.examples[2].cells.a), true);
    assert.equal(fallsShort(d.examples[0].cells.a), false);
  });

  it('fails: any prompt not exact or failing an assertion; every prompt fails; a prompt fails', () => {
    assert.deepEqual(lines('fails'), [2, 3, 4]);
    // line 2: a exact but an assertion fails, b and s not exact
    assert.deepEqual(lines({ kind: 'allWrong' }), [2, 4]);
    assert.deepEqual(lines({ kind: 'wrong', prompt: 'a' }), [2, 4]);
    assert.deepEqual(lines({ kind: 'wrong', prompt: 's' }), [2, 4]);
    assert.deepEqual(lines('soft-wrong'), [2, 4]);
    assert.deepEqual(lines('discrete-wrong'), [2, 3, 4]);
  });

  it('one prompt passes and another fails', () => {
    assert.deepEqual(lines({ kind: 'rightWrong', right: 's', wrong: 'b' }), [3]);
    assert.deepEqual(lines({ kind: 'rightWrong', right: 'a', wrong: 'b' }), [3]);
    assert.deepEqual(lines({ kind: 'rightWrong', right: 'b', wrong: 'a' }), []);
  });

  it('outputs differ where exact match would tell them apart (case, punctuation and spaces aside)', () => {
    assert.deepEqual(lines('disagreements'), [2, 3, 4]);
    assert.deepEqual(lines({ kind: 'allDisagree' }), [3, 4]);
    // the same rows under label rules compare the raw text
    const kinds = new Map(d.prompts.map((p) => [p.key, p.kind]));
    assert.equal(keepsRow(d.examples[0], 'disagreements', kinds, 'target'), false);
    assert.equal(keepsRow(d.examples[0], 'disagreements', kinds, 'label'), true);
  });

  it('search finds outputs and targets', () => {
    assert.deepEqual(lines('all', 'went'), [2]);
    assert.deepEqual(lines('all', 'sue'), [3, 4]);
    assert.equal(matchesSearch(d.examples[1], 'went', 'label'), false, 'a label task searches generated text, not predictions');
  });

  it('the filters in words, a text target\'s prompts passing or failing', () => {
    assert.equal(filterLabel('fails', 'target'), 'Fails: not exact, or an assertion fails');
    assert.equal(filterLabel({ kind: 'rightWrong', right: 's', wrong: 'b' }, 'target'), 's passes, b fails');
    assert.equal(filterLabel({ kind: 'rightWrong', right: 's', wrong: 'b' }), 's right, b wrong');
    assert.equal(filterLabel('disagreements', 'target'), 'Outputs differ');
    assert.equal(validFilter('fails', ['a']), 'fails');
  });

  it('sorts a prompt\'s column by the metric chosen, worst first: exact match then token F1, NLL highest first, assertions', () => {
    const order = (prompt: string, metric: Parameters<typeof cellMetric>[1], descending = false) => sortExamples(d.examples, { column: { prompt, metric }, descending }).map((r) => r.line);
    // b: not exact on 2 (F1 .67), 3 (F1 0), 4 (F1 0); exact on 1
    assert.deepEqual(order('b', 'exactMatch'), [3, 4, 2, 1]);
    // descending: best first, ties (3 and 4) in line order
    assert.deepEqual(order('b', 'exactMatch', true), [1, 2, 3, 4]);
    assert.deepEqual(order('b', 'tokenF1'), [3, 4, 2, 1]);
    // NLL: highest first; line 1 and 4 have none, last
    assert.deepEqual(order('b', 'nll'), [3, 2, 1, 4]);
    assert.deepEqual(order('s', 'nll'), [2, 3, 1, 4]);
    // assertions: the share passed; b has none at all
    assert.deepEqual(order('a', 'assertions'), [4, 2, 1, 3]);
    assert.equal(cellMetric(d.examples[0].cells.b, 'assertions'), null);
    // a heading click keeps the metric in the column it sorts
    assert.deepEqual(nextSort({ column: { prompt: 'a', metric: 'chrF' }, descending: false }, { prompt: 'a', metric: 'chrF' }), { column: { prompt: 'a', metric: 'chrF' }, descending: true });
    assert.deepEqual(nextSort({ column: { prompt: 'a', metric: 'chrF' }, descending: false }, { prompt: 'a', metric: 'tokenF1' }), { column: { prompt: 'a', metric: 'tokenF1' }, descending: false });
  });
});

// ---- a text-target run folder, written by hand ----

const STORIES = ['Lily had a red ball.', 'Tom ran to the park.', 'Ben saw a big dog.', 'Sue ate a cake.'];
const SUBJECTS = ['Lily', 'Tom', 'Ben', 'Sue'];
/** Each prompt's output per example: zero-shot names someone (right half the time), soft always right. */
const OUTPUTS: Record<string, string[]> = { 'zero-shot': ['Lily', 'The dog went home', 'Ben', 'Tom'], soft: ['Lily', 'Tom', 'Ben', 'Sue.'] };

function targetSpec(dir: string): Spec {
  return {
    name: 'subject', model: '/models/stories260K',
    data: { train: join(dir, 'data', 'train.jsonl'), test: join(dir, 'data', 'test.jsonl'), header: true, text: '{story} Who is it about?', target: '{subject}', verbalizer: {}, labelSeparator: ' ', onBadRecord: 'error' },
    discretePrompts: [{ id: 'zero-shot', template: '{story} Who is it about?', shots: 0, shotSeparator: '\n\n', assert: [{ type: 'icontains', value: '{subject}' }] }],
    softPrompt: { id: 'soft', length: 4, init: 'sampled-vocab', template: '{story} Who is it about?' },
    training: { optimizer: 'adafactor', learningRate: 0.3, schedule: 'constant', warmupSteps: 0, steps: 4, batchSize: 2, evalEvery: 2, checkpointEvery: 2, sampling: 'random', weightDecay: 0, seed: 0, evalBatchSize: 8 },
    evaluation: { generation: true, metric: 'exactMatch', ensembles: [], rankScoring: 'sum', stop: ['\n'], assert: [], temperature: 0, topP: 1, seed: 0 },
    modelTuning: { optimizer: 'adafactor', learningRate: 0.3, steps: 4, batchSize: 2 },
    pipelines: [],
  };
}

function targetResult(id: string, kind: 'soft' | 'discrete', accuracy: number, extra: Partial<PromptResult> = {}): PromptResult {
  return { id, kind, taskParameters: kind === 'soft' ? 256 : 0, count: 4, accuracy, accuracyInterval: [accuracy / 2, Math.min(1, accuracy + 0.2)], nll: kind === 'soft' ? 0.8 : 2.4, tokenF1: accuracy + 0.1, chrF: accuracy + 0.05, rougeL: accuracy, intervals: { tokenF1: [0.2, 0.9] }, promptTokens: kind === 'soft' ? 14 : 10, outputTokens: 2.5, msPerExample: 3.2, ...extra };
}

/** A workspace with a spec file, its test data and one finished text-target run. */
function targetWorkspace(metric: EvalFile['metric'] = 'exactMatch', evaluated = true): { dir: string; specFile: string; runDir: string; testFile: string } {
  const dir = tempDir('ptune-target-');
  mkdirSync(join(dir, 'data'));
  const testFile = join(dir, 'data', 'test.jsonl');
  writeFileSync(testFile, STORIES.map((story, i) => JSON.stringify({ story, subject: SUBJECTS[i] })).join('\n') + '\n');
  writeFileSync(join(dir, 'data', 'train.jsonl'), STORIES.map((story, i) => JSON.stringify({ story, subject: SUBJECTS[i] })).join('\n') + '\n');
  const specFile = join(dir, 'subject.ptune.json');
  writeFileSync(specFile, JSON.stringify(targetSpec(dir)));
  const runDir = writeTargetRun(dir, specFile, testFile, 'subject', OUTPUTS, metric, evaluated);
  return { dir, specFile, runDir, testFile };
}

/** A finished text-target run of the workspace's spec: each prompt's outputs per example, scored against SUBJECTS. */
function writeTargetRun(dir: string, specFile: string, testFile: string, name: string, outputsOf: Record<string, string[]>, metric: EvalFile['metric'] = 'exactMatch', evaluated = true): string {
  const spec = targetSpec(dir);
  const run = RunDir.create(runsRootFor(dir), name);
  const now = '2025-03-07T09:05:30.000Z';
  const record: Unversioned<RunRecord> = { id: run.id, name, specFile, spec, seed: 0, model: { id: 'stories260K', folder: '/models/stories260K', revision: null, files: {} }, device: 'cpu', status: 'completed', createdAt: now, updatedAt: now, step: 4, steps: 4, bestStep: 4, bestDevAccuracy: 0.75 };
  run.writeRecord(record);
  const rows: MetricRow[] = [{ step: 1, loss: 3 }, { step: 2, loss: 2.5 }, { step: 2, split: 'dev', devAccuracy: 0.25, devNll: 2, devMetric: metric === 'exactMatch' ? 0.25 : 0.4, metric: metric! }, { step: 3, loss: 2 }, { step: 4, loss: 1.5 }, { step: 4, split: 'dev', devAccuracy: 0.75, devNll: 1.2, devMetric: metric === 'exactMatch' ? 0.75 : 0.8, metric: metric! }];
  run.writeMetrics(rows);
  if (!evaluated) return run.dir;
  const predictions: Prediction[] = [];
  const exactShare: Record<string, number> = {};
  for (const [promptId, outputs] of Object.entries(outputsOf)) {
    outputs.forEach((output, i) => {
      const exact = normalizeAnswer(output) === normalizeAnswer(SUBJECTS[i]);
      exactShare[promptId] = (exactShare[promptId] ?? 0) + (exact ? 1 / outputs.length : 0);
      const contains = output.toLowerCase().includes(SUBJECTS[i].toLowerCase());
      const assertions: AssertionResult[] | undefined = promptId === 'zero-shot' ? [{ type: 'icontains', value: SUBJECTS[i], pass: contains, ...(contains ? {} : { reason: `expected the output to contain "${SUBJECTS[i]}"` }) }] : undefined;
      predictions.push({ index: i, line: i + 1, promptId, kind: promptId === 'soft' ? 'soft' : 'discrete', gold: SUBJECTS[i], prediction: output, correct: exact, scores: null, output, target: SUBJECTS[i], outputTokens: output.split(' ').length, metrics: { exactMatch: exact ? 1 : 0, tokenF1: exact ? 1 : 0.2, chrF: exact ? 1 : 0.1, rougeL: exact ? 1 : 0.2, nll: 1 + i }, ...(assertions ? { assertions } : {}) });
    });
  }
  run.writeEval({ split: 'test', file: testFile, task: 'target', metric, labels: [], verbalizer: {}, truncated: 0, results: [targetResult('zero-shot', 'discrete', exactShare['zero-shot'], { passRate: 0.5, intervals: { tokenF1: [0.2, 0.9], passRate: [0.2, 0.8] } }), targetResult('soft', 'soft', exactShare.soft)] });
  const writer = run.predictionsWriter();
  writer.add(predictions);
  writer.commit();
  return run.dir;
}

describe('the comparison panel\'s data of a text-target run', () => {
  it('holds the task, the headline metric, each prompt\'s text figures and cost, and outputs as cells', async () => {
    const { runDir } = targetWorkspace();
    const { data } = await loadComparison([runDir]);
    assert.equal(data.task, 'target');
    assert.equal(data.metric, 'exactMatch');
    assert.deepEqual(data.labels, []);
    const zero = data.prompts.find((p) => p.key === 'zero-shot')!;
    assert.equal(zero.macroF1, null);
    assert.deepEqual(zero.confusion, []);
    assert.deepEqual(zero.text, { tokenF1: 0.6, chrF: 0.55, rougeL: 0.5, passRate: 0.5, intervals: { tokenF1: [0.2, 0.9], passRate: [0.2, 0.8], exactMatch: [0.25, 0.7] } });
    assert.deepEqual([zero.promptTokens, zero.outputTokens, zero.msPerExample], [10, 2.5, 3.2]);
    assert.equal(data.examples.length, 4);
    const second = data.examples[1];
    assert.equal(second.gold, 'Tom');
    assert.equal(second.input, 'Tom ran to the park. Who is it about?');
    assert.deepEqual(second.cells['zero-shot'], { prediction: 'The dog went home', correct: false, score: null, metrics: { exactMatch: 0, tokenF1: 0.2, chrF: 0.1, rougeL: 0.2, nll: 2 }, assertions: { passed: 0, total: 1 } });
    assert.equal(second.cells.soft.assertions, undefined);
    // the dev curve is the headline metric
    assert.deepEqual(data.curves[0].devMetric, { name: 'exactMatch', points: [[2, 0.25], [4, 0.75]] });
    // filters on the data as the panel has it: the zero-shot prompt fails on lines 2 and 4
    assert.deepEqual(filterExamples(data, { kind: 'wrong', prompt: 'zero-shot' }, '').map((r) => r.line), [2, 4]);
    assert.deepEqual(filterExamples(data, 'fails', '').map((r) => r.line), [2, 4]);
  });

  it('the detail of an example: the whole output, each metric, and each assertion\'s verdict with its reason; k-shot demonstrations end with their target', async () => {
    const { runDir } = targetWorkspace();
    const source = await loadComparison([runDir]);
    const detail = (await source.detail(source.data.examples[3].file, 4))!;
    assert.equal(detail.gold, 'Sue');
    const zero = detail.prompts.find((p) => p.key === 'zero-shot')!;
    assert.equal(zero.output, 'Tom');
    assert.equal(zero.correct, false);
    assert.deepEqual(zero.metrics, { exactMatch: 0, tokenF1: 0.2, chrF: 0.1, rougeL: 0.2, nll: 4 });
    assert.deepEqual(zero.assertions, [{ type: 'icontains', value: 'Sue', pass: false, reason: 'expected the output to contain "Sue"' }]);
    assert.equal(zero.outputTokens, 1);
    assert.equal(zero.prompt?.parts.map((p) => p.text).join(''), 'Sue ate a cake. Who is it about?');
    assert.equal(detail.prompts.find((p) => p.key === 'soft')!.output, 'Sue.');
  });

  it('exports each prompt\'s output, exact match, token F1 and assertions; the Markdown leads with the text figures and cost', async () => {
    const { runDir } = targetWorkspace();
    const { data } = await loadComparison([runDir]);
    const csv = exportExamples(data, data.examples, 'csv').trim().split('\n');
    assert.equal(csv[0], 'line,input,target,zero-shot,zero-shot: exact,zero-shot: token F1,zero-shot: assertions,soft,soft: exact,soft: token F1,soft: assertions');
    assert.equal(csv[2], '2,Tom ran to the park. Who is it about?,Tom,The dog went home,no,0.200,0/1 (fails),Tom,yes,1.000,');
    const md = exportExamples(data, data.examples.slice(0, 1), 'md');
    assert.match(md, /^\| prompt \| kind \| exact match \| token F1 \| chrF \| ROUGE-L \| NLL\/token \| pass rate \| prompt tokens \| output tokens \| ms\/example \|/);
    assert.match(md, /\| soft \| soft \| 100\.0% \| 110\.0% \| 105\.0% \| 100\.0% \| 0\.800 \|  \| 14\.0 \| 2\.5 \| 3\.2 \|/);
  });

  it('refuses to put a label run and a text-target run in one table, naming both', async () => {
    const target = targetWorkspace();
    const label = RunDir.create(runsRootFor(tempDir()), 'mood');
    const now = new Date().toISOString();
    label.writeRecord({ id: label.id, name: 'mood', specFile: null, spec: null, device: 'cpu', status: 'completed', createdAt: now, updatedAt: now, step: 1, steps: 1, bestStep: null, bestDevAccuracy: null });
    label.writeEval({ split: 'test', file: target.testFile, labels: ['happy', 'sad'], verbalizer: { happy: 'happy', sad: 'sad' }, truncated: 0, results: [{ id: 'zero-shot', kind: 'discrete', taskParameters: 0, count: 1, accuracy: 1, macroF1: 1, confusion: [[1, 0], [0, 0]], nll: 1, predictedRate: { happy: 1 }, auc: null }] });
    await assert.rejects(loadComparison([target.runDir, label.dir]), /mood.* answers with a label and .*subject.* with a text output: .*cannot be compared side by side/);
    // Compare Runs refuses their diff too, in words
    const refused = diffOfPickedRuns([target.runDir, label.dir]);
    assert.equal(refused?.kind, 'refused');
  });

  it('Compare Runs of two text-target runs: the newer against the older on exact match, with no macro-F1', async () => {
    const { dir, specFile, runDir, testFile } = targetWorkspace();
    // the second run's soft prompt gets line 4 wrong
    const later = writeTargetRun(dir, specFile, testFile, 'subject-b', { ...OUTPUTS, soft: ['Lily', 'Tom', 'Ben', 'Sam'] });
    const diff = diffOfPickedRuns([later, runDir])!;
    assert.equal(diff.kind, 'diff');
    if (diff.kind !== 'diff') return;
    assert.match(diff.title, /subject-b vs .*subject$/);
    assert.match(diff.markdown, /\| exact match \| 100\.0% \| 75\.0% \| -25\.0 pts \|/);
    assert.doesNotMatch(diff.markdown, /macro-F1|undefined|NaN/);
    // both runs side by side in one panel: each prompt keyed by its run
    const { data } = await loadComparison([runDir, later]);
    assert.equal(data.task, 'target');
    assert.equal(data.prompts.length, 4);
    assert.equal(data.examples[3].cells[`${RunDir.open(later).id}/soft`].prediction, 'Sam');
  });
});

describe('inline marks of a text-target run', () => {
  it('each line: pass or fail per prompt, a failing output cut short; the hover has output against target and failed assertions', () => {
    const { specFile, testFile } = targetWorkspace();
    const results = resultsForDataset(testFile, [specFile])!;
    assert.equal(results.task, 'target');
    assert.deepEqual(results.prompts.map((p) => [p.id, p.headline]), [['zero-shot', { metric: 'exactMatch', value: 0.5 }], ['soft', { metric: 'exactMatch', value: 1 }]]);
    const shown = inlinePrompts(results.prompts, 'soft-vs-best');
    assert.deepEqual(shown.map((s) => [s.mark, s.id]), [['soft', 'soft'], ['best', 'zero-shot']]);
    assert.equal(promptFigure(results.prompts[0]), 'exact match 50.0%');
    const { marks } = lineMarks(results.lines.values(), shown);
    assert.deepEqual(marks.map((m) => [m.line, m.text, m.outcome]), [[1, 'soft ✓ · best ✓', 'right'], [2, 'soft ✓ · best ✗ The dog wen…', 'mixed'], [3, 'soft ✓ · best ✓', 'right'], [4, 'soft ✓ · best ✗ Tom', 'mixed']]);
    const hover = hoverMarkdown(results.lines.get(2)!, results, shown);
    assert.match(hover, /^\*\*Target: Tom\*\* \(run .*subject.*, test split\)/);
    assert.match(hover, /\*\*best\*\* = zero-shot \(best discrete, exact match 50\.0% on test\)/);
    assert.match(hover, /✓ passes every assertion \(an exact match where a prompt has none\), ✗ fails/);
    assert.match(hover, /\| mark \| prompt \| output \| exact \| token F1 \| assertions \|/);
    assert.match(hover, /\| best \| zero-shot \(discrete\) \| ✗ The dog went home \| no \| 20\.0% \| 0\/1 \|/);
    assert.match(hover, /\| soft \| soft \(soft\) \| ✓ Tom \| yes \| 100\.0% \| {2}\|/);
    assert.match(hover, /Failed assertions:\n\n- zero-shot: ✗ `icontains` expected the output to contain "Tom"$/);
  });

  it('a prompt with assertions passes on them, whatever its exact match', () => {
    const r = { line: 1, gold: 'Ben', predictions: [{ promptId: 'p', kind: 'discrete', prediction: 'Ben and Sue', correct: true, scores: null, exact: false, assertions: { passed: 1, total: 1, failed: [] } }] };
    assert.equal(markText(r, [{ id: 'p', kind: 'discrete', accuracy: 0, mark: 'p', role: null }]), 'p ✓');
    const empty = { ...r, predictions: [{ ...r.predictions[0], prediction: '  ', correct: false }] };
    assert.equal(markText(empty, [{ id: 'p', kind: 'discrete', accuracy: 0, mark: 'p', role: null }]), 'p ✗ (empty)');
  });
});

describe('the Experiments tree and the Run view of a text-target run', () => {
  it('a row leads with its headline metric; the tooltip gives each prompt\'s exact match with its interval', () => {
    const { specFile, runDir } = targetWorkspace();
    const node = specNode(specFile).runs[0];
    const record = RunDir.open(runDir).record;
    assert.equal(node.label, `soft exact match 100.0% · ${runLabel(record)}`);
    assert.equal(node.description, 'best discrete 50.0%');
    assert.match(node.tooltip, /results \(95% interval of exact match\):\nzero-shot: exact match 50\.0% \(25\.0-70\.0\)\nsoft: exact match 100\.0% \(50\.0-100\.0\)/);
    // another headline metric leads where the spec chose it; NLL ranks lowest first
    const results = RunDir.open(runDir).readEval().results;
    assert.match(runNode(runDir, record, results, undefined, { task: 'target', metric: 'chrF' }).label, /^soft chrF 105\.0% · /);
    assert.match(runNode(runDir, record, results, undefined, { task: 'target', metric: 'nll' }).label, /^soft NLL\/token 0\.800 · /);
    assert.equal(runNode(runDir, record, results, undefined, { task: 'target', metric: 'nll' }).description, 'best discrete 2.400');
    assert.match(runNode(runDir, record, results, undefined, { task: 'target', metric: 'chrF' }).tooltip, /\nzero-shot: chrF 55\.0%, exact match 50\.0% \(25\.0-70\.0\)/);
  });

  it('the Run view\'s dev curve is the headline metric, named; how the run ended, in its words', () => {
    const { runDir } = targetWorkspace('chrF');
    const view = runViewReset(null, null, RunDir.open(runDir));
    assert.equal(view.metric, 'chrF');
    assert.deepEqual(view.devAccuracy, [[2, 0.4], [4, 0.8]]);
    assert.equal(view.ended, 'test, chrF: zero-shot 55.0%, soft 105.0%');
    // a label run's line is as it was
    assert.equal(resultsLine('test', [{ id: 'a', accuracy: 0.5, nll: 1 }]), 'test: a 50.0%');
    // a job's summary of a text target (its rows carry token F1) names exact match
    const job = { kind: 'train', specFile: 's.ptune.json', device: 'cpu' } as const;
    assert.equal(outcomeLine({ job, summary: { runDir, split: 'test', status: 'completed', results: [{ id: 'soft', kind: 'soft', accuracy: 0.41, nll: 1, tokenF1: 0.5 }] } }), 'test, exact match: soft 41.0%');
  });

  it('a live job\'s dev curve follows the trainer\'s headline metric', () => {
    const view = runViewReset({ job: { kind: 'train', specFile: 's', device: 'cpu' }, runDir: '/r', runId: 'r', step: 2, steps: 4, loss: [[1, 2]], devAccuracy: [[2, 0.3]], devMetric: 'tokenF1', etaSeconds: 1, status: 'running' }, null, null);
    assert.equal(view.metric, 'tokenF1');
  });
});

describe('New Experiment: the field holding a text output', () => {
  const stat = (field: string, strings: number, meanLength: number, distinct: number): FieldStats => ({ field, strings, meanLength, distinct, examples: [] });

  it('proposes a short string field with many values, other than the text; usual names first', () => {
    const stats = [stat('story', 200, 400, 200), stat('mood', 200, 4, 2), stat('city', 200, 8, 150), stat('subject', 200, 5, 14), stat('id', 0, 0, 0)];
    assert.deepEqual(targetCandidates(stats, 'story').map((c) => c.field), ['subject', 'city']);
  });

  it('a label with a few values is no candidate unless its name says so; nor a field longer than the text', () => {
    assert.deepEqual(targetCandidates([stat('text', 100, 50, 100), stat('label', 100, 3, 2), stat('notes', 100, 80, 100)], 'text').map((c) => c.field), []);
    // named: a target with repeated values still qualifies
    assert.deepEqual(targetCandidates([stat('text', 100, 50, 100), stat('answer', 100, 6, 3)], 'text').map((c) => c.field), ['answer']);
    // a field with one value says nothing
    assert.deepEqual(targetCandidates([stat('text', 100, 50, 100), stat('answer', 100, 6, 1)], 'text').map((c) => c.field), []);
  });

  it('ranks by the usual names in their order, then by the share of distinct values; without a text field named, the longest is the text', () => {
    const stats = [stat('question', 100, 60, 100), stat('output', 100, 10, 90), stat('answer', 100, 12, 60), stat('title', 100, 20, 95), stat('code', 100, 5, 40)];
    assert.deepEqual(targetCandidates(stats).map((c) => c.field), ['answer', 'output', 'title', 'code']);
    assert.deepEqual(targetCandidates([]), []);
  });
});

describe('New Experiment on the bundled subject data', () => {
  it('proposes subject as the target, and writes a spec with data.target, no verbalizer, the default metric, that loads', async () => {
    const dir = tempDir('ptune-wizard-');
    mkdirSync(join(dir, 'data'));
    for (const split of ['train', 'dev', 'test']) copyFileSync(join(root, 'data', 'subject', `${split}.jsonl`), join(dir, 'data', `${split}.jsonl`));
    const profile = await profileDataset(join(dir, 'data', 'train.jsonl'));
    assert.equal(profile.textCandidates[0], 'story');
    assert.equal(profile.targetCandidates[0].field, 'subject');
    assert.ok(profile.targetCandidates[0].distinct >= 10, `${profile.targetCandidates[0].distinct} distinct subjects`);
    const spec = buildSpec({ name: 'subject', specDir: dir, model: storiesDir, train: join(dir, 'data', 'train.jsonl'), dev: profile.dev, test: profile.test, textField: 'story', targetField: 'subject', discreteTemplate: '{story} The story is about the' });
    const data = spec.data as Record<string, unknown>;
    assert.equal(data.target, '{subject}');
    assert.equal('verbalizer' in data || 'label' in data, false);
    assert.equal('evaluation' in spec, false, 'evaluation.metric stays at its default');
    writeFileSync(join(dir, 'subject.ptune.json'), JSON.stringify(spec));
    const loaded = loadSpec(join(dir, 'subject.ptune.json')).spec;
    assert.equal(loaded.evaluation.metric, 'exactMatch');
    assert.equal(loaded.training.sampling, 'random');
    assert.equal(loaded.softPrompt.init, 'sampled-vocab');
  });
});

describe('a text-target job through the job manager', { timeout: 5 * 60_000 }, () => {
  it('the live dev curve is the trainer\'s headline metric, as metrics.jsonl records it; the job ends in its words', async () => {
    const dir = tempDir('ptune-target-job-');
    mkdirSync(join(dir, 'data'));
    for (const [split, count] of [['train', 40], ['dev', 12], ['test', 12]] as const) {
      writeFileSync(join(dir, 'data', `${split}.jsonl`), readFileSync(join(root, 'data', 'subject', `${split}.jsonl`), 'utf8').split('\n').slice(0, count).join('\n') + '\n');
    }
    const example = JSON.parse(readFileSync(join(root, 'examples', 'subject', 'subject.ptune.json'), 'utf8'));
    delete example.$schema;
    const specFile = join(dir, 'subject.ptune.json');
    writeFileSync(specFile, JSON.stringify({
      ...example, model: storiesDir,
      data: { ...example.data, train: './data/train.jsonl', dev: './data/dev.jsonl', test: './data/test.jsonl' },
      evaluation: { ...example.evaluation, metric: 'tokenF1' },
      softPrompt: { length: 4, init: 'sampled-vocab' }, training: { ...example.training, steps: 4, batchSize: 4, evalEvery: 2 },
    }));
    const jobs = new JobManager();
    const logs: string[] = [];
    jobs.onLog((l) => logs.push(l));
    const outcome = await jobs.run({ kind: 'train', specFile, device: 'cpu' });
    assert.equal(outcome.summary?.status, 'completed', outcome.error?.message);
    const live = jobs.lastFinished!.live;
    assert.equal(live.devMetric, 'tokenF1');
    const dev = RunDir.open(outcome.summary!.runDir).readMetrics().filter((m) => m.split === 'dev');
    assert.deepEqual(live.devAccuracy, dev.map((m) => [m.step, m.devMetric]));
    assert.ok(logs.some((l) => /^step 2: dev token F1 \d+\.\d%, dev exact match \d+\.\d%, dev NLL\/token \d+\.\d{3}$/.test(l)), logs.join('\n'));
    assert.match(outcomeLine(outcome), /^test, token F1: zero-shot \d+\.\d%, question \d+\.\d%, 4-shot \d+\.\d%, soft \d+\.\d%$/);
    const view = runViewReset(null, jobs.lastFinished, null);
    assert.equal(view.metric, 'tokenF1');

    // the detail pane's prompts are what the evaluator read: a 4-shot prompt's demonstrations end with their targets
    const source = await loadComparison([outcome.summary!.runDir]);
    const loaded = loadSpec(specFile);
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const evaluator = new Evaluator(lm, loaded.spec, await readSplit(loaded, 'train'));
    const test = await readSplit(loaded, 'test');
    const written = RunDir.open(outcome.summary!.runDir).readPredictions();
    for (const example of test.examples.slice(0, 3)) {
      const detail = (await source.detail(source.data.examples[0].file, example.line))!;
      // the target as outputs are compared with it: up to its first stop string (the spec stops at ".")
      assert.equal(detail.gold, example.target!.replace(/\.$/, ''));
      for (const d of loaded.spec.discretePrompts) {
        const shown = detail.prompts.find((p) => p.key === d.id)!;
        assert.equal(renderedText(shown.prompt!), evaluator.prompts.discrete(d, loaded.spec.training.seed).text(example), `${d.id} line ${example.line}`);
        const row = written.find((r) => r.promptId === d.id && r.line === example.line)!;
        assert.equal(shown.output, row.output);
        assert.deepEqual(shown.assertions, row.assertions);
      }
      const kshot = detail.prompts.find((p) => p.key === '4-shot')!.prompt!;
      const shots = kshot.parts.filter((x) => x.kind === 'shot');
      assert.equal(shots.length, 4);
      for (const shot of shots) assert.match(shot.text, / The story is about the [a-z ]+\.$/);
    }
  });
});
