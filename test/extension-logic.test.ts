// The extension's logic, without VS Code: new-experiment profiling, the tree model, inline
// results and diagnostics on dataset files, the comparison data and its exports, the job manager,
// what the Run view shows.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { exportExamples, loadComparison } from '../src/extension/logic/comparison-data.js';
import { filterExamples } from '../src/common/example-filter.js';
import { runLabel, runNode, specNode } from '../src/extension/logic/experiments.js';
import { RunDir, runsRootFor } from '../src/common/run-folder.js';
import { hoverMarkdown, inlinePrompts, markText, resultsForDataset } from '../src/extension/logic/inline-results.js';
import { JobManager, outcomeLine } from '../src/extension/logic/jobs.js';
import { newestRun, runViewReset } from '../src/extension/logic/run-view.js';
import { buildSpec, experimentName, labelLengthAdvice, modelAdvice, profileDataset } from '../src/extension/logic/new-experiment.js';
import type { JobSummary, TrainerEvent } from '../src/common/protocol.js';
import { loadSpec } from '../src/common/spec.js';
import { root, storiesDir, tempDir } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';

/** A workspace folder with a small copy of the mood task. */
function moodWorkspace(): string {
  const dir = tempDir('ptune-ext-');
  mkdirSync(join(dir, 'data'));
  for (const [name, count] of [['train', 40], ['dev', 16], ['test', 20]] as const) {
    const lines = readFileSync(join(root, 'data', 'mood', `${name}.jsonl`), 'utf8').split('\n').slice(0, count);
    writeFileSync(join(dir, 'data', `${name}.jsonl`), lines.join('\n') + '\n');
  }
  return dir;
}

describe('new experiment', () => {
  it('profiles a dataset: fields, label candidates with counts, text field, sibling splits', async () => {
    const ws = moodWorkspace();
    const p = await profileDataset(join(ws, 'data', 'train.jsonl'));
    assert.deepEqual(p.fields, ['story', 'mood']);
    assert.equal(p.labelCandidates[0].field, 'mood');
    assert.deepEqual(p.labelCandidates[0].values.map((v) => v.value).sort(), ['happy', 'sad']);
    assert.equal(p.textCandidates[0], 'story');
    assert.equal(p.dev, join(ws, 'data', 'dev.jsonl'));
    assert.equal(p.test, join(ws, 'data', 'test.jsonl'));
  });
  it('builds a spec that loads and validates', async () => {
    const ws = moodWorkspace();
    const spec = buildSpec({ name: experimentName('my mood task'), specDir: ws, model: storiesDir, train: join(ws, 'data', 'train.jsonl'), dev: join(ws, 'data', 'dev.jsonl'), test: join(ws, 'data', 'test.jsonl'), textField: 'story', labelField: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, discreteTemplate: '{story} In the end, everyone was' });
    writeFileSync(join(ws, 'x.ptune.json'), JSON.stringify(spec));
    const loaded = loadSpec(join(ws, 'x.ptune.json'));
    assert.equal(loaded.spec.name, 'my-mood-task');
    assert.equal(loaded.spec.data.train, './data/train.jsonl');
    assert.equal(loaded.spec.discretePrompts.length, 2);
  });
  it('advises the LM-adapted or Flan checkpoints when a span-corruption T5 is chosen', () => {
    for (const id of ['google/t5-v1_1-base', 't5-small', 'google/mt5-base']) assert.match(modelAdvice(id) ?? '', /<extra_id_0>.*google\/t5-base-lm-adapt.*flan-t5/, id);
    for (const id of ['google/t5-base-lm-adapt', 'google/flan-t5-base', 'HuggingFaceTB/SmolLM2-135M', 'Salesforce/codet5-base', storiesDir]) assert.equal(modelAdvice(id), null, id);
    // a folder is a T5 when its config.json says so, whatever its name
    const dir = tempDir();
    const folder = (name: string, modelType: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.json'), JSON.stringify({ model_type: modelType }));
      return join(dir, name);
    };
    assert.ok(modelAdvice(folder('my-checkpoint', 't5')));
    assert.equal(modelAdvice(folder('FLAN-T5-small', 't5')), null);
    assert.equal(modelAdvice(folder('t5-named-llama', 'llama')), null);
  });
  it('warns when label texts differ a lot in length, in characters since the host cannot tokenize', () => {
    assert.match(labelLengthAdvice({ happy: 'very happy indeed today', sad: 'sad' }) ?? '', /^label texts have 3 to 23 characters \(happy 23, sad 3\);.*rankScoring to "mean"/);
    assert.equal(labelLengthAdvice({ happy: 'happy', sad: 'sad' }), null);
    assert.equal(labelLengthAdvice({ yes: 'yes', no: 'not sure' }), null);
  });
});

