// Two runs as a diff: the exact McNemar p-value against hand-computed values, the paired bootstrap
// interval, the examples fixed and broken on hand-made run folders, the spec differences, the
// refusal of runs evaluated on different examples, `ptune compare --diff --json` and the view model
// Compare Runs uses for two picked runs; text-target runs compared on their headline metric.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/common/errors.js';
import { computeRunDiff, mcnemarExact, pairedBootstrap, type RunDiff } from '../src/common/run-diff.js';
import { jsonDifferences } from '../src/common/json-diff.js';
import { RunDir } from '../src/common/run-folder.js';
import type { Prediction, PromptResult, RunRecord, Unversioned } from '../src/common/run-files.js';
import { loadSpec, type Spec } from '../src/common/spec.js';
import { main } from '../src/cli/main.js';
import { diffOfPickedRuns } from '../src/extension/logic/run-diff-view.js';
import { root, tempDir } from './helpers.js';
import { checkAssertions } from '../src/common/assertions.js';
import { formatRunDiff } from '../src/common/run-diff.js';
import type { AssertionSpec, EvalFile } from '../src/common/run-files.js';
import { scoreText } from '../src/common/text-metrics.js';

describe('exact McNemar test', () => {
  it('b = 10, c = 2: p = 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096 = 0.0385742...', () => {
    assert.equal(mcnemarExact(10, 2), 158 / 4096);
    assert.equal(mcnemarExact(2, 10), 158 / 4096);
    assert.ok(Math.abs(mcnemarExact(10, 2) - 0.0385742) < 1e-7);
  });

  it('b = 0, c = 6: p = 2 / 2^6 = 0.03125; b = 3, c = 1: p = 2 * (1 + 4) / 16 = 0.625', () => {
    assert.equal(mcnemarExact(0, 6), 0.03125);
    assert.equal(mcnemarExact(3, 1), 0.625);
  });

  it('is capped at 1 (balanced discordant pairs) and is 1 with no discordant pair', () => {
    // b = c = 5: 2 * (1 + 10 + 45 + 120 + 210 + 252) / 1024 = 1276 / 1024 > 1
    assert.equal(mcnemarExact(5, 5), 1);
    assert.equal(mcnemarExact(0, 0), 1);
    assert.equal(mcnemarExact(0, 1), 1);
  });

  it('stays exact where 2^n overflows a double: b = 0, c = 1060 gives 2^-1059', () => {
    assert.equal(mcnemarExact(0, 1060), 2 ** -1059);
  });

  it('agrees with a floating-point binomial sum at n = 100', () => {
    let term = 1;
    let sum = 1;
    for (let i = 0; i < 37; i++) {
      term = (term * (100 - i)) / (i + 1);
      sum += term;
    }
    const expected = (2 * sum) / 2 ** 100;
    assert.ok(Math.abs(mcnemarExact(37, 63) - expected) / expected < 1e-12, `${mcnemarExact(37, 63)} vs ${expected}`);
  });

  it('refuses counts that are not whole numbers', () => {
    assert.throws(() => mcnemarExact(-1, 2), RangeError);
    assert.throws(() => mcnemarExact(1.5, 2), RangeError);
  });
});

describe('paired bootstrap interval', () => {
  const a = Array.from({ length: 40 }, (_, i) => i % 3 === 0);
  const b = Array.from({ length: 40 }, (_, i) => i % 3 === 0 || i % 5 === 1);

  it('is the same for the same seed, and contains the observed difference', () => {
    const first = pairedBootstrap(a, b, { resamples: 2000, seed: 7 });
    const second = pairedBootstrap(a, b, { resamples: 2000, seed: 7 });
    assert.deepEqual(first, second);
    const observed = (b.filter(Boolean).length - a.filter(Boolean).length) / 40;
    assert.equal(first.observed, observed);
    assert.ok(first.low <= observed && observed <= first.high, `${first.low} .. ${first.high} around ${observed}`);
    assert.ok(first.low < first.high);
    assert.notDeepEqual(pairedBootstrap(a, b, { resamples: 2000, seed: 8 }), first);
  });

  it('is a single point where both prompts agree on every example', () => {
    const iv = pairedBootstrap(a, a);
    assert.equal(iv.low, 0);
    assert.equal(iv.high, 0);
  });
});

