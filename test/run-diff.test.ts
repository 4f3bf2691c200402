// Two runs as a diff: the exact McNemar p-value against hand-computed values, the paired bootstrap
// interval, the examples fixed and broken on hand-made run folders, the spec differences, the
// refusal of runs evaluated on different examples, `ptune compare --diff --json` and the view model
// Compare Runs uses for two picked runs.
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
    assert.ok(Math.abs(d.macroF1Delta - 0.44) < 1e-12);
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