describe('views of a finished run', () => {
  let ws: string;
  let specFile: string;
  let summary: JobSummary;
  before(async () => {
    ws = moodWorkspace();
    specFile = join(ws, 'mood.ptune.json');
    writeFileSync(specFile, JSON.stringify(buildSpec({ name: 'mood', specDir: ws, model: storiesDir, train: join(ws, 'data', 'train.jsonl'), dev: join(ws, 'data', 'dev.jsonl'), test: join(ws, 'data', 'test.jsonl'), textField: 'story', labelField: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, discreteTemplate: '{story} In the end, everyone was', promptLength: 4 })).replace('"steps":300', '"steps":6').replace('"evalEvery":50', '"evalEvery":3'));
    summary = await runJob({ kind: 'train', specFile, device: 'cpu' }, () => undefined);
  });

  it('the tree shows the spec with its finished run and best metric', () => {
    const node = specNode(specFile);
    assert.equal(node.label, 'mood');
    assert.equal(node.runs.length, 1);
    const run = node.runs[0];
    assert.equal(run.status, 'completed');
    assert.equal(run.icon, 'pass');
    assert.equal(run.contextValue, 'run.completed.evaluated');
    assert.match(run.label, /^soft \d+\.\d% · mood \d\d-\d\d \d\d:\d\d$/);
    assert.match(run.description, /^best discrete \d+\.\d%$/);
  });

  it('a run is labelled by its accuracy, then its name and start time (a narrow side bar cuts the end); the tooltip gives every prompt with intervals', () => {
    const record = RunDir.open(summary.runDir).record;
    const results = RunDir.open(summary.runDir).readEval().results;
    const node = runNode(summary.runDir, { ...record, createdAt: new Date(2025, 2, 7, 9, 5, 30).toISOString() }, results);
    assert.equal(runLabel({ ...record, createdAt: new Date(2025, 2, 7, 9, 5, 30).toISOString() }), 'mood 03-07 09:05');
    const soft = results.find((r) => r.kind === 'soft')!;
    const discrete = Math.max(...results.filter((r) => r.kind === 'discrete').map((r) => r.accuracy));
    assert.equal(node.label, `soft ${(100 * soft.accuracy).toFixed(1)}% · mood 03-07 09:05`);
    assert.equal(node.description, `best discrete ${(100 * discrete).toFixed(1)}%`);
    for (const r of results) assert.match(node.tooltip, new RegExp(`\\n${r.id}: \\d+\\.\\d% \\(\\d+\\.\\d-\\d+\\.\\d\\)`));
    // a run not evaluated yet: how it ended leads, then name and time
    const unevaluated = runNode(summary.runDir, { ...record, status: 'cancelled', step: 2, createdAt: new Date(2025, 2, 7, 9, 5, 30).toISOString() }, null);
    assert.equal(unevaluated.label, 'cancelled at step 2 · mood 03-07 09:05');
    assert.equal(unevaluated.description, '');
    assert.equal(runNode(summary.runDir, { ...record, status: 'failed', createdAt: new Date(2025, 2, 7, 9, 5, 30).toISOString() }, null).label, 'failed · mood 03-07 09:05');
    // a record whose start time does not parse keeps its id
    assert.equal(runNode(summary.runDir, { ...record, createdAt: 'unknown' }, null).label, record.id);
  });

  it('a running job leads its row with its step and loss (a narrow side bar cuts the end); a finished run with its results, whatever the live state', () => {
    const record = { ...RunDir.open(summary.runDir).record, createdAt: new Date(2025, 2, 7, 9, 5, 30).toISOString() };
    const live = { runDir: summary.runDir, step: 3, steps: 6, loss: 0.5 };
    const running = runNode(summary.runDir, { ...record, status: 'running' }, null, live);
    assert.equal(running.label, 'step 3/6, loss 0.500 · mood 03-07 09:05');
    assert.equal(running.description, '');
    assert.equal(running.icon, 'sync~spin');
    // before the first progress event, and a run another process trains: its last checkpoint's step
    assert.equal(runNode(summary.runDir, { ...record, status: 'running', pid: process.pid, step: 2 }, null, { ...live, runDir: '/elsewhere' }).label, 'step 2/6 · mood 03-07 09:05');
    assert.equal(running.contextValue, 'run.running');
    assert.match(specNode(specFile, live).runs[0].label, /^soft \d/);
  });

  it('the Run view of a window that has run no job (as after a reload) shows the run written to last: its curves, how it ended', () => {
    const run = RunDir.open(summary.runDir);
    const view = runViewReset(null, null, newestRun([specFile]));
    assert.equal(view.runId, run.id);
    assert.match(view.ended ?? '', /^test: (\S+ \d+\.\d%, )+soft \d+\.\d%$/);
    assert.deepEqual(view.loss.map(([step]) => step), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(view.devAccuracy.map(([step]) => step), [0, 3, 6]);
    // the last written, whatever the folders' names
    const elsewhere = tempDir('ptune-runs-');
    const runs = runsRootFor(elsewhere);
    for (const id of ['a-written-last', 'z-written-first']) cpSync(run.dir, join(runs, id), { recursive: true });
    writeFileSync(join(runs, 'z-written-first', 'run.json'), JSON.stringify({ ...run.record, updatedAt: '2000-01-01T00:00:00.000Z' }));
    assert.equal(newestRun([join(elsewhere, 'x.ptune.json')])?.id, 'a-written-last');
    // no run at all: the view says no job runs
    assert.deepEqual(runViewReset(null, null, newestRun([join(tempDir(), 'x.ptune.json')])), { type: 'reset', runId: null, steps: 0, loss: [], devAccuracy: [], status: 'idle' });
  });

  it('inline results: each test line marks the soft prompt and the best discrete prompt; the hover lists every prompt', () => {
    const results = resultsForDataset(join(ws, 'data', 'test.jsonl'), [specFile])!;
    assert.ok(results);
    assert.equal(results.split, 'test');
    assert.equal(results.lines.size, 20);
    const first = results.lines.get(1)!;
    assert.deepEqual(first.predictions.map((p) => p.promptId), ['zero-shot', '4-shot', 'soft']);
    assert.deepEqual(results.prompts.map((p) => p.id), ['zero-shot', '4-shot', 'soft']);
    const discrete = results.prompts.filter((p) => p.kind === 'discrete').sort((a, b) => b.accuracy - a.accuracy || (a.id < b.id ? -1 : 1));
    const shown = inlinePrompts(results.prompts, 'soft-vs-best');
    assert.deepEqual(shown.map((s) => s.id), ['soft', discrete[0].id]);
    assert.match(markText(first, shown), /^soft (✓|✗ (happy|sad)) · best (✓|✗ (happy|sad))$/);
    assert.equal(inlinePrompts(results.prompts, 'all').length, 3);
    const hover = hoverMarkdown(first, results, shown);
    assert.match(hover, /\| mark \| prompt \| prediction \| log P\(happy\) \| log P\(sad\) \|/);
    assert.match(hover, new RegExp(`\\*\\*best\\*\\* = ${discrete[0].id} \\(best discrete`));
    assert.equal(hover.match(/\((discrete|soft)\) \|/g)?.length, 3);
    assert.equal(resultsForDataset(join(ws, 'data', 'train.jsonl'), [specFile]), null);
  });

  it('comparison data matches eval.json; filters, search and exports', async () => {
    const data = (await loadComparison([summary.runDir])).data;
    const ev = JSON.parse(readFileSync(join(summary.runDir, 'eval.json'), 'utf8'));
    assert.deepEqual(data.prompts.map((p) => [p.id, p.accuracy]), ev.results.map((r: { id: string; accuracy: number }) => [r.id, r.accuracy]));
    assert.equal(data.examples.length, 20);
    assert.ok(data.examples[0].input.endsWith('In the end, everyone was'));
    assert.ok(data.curves[0].loss.length === 6);
    const disagree = filterExamples(data, 'disagreements', '');
    for (const row of disagree) assert.ok(new Set(Object.values(row.cells).map((c) => c.prediction)).size > 1);
    const softWrong = filterExamples(data, 'soft-wrong', '');
    for (const row of softWrong) assert.equal(row.cells.soft.correct, false);
    assert.ok(filterExamples(data, 'all', 'zzzz-no-such-text').length === 0);
    const csv = exportExamples(data, data.examples, 'csv');
    assert.equal(csv.trim().split('\n').length, 21);
    assert.match(csv.split('\n')[0], /^line,input,gold,zero-shot,4-shot,soft$/);
    const md = exportExamples(data, data.examples.slice(0, 2), 'md');
    assert.match(md, /^\| prompt \| kind \| accuracy \|/);
  });

  it('the panel gets each prompt\'s per-class figures and accuracy interval; an eval.json written before them still reads', async () => {
    const ev = JSON.parse(readFileSync(join(summary.runDir, 'eval.json'), 'utf8'));
    const data = (await loadComparison([summary.runDir])).data;
    data.prompts.forEach((p, k) => {
      assert.deepEqual(p.perClass, ev.results[k].perClass);
      assert.deepEqual(p.accuracyInterval, ev.results[k].accuracyInterval);
      assert.deepEqual(p.perClass!.map((c) => c.label), ['happy', 'sad']);
      assert.equal(p.perClass!.reduce((n, c) => n + c.support, 0), p.count);
      assert.ok(p.accuracyInterval![0] <= p.accuracy && p.accuracy <= p.accuracyInterval![1]);
    });
    const old = tempDir();
    copyFileSync(join(summary.runDir, 'run.json'), join(old, 'run.json'));
    copyFileSync(join(summary.runDir, 'predictions.jsonl'), join(old, 'predictions.jsonl'));
    writeFileSync(join(old, 'eval.json'), JSON.stringify({ ...ev, results: ev.results.map(({ perClass: _p, accuracyInterval: _i, ...rest }: Record<string, unknown>) => rest) }));
    const before = (await loadComparison([old])).data;
    assert.deepEqual(before.prompts.map((p) => [p.id, p.accuracy, p.perClass, p.accuracyInterval]), ev.results.map((r: { id: string; accuracy: number }) => [r.id, r.accuracy, null, null]));
    assert.doesNotMatch(runNode(old, RunDir.open(old).record, RunDir.open(old).readEval().results).tooltip, /\(\d+\.\d-/);
  });

  it('builds the comparison of a 12,000-example split: one row per example with every prompt\'s cell', async () => {
    // a synthetic predictions file of 12,000 rows on top of the real run
    const big = tempDir();
    copyFileSync(join(summary.runDir, 'run.json'), join(big, 'run.json'));
    copyFileSync(join(summary.runDir, 'eval.json'), join(big, 'eval.json'));
    const rows = [];
    for (let i = 0; i < 12000; i++) for (const id of ['zero-shot', 'soft']) rows.push(JSON.stringify({ index: i, line: i + 1, promptId: id, kind: id === 'soft' ? 'soft' : 'discrete', gold: 'happy', prediction: i % 3 ? 'happy' : 'sad', correct: i % 3 !== 0, scores: { happy: -1, sad: -2 } }));
    writeFileSync(join(big, 'predictions.jsonl'), rows.join('\n') + '\n');
    const data = (await loadComparison([big])).data;
    assert.equal(data.examples.length, 12000);
    assert.deepEqual(Object.keys(data.examples[11999].cells), ['zero-shot', 'soft']);
    assert.equal(filterExamples(data, 'soft-wrong', '').length, 4000);
  });
});

describe('job manager', () => {
  it('runs the trainer, tracks live state, and cancels', async () => {
    const ws = moodWorkspace();
    const specFile = join(ws, 'm.ptune.json');
    writeFileSync(specFile, JSON.stringify(buildSpec({ name: 'm', specDir: ws, model: storiesDir, train: join(ws, 'data', 'train.jsonl'), dev: join(ws, 'data', 'dev.jsonl'), textField: 'story', labelField: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, discreteTemplate: '{story} In the end, everyone was', promptLength: 4 })).replace('"steps":300', '"steps":500'));
    const jobs = new JobManager();
    const seen: TrainerEvent['type'][] = [];
    jobs.onEvent((e, live) => {
      seen.push(e.type);
      if (e.type === 'progress' && live && live.step === 4) {
        assert.equal(live.loss.length, 4);
        assert.ok(live.runDir);
        jobs.cancel();
      }
    });
    const pending = jobs.run({ kind: 'train', specFile, device: 'cpu' });
    assert.equal(jobs.busy, true);
    // a second job waits for the first instead of being refused (the queue's own tests: lifecycle.test.ts)
    const second = jobs.submit({ kind: 'train', specFile, device: 'cpu' });
    assert.equal(second.queued, true);
    assert.ok(jobs.removeQueued(second.id));
    assert.equal((await second.outcome).removed, true);
    const outcome = await pending;
    assert.equal(outcome.summary?.status, 'cancelled');
    assert.equal(jobs.busy, false);
    // the Run view keeps the ended job's curves and says how it ended
    assert.equal(jobs.lastFinished?.outcome, outcome);
    assert.ok((jobs.lastFinished?.live.loss.length ?? 0) >= 4, 'the curve up to the cancellation');
    assert.equal(outcomeLine(outcome), 'cancelled');
    for (const t of ['ready', 'run', 'progress', 'eval', 'checkpoint', 'done'] as const) assert.ok(seen.includes(t), t);
  });

  it('reports a bad spec as an error with its location', async () => {
    const ws = moodWorkspace();
    const specFile = join(ws, 'bad.ptune.json');
    writeFileSync(specFile, '{\n  "name": "bad",\n  "model": "x",\n  "data": { "train": "data/train.jsonl", "text": "{story}", "label": "mood", "verbalizer": { "happy": "happy", "sad": "sad" } },\n  "training": { "steps": "many" }\n}\n');
    const outcome = await new JobManager().run({ kind: 'train', specFile, device: 'cpu' });
    assert.match(outcome.error!.message, /bad\.ptune\.json:5: training\.steps must be integer/);
    assert.equal(outcome.error!.location?.line, 5);
    assert.match(outcomeLine(outcome), /^failed: .*bad\.ptune\.json:5: training\.steps must be integer/);
  });

  it('says how a completed job ended: each prompt\'s accuracy on its split', () => {
    const job = { kind: 'train', specFile: 'm.ptune.json', device: 'cpu' } as const;
    const summary = { runDir: '/runs/r', split: 'test', status: 'completed', results: [{ id: 'zero-shot', kind: 'discrete', accuracy: 0.6667, macroF1: 0.6, nll: 1 }, { id: 'soft', kind: 'soft', accuracy: 0.9333, macroF1: 0.9, nll: 0.2 }] } as const;
    assert.equal(outcomeLine({ job, summary: { ...summary, results: [...summary.results] } }), 'test: zero-shot 66.7%, soft 93.3%');
  });
});

describe('the extension host', () => {
  it('never loads onnxruntime or the engine: the trainer process runs models, the host only talks to it', async () => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [join(root, 'src', 'extension', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', write: false, metafile: true,
      external: ['vscode', 'onnxruntime-node', '@huggingface/transformers'], mainFields: ['module', 'main'], logLevel: 'silent', outfile: join(tempDir(), 'x.cjs'),
    });
    const inputs = Object.keys(result.metafile.inputs);
    const imports = Object.values(result.metafile.inputs).flatMap((v) => v.imports.map((i) => i.path));
    assert.ok(!imports.includes('onnxruntime-node'), 'onnxruntime-node is imported by the extension bundle');
    assert.deepEqual(inputs.filter((f) => /src\/engine\/|src\/models\/(language-model|seq2seq-lm|load)\.ts/.test(f)), []);
  });
});