describe('JSON differences', () => {
  it('lists path: a -> b through objects and arrays, with unset fields absent', () => {
    assert.deepEqual(jsonDifferences({ t: { lr: 0.3, s: 1 }, p: [{ id: 'x' }], only: 1 }, { t: { lr: 0.1, s: 1 }, p: [{ id: 'y' }, { id: 'z' }] }), [
      { path: 't.lr', a: 0.3, b: 0.1 },
      { path: 'p[0].id', a: 'x', b: 'y' },
      { path: 'p[1]', b: { id: 'z' } },
      { path: 'only', a: 1 },
    ]);
    assert.deepEqual(jsonDifferences({ a: 1 }, { a: 1 }), []);
  });
});

const moodSpec = loadSpec(join(root, 'examples', 'mood', 'mood.ptune.json')).spec;
const dataFile = '/data/mood/test.jsonl';

/**
 * 20 examples (lines 2..21): 0-9 wrong under A's soft prompt and right under B's (10 fixed),
 * 10-11 right under A and wrong under B (2 broken), 12-15 right under both, 16-19 wrong under both.
 */
const correctA = (i: number) => (i >= 10 && i <= 15);
const correctB = (i: number) => i <= 9 || (i >= 12 && i <= 15);
const gold = (i: number) => (i % 2 === 0 ? 'happy' : 'sad');
const other = (label: string) => (label === 'happy' ? 'sad' : 'happy');

function result(id: string, kind: 'soft' | 'discrete', accuracy: number, macroF1: number): PromptResult {
  return { id, kind, taskParameters: kind === 'soft' ? 64 : 0, count: 20, accuracy, macroF1, confusion: [[0, 0], [0, 0]], nll: 1, predictedRate: { happy: 0.5, sad: 0.5 }, auc: 0.5 };
}

function predictionsOf(promptId: string, kind: 'soft' | 'discrete', correct: (i: number) => boolean, lines = 20): Prediction[] {
  return Array.from({ length: lines }, (_, i) => {
    const ok = correct(i);
    return { index: i, line: i + 2, promptId, kind, gold: gold(i), prediction: ok ? gold(i) : other(gold(i)), correct: ok, scores: { happy: -1, sad: -2 } };
  });
}

function writeRun(runs: string, name: string, spec: Spec, softId: string, correct: (i: number) => boolean, accuracy: number, macroF1: number, options: { lines?: number; file?: string } = {}): string {
  const run = RunDir.create(runs, name);
  const now = '2025-01-02T03:04:05.000Z';
  const record: Unversioned<RunRecord> = {
    id: run.id, name, specFile: join(root, 'examples', 'mood', 'mood.ptune.json'), spec, seed: spec.training.seed,
    model: { id: 'stories260K', folder: '/models/stories260K', revision: null, files: {} },
    device: 'cpu', status: 'completed', createdAt: now, updatedAt: now, step: 10, steps: 10, bestStep: 10, bestDevAccuracy: 0.5,
  };
  run.writeRecord(record);
  run.writeEval({ split: 'test', file: options.file ?? dataFile, labels: ['happy', 'sad'], verbalizer: { happy: 'happy', sad: 'sad' }, truncated: 0, results: [result(softId, 'soft', accuracy, macroF1), result('zero-shot', 'discrete', 0.5, 0.5)] });
  // the discrete prompt answers the same in both runs: right on even examples
  const predictions = run.predictionsWriter();
  predictions.add([...predictionsOf(softId, 'soft', correct, options.lines), ...predictionsOf('zero-shot', 'discrete', (i) => i % 2 === 0, options.lines)]);
  predictions.commit();
  return run.dir;
}

function twoRuns(options: { lines?: number; file?: string } = {}): { a: string; b: string } {
  const runs = join(tempDir(), 'runs');
  const specB: Spec = { ...moodSpec, softPrompt: { ...moodSpec.softPrompt, id: 'soft-b' }, training: { ...moodSpec.training, learningRate: 0.1 } };
  const a = writeRun(runs, 'a', moodSpec, 'soft', correctA, 0.3, 0.25);
  const b = writeRun(runs, 'b', specB, 'soft-b', correctB, 0.7, 0.69, options);
  return { a, b };
}

async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await fn();
    return { code, out };
  } finally {
    process.stdout.write = write;
  }
}

describe('the diff of two run folders', () => {
  it('pairs each run\'s soft prompt by example: deltas, McNemar, bootstrap, fixed and broken lines, spec differences', () => {
    const { a, b } = twoRuns();
    const d = computeRunDiff(a, b);
    assert.equal(d.a.promptId, 'soft');
    assert.equal(d.b.promptId, 'soft-b');
    assert.equal(d.examples, 20);
    assert.ok(Math.abs(d.accuracyDelta - 0.4) < 1e-12);
    assert.ok(Math.abs(d.macroF1Delta! - 0.44) < 1e-12);
    assert.deepEqual(d.fixedByB.map((e) => e.line), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(d.brokenByB.map((e) => e.line), [12, 13]);
    assert.deepEqual(d.fixedByB[0], { index: 0, line: 2, gold: 'happy', predictionA: 'sad', predictionB: 'happy' });
    assert.deepEqual(d.brokenByB[1], { index: 11, line: 13, gold: 'sad', predictionA: 'sad', predictionB: 'happy' });
    assert.deepEqual(d.mcnemar, { b: 2, c: 10, p: 158 / 4096 });
    assert.ok(Math.abs(d.bootstrap.observed - 0.4) < 1e-12);
    assert.ok(d.bootstrap.low > 0 && d.bootstrap.low <= 0.4 && 0.4 <= d.bootstrap.high, `${d.bootstrap.low} .. ${d.bootstrap.high}`);
    assert.deepEqual(computeRunDiff(a, b).bootstrap, d.bootstrap);
    assert.deepEqual(d.specDifferences, [{ path: 'softPrompt.id', a: 'soft', b: 'soft-b' }, { path: 'training.learningRate', a: 0.3, b: 0.1 }]);
  });

  it('compares a prompt both runs evaluated, or one named in each', () => {
    const { a, b } = twoRuns();
    const same = computeRunDiff(a, b, { a: 'zero-shot', b: 'zero-shot' });
    assert.deepEqual(same.mcnemar, { b: 0, c: 0, p: 1 });
    assert.deepEqual([same.fixedByB, same.brokenByB], [[], []]);
    const crossed = computeRunDiff(a, b, { a: 'zero-shot', b: 'soft-b' });
    // zero-shot is right on even examples; B's soft prompt on 0-9 and 12-15
    assert.deepEqual(crossed.fixedByB.map((e) => e.line), [3, 5, 7, 9, 11, 15, 17]);
    assert.deepEqual(crossed.brokenByB.map((e) => e.line), [12, 18, 20]);
    assert.throws(() => computeRunDiff(a, b, { a: 'missing', b: 'soft-b' }), (e: Error) => e instanceof InputError && e.message.includes('no prompt "missing"') && e.message.includes(join(a, 'eval.json')));
  });

  it('refuses runs evaluated on different example sets, naming both predictions files', () => {
    const { a, b } = twoRuns({ lines: 18 });
    assert.throws(() => computeRunDiff(a, b), (e: Error) => e instanceof InputError
      && e.message.includes('different example sets')
      && e.message.includes('2 only in A (lines 20, 21)')
      && e.message.includes(join(a, 'predictions.jsonl')) && e.message.includes(join(b, 'predictions.jsonl')));
  });

  it('refuses runs evaluated on different data files, naming both eval.json files', () => {
    const { a, b } = twoRuns({ file: '/data/mood/dev.jsonl' });
    assert.throws(() => computeRunDiff(a, b), (e: Error) => e instanceof InputError
      && e.message.includes('different data')
      && e.message.includes(join(a, 'eval.json')) && e.message.includes(join(b, 'eval.json'))
      && e.message.includes('/data/mood/dev.jsonl'));
  });
});

describe('ptune compare --diff', () => {
  it('--json: the diff\'s fields', async () => {
    const { a, b } = twoRuns();
    const { code, out } = await captureStdout(() => main(['compare', a, b, '--diff', '--json']));
    assert.equal(code, 0);
    const d = JSON.parse(out) as RunDiff;
    assert.deepEqual(Object.keys(d), ['a', 'b', 'split', 'file', 'examples', 'accuracyDelta', 'macroF1Delta', 'mcnemar', 'bootstrap', 'fixedByB', 'brokenByB', 'specDifferences']);
    assert.deepEqual(Object.keys(d.a), ['dir', 'runId', 'promptId', 'kind', 'accuracy', 'macroF1']);
    assert.deepEqual(Object.keys(d.bootstrap), ['observed', 'low', 'high', 'confidence', 'resamples', 'seed']);
    assert.equal(d.a.dir, a);
    assert.equal(d.bootstrap.resamples, 2000);
    assert.deepEqual(d.mcnemar, { b: 2, c: 10, p: 158 / 4096 });
    assert.deepEqual(d.brokenByB.map((e) => e.line), [12, 13]);
    const named = JSON.parse((await captureStdout(() => main(['compare', a, b, '--diff', '--prompt', 'zero-shot', '--json']))).out) as RunDiff;
    assert.deepEqual([named.a.promptId, named.b.promptId, named.mcnemar.p], ['zero-shot', 'zero-shot', 1]);
    const pair = JSON.parse((await captureStdout(() => main(['compare', a, b, '--diff', '--prompts', 'zero-shot,soft-b', '--json']))).out) as RunDiff;
    assert.deepEqual([pair.a.promptId, pair.b.promptId], ['zero-shot', 'soft-b']);
  });

  it('prints a readable report, and refuses other than two runs', async () => {
    const { a, b } = twoRuns();
    const { code, out } = await captureStdout(() => main(['compare', a, b, '--diff']));
    assert.equal(code, 0);
    assert.match(out, /\| accuracy \| 30\.0% \| 70\.0% \| \+40\.0 pts \|/);
    assert.match(out, /two-sided p = 0\.0386/);
    assert.match(out, /## Fixed by B \(10\)/);
    assert.match(out, /## Broken by B \(2\)\n\n\| line \| gold \| A \| B \|\n\|---:\|---\|---\|---\|\n\| 12 \| happy \| happy \| sad \|/);
    assert.match(out, /- `training\.learningRate`: 0\.3 -> 0\.1/);
    const refused = await captureStdout(() => main(['compare', a, b, a, '--diff']));
    assert.equal(refused.code, 2);
  });
});

describe('Compare Runs with two runs picked', () => {
  it('diffs the newer run against the older, whatever the picking order; nothing for other counts', () => {
    const { a, b } = twoRuns();
    const view = diffOfPickedRuns([b, a]);
    assert.equal(view?.kind, 'diff');
    if (view?.kind !== 'diff') return;
    assert.equal(view.title, `${RunDir.open(b).id} vs ${RunDir.open(a).id}`);
    assert.match(view.markdown, /- A: .*prompt `soft` \(soft\)/);
    assert.equal(diffOfPickedRuns([a]), null);
    assert.equal(diffOfPickedRuns([a, b, a]), null);
  });

  it('says why two runs evaluated on different examples have no diff', () => {
    const { a, b } = twoRuns({ lines: 18 });
    const view = diffOfPickedRuns([a, b]);
    assert.equal(view?.kind, 'refused');
    assert.match(view?.kind === 'refused' ? view.message : '', /different example sets/);
  });
});

// ---- text targets ----

/** 12 examples (lines 2..13); example 4's target is longer than a table cell shows. */
const TARGETS = ['Paris', 'Berlin', 'Madrid', 'Rome', 'Lisbon, which sits on the Tagus estuary and has been the capital of Portugal since the thirteenth century', 'Vienna', 'Warsaw', 'Prague', 'Dublin', 'Athens', 'Oslo', 'Bern'];
/** A: exact on 0, 3, 6, 9; "It is <target>" on 1, 4, 7, 10; no answer on 2, 5, 8, 11. */
const outputA = (i: number) => (i % 3 === 0 ? TARGETS[i] : i % 3 === 1 ? `It is ${TARGETS[i]}` : 'I do not know');
/** B: exact on 0-7, "no idea" on 9, as A on 8, 10, 11: it fixes 1, 2, 4, 5, 7 and breaks 9 (exact match). */
const outputB = (i: number) => (i <= 7 ? TARGETS[i] : i === 9 ? 'no idea' : outputA(i));
const ASSERT: AssertionSpec[] = [{ type: 'icontains', value: '{answer}' }, { type: 'starts-with', value: '{answer}' }];

function targetPredictions(promptId: string, output: (i: number) => string, nll: (i: number) => number): Prediction[] {
  return TARGETS.map((target, i) => {
    const text = output(i);
    const metrics = scoreText(text, target);
    return {
      index: i, line: i + 2, promptId, kind: 'soft', gold: target, prediction: text, correct: metrics.exactMatch === 1, scores: null,
      output: text, target, outputTokens: 3, metrics: { ...metrics, nll: nll(i) }, assertions: checkAssertions(ASSERT, text, { answer: target }),
    };
  });
}

const meanOf = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

function targetResult(id: string, predictions: Prediction[]): PromptResult {
  const m = (name: 'exactMatch' | 'tokenF1' | 'chrF' | 'rougeL' | 'nll') => meanOf(predictions.map((p) => p.metrics![name]!));
  const checks = predictions.flatMap((p) => p.assertions!);
  return {
    id, kind: 'soft', taskParameters: 64, count: predictions.length, accuracy: m('exactMatch'), exactMatch: m('exactMatch'),
    tokenF1: m('tokenF1'), chrF: m('chrF'), rougeL: m('rougeL'), nll: m('nll'), passRate: checks.filter((c) => c.pass).length / checks.length,
  };
}

function writeTargetRun(runs: string, name: string, output: (i: number) => string, nll: (i: number) => number, metric?: EvalFile['metric']): string {
  const run = RunDir.create(runs, name);
  const now = '2025-01-02T03:04:05.000Z';
  run.writeRecord({
    id: run.id, name, specFile: join(root, 'examples', 'mood', 'mood.ptune.json'), spec: moodSpec, seed: moodSpec.training.seed,
    model: { id: 'stories260K', folder: '/models/stories260K', revision: null, files: {} },
    device: 'cpu', status: 'completed', createdAt: now, updatedAt: now, step: 10, steps: 10, bestStep: 10, bestDevAccuracy: null,
  });
  const predictions = targetPredictions('soft', output, nll);
  run.writeEval({ split: 'test', file: '/data/capitals/test.jsonl', task: 'target', ...(metric ? { metric } : {}), labels: [], verbalizer: {}, truncated: 0, results: [targetResult('soft', predictions)] });
  const writer = run.predictionsWriter();
  writer.add(predictions);
  writer.commit();
  return run.dir;
}

function twoTargetRuns(metric?: EvalFile['metric']): { a: string; b: string; predA: Prediction[]; predB: Prediction[] } {
  const runs = join(tempDir(), 'runs');
  const nllA = (i: number) => 2 + i / 10;
  const nllB = (i: number) => (i <= 7 ? 1.5 + i / 10 : nllA(i));
  return {
    a: writeTargetRun(runs, 'a', outputA, nllA, metric), b: writeTargetRun(runs, 'b', outputB, nllB, metric),
    predA: targetPredictions('soft', outputA, nllA), predB: targetPredictions('soft', outputB, nllB),
  };
}

describe('the diff of two text-target runs', () => {
  it('leads with the headline metric: its delta, a paired bootstrap of its per-example difference; McNemar and the changed examples on exact match', () => {
    const { a, b, predA, predB } = twoTargetRuns('tokenF1');
    const d = computeRunDiff(a, b);
    assert.equal(d.task, 'target');
    assert.equal(d.metric, 'tokenF1');
    assert.deepEqual(Object.keys(d), ['a', 'b', 'split', 'file', 'task', 'metric', 'examples', 'accuracyDelta', 'metricDelta', 'mcnemar', 'bootstrap', 'fixedByB', 'brokenByB', 'specDifferences']);
    assert.deepEqual(Object.keys(d.a), ['dir', 'runId', 'promptId', 'kind', 'accuracy', 'metric', 'metricValue']);
    const f1A = predA.map((p) => p.metrics!.tokenF1!);
    const f1B = predB.map((p) => p.metrics!.tokenF1!);
    assert.equal(d.a.metricValue, meanOf(f1A));
    assert.equal(d.b.metricValue, meanOf(f1B));
    assert.equal(d.metricDelta, meanOf(f1B) - meanOf(f1A));
    // exact match: A right on 4 of 12, B on 8 of 12
    assert.ok(Math.abs(d.accuracyDelta - 4 / 12) < 1e-12);
    assert.deepEqual(d.bootstrap, pairedBootstrap(f1A, f1B));
    assert.ok(d.bootstrap.low < d.bootstrap.high && d.bootstrap.low <= d.bootstrap.observed && d.bootstrap.observed <= d.bootstrap.high, `${d.bootstrap.low} .. ${d.bootstrap.high}`);
    assert.deepEqual(computeRunDiff(a, b).bootstrap, d.bootstrap);
    // fixed 1, 2, 4, 5, 7 and broke 9 (lines are index + 2): p = 2 * (1 + 6) / 2^6
    assert.deepEqual(d.fixedByB.map((e) => e.line), [3, 4, 6, 7, 9]);
    assert.deepEqual(d.brokenByB.map((e) => e.line), [11]);
    assert.deepEqual(d.mcnemar, { b: 1, c: 5, p: 14 / 64 });
    assert.deepEqual(d.fixedByB[0], { index: 1, line: 3, gold: 'Berlin', predictionA: 'It is Berlin', predictionB: 'Berlin' });
    assert.deepEqual(d.brokenByB[0], { index: 9, line: 11, gold: 'Athens', predictionA: 'Athens', predictionB: 'no idea' });
  });

  it('compares on exact match where eval.json names no metric, as the 0/1 outcomes', () => {
    const { a, b, predA, predB } = twoTargetRuns();
    const d = computeRunDiff(a, b);
    assert.equal(d.metric, 'exactMatch');
    assert.equal(d.metricDelta, d.accuracyDelta);
    assert.deepEqual(d.bootstrap, pairedBootstrap(predA.map((p) => p.correct), predB.map((p) => p.correct)));
    assert.doesNotMatch(formatRunDiff(d), /\| token F1/);
  });

  it('NLL is lower-better: B\'s smaller NLL is a negative difference', () => {
    const { a, b } = twoTargetRuns('nll');
    const d = computeRunDiff(a, b);
    assert.equal(d.metric, 'nll');
    // B's NLL is 0.5 lower on examples 0-7 and the same on 8-11
    assert.ok(Math.abs(d.metricDelta! - (-0.5 * 8) / 12) < 1e-12, String(d.metricDelta));
    assert.ok(Math.abs(d.bootstrap.observed - (-0.5 * 8) / 12) < 1e-12);
    assert.ok(d.bootstrap.high < 0);
    const md = formatRunDiff(d);
    assert.match(md, /\| NLL\/token \(lower is better\) \| 2\.550 \| 2\.217 \| -0\.333 \|/);
    assert.match(md, /interval of the NLL\/token difference \(negative: B is better\): -0\.\d{3} to -0\.\d{3}/);
  });

  it('passRate: each example\'s share of passing assertions', () => {
    const { a, b, predA, predB } = twoTargetRuns('passRate');
    const d = computeRunDiff(a, b);
    const share = (p: Prediction) => p.assertions!.filter((r) => r.pass).length / p.assertions!.length;
    assert.deepEqual(d.bootstrap, pairedBootstrap(predA.map(share), predB.map(share)));
    // A passes both checks on 0, 3, 6, 9 and icontains only on 1, 4, 7, 10; B both on 0-7, as A on 8, 10, 11, none on 9
    assert.equal(d.a.metricValue, 12 / 24);
    assert.equal(d.b.metricValue, 17 / 24);
    assert.match(formatRunDiff(d), /\| pass rate \| 50\.0% \| 70\.8% \| \+20\.8 pts \|/);
  });

  it('shows targets and outputs as text in Markdown, long ones cut to about 80 characters', () => {
    const { a, b } = twoTargetRuns('tokenF1');
    const md = formatRunDiff(computeRunDiff(a, b));
    assert.match(md, /- Text targets, compared on token F1 \(run A's headline metric\)/);
    assert.match(md, /\| exact match \| 33\.3% \| 66\.7% \| \+33\.3 pts \|\n\| token F1 \| 0\.\d{3} \| 0\.\d{3} \| \+0\.\d{3} \|/);
    assert.match(md, /On exact match, B fixed 5 and broke 1 of the 12 examples\. Exact McNemar test on the 6 discordant examples: two-sided p = 0\.2188\./);
    assert.match(md, /## Broken by B \(1\)\n\n\| line \| target \| A \| B \|\n\|---:\|---\|---\|---\|\n\| 11 \| Athens \| Athens \| no idea \|/);
    const row = md.split('\n').find((l) => l.startsWith('| 6 |'))!;
    const cut = `${TARGETS[4].slice(0, 79)}…`;
    assert.equal(row, `| 6 | ${cut} | It is ${cut.slice(0, 73)}… | ${cut} |`);
  });

  it('refuses a label run against a text-target run, naming both eval.json files', () => {
    const runs = join(tempDir(), 'runs');
    const label = writeRun(runs, 'label', moodSpec, 'soft', correctA, 0.3, 0.25);
    const target = writeTargetRun(runs, 'target', outputA, () => 1);
    for (const [x, y] of [[label, target], [target, label]]) {
      assert.throws(() => computeRunDiff(x, y), (e: Error) => e instanceof InputError
        && e.message.startsWith('cannot compare a label run with a text-target run')
        && e.message.includes(join(label, 'eval.json')) && e.message.includes(join(target, 'eval.json'))
        && e.message.includes('labels happy, sad'));
    }
  });

  it('refuses predictions that do not record the headline metric, naming the file and line', () => {
    const runs = join(tempDir(), 'runs');
    const a = writeTargetRun(runs, 'a', outputA, () => 1, 'chrF');
    const b = RunDir.create(runs, 'b');
    b.writeRecord({ ...RunDir.open(a).record, id: b.id, name: 'b' });
    const predictions = targetPredictions('soft', outputB, () => 1).map((p) => (p.line === 5 ? { ...p, metrics: { exactMatch: 0 } } : p));
    b.writeEval({ ...RunDir.open(a).readEval(), results: [targetResult('soft', targetPredictions('soft', outputB, () => 1))] });
    const writer = b.predictionsWriter();
    writer.add(predictions);
    writer.commit();
    assert.throws(() => computeRunDiff(a, b.dir), (e: Error) => e instanceof InputError
      && e.message === `${join(b.dir, 'predictions.jsonl')}: prompt "soft" has no chrF value for line 5, so the runs cannot be compared on chrF`);
  });

  it('ptune compare --diff --json carries the metric fields', async () => {
    const { a, b } = twoTargetRuns('rougeL');
    const { code, out } = await captureStdout(() => main(['compare', a, b, '--diff', '--json']));
    assert.equal(code, 0);
    const d = JSON.parse(out) as RunDiff;
    assert.deepEqual([d.task, d.metric, d.a.metric, d.macroF1Delta, d.a.macroF1], ['target', 'rougeL', 'rougeL', undefined, undefined]);
    assert.equal(d.fixedByB[2].gold, TARGETS[4]);
  });
});
