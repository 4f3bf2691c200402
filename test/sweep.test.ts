// Spec overrides (ptune train --seed/--steps/--length/--set) and sweeps over spec fields and seeds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { listRuns } from '../src/common/run-folder.js';
import { commandUsage } from '../src/cli/main.js';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/common/errors.js';
import { loadSpecWithOverrides, parseOverride } from '../src/common/spec-overrides.js';
import { gridPoints, meanAndStd, runSweep } from '../src/tuning/jobs/sweep.js';
import { sweepChartSvg } from '../src/tuning/reports/sweep-chart.js';
import { sweepAxes } from '../src/cli/sweep.js';
import { OpenModels } from '../src/tuning/jobs/prepare.js';
import { runTrainJob } from '../src/tuning/jobs/train-job.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

const moodSpec = (extra: Record<string, unknown> = {}) => ({
  name: 'mood', model: storiesDir,
  data: { train: join(root, 'data', 'mood', 'train.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 16 },
  softPrompt: { length: 2 }, training: { steps: 4, batchSize: 4, evalEvery: 10, seed: 0 }, evaluation: { generation: false },
  ...extra,
});

const rejects = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof InputError && pattern.test(e.message));

describe('ptune COMMAND --help', () => {
  it('prints that command\'s usage and exits 0', async () => {
    assert.match(commandUsage('sweep'), /^usage: ptune sweep SPEC \[--length 1,5,20\][^\n]*\n  \[--axis PATH=V1,V2 \.\.\.\][\s\S]*standard deviation over seeds\)\n$/);
    assert.equal(commandUsage('demo'), 'usage: ptune demo [--device D]\n  trains a soft prompt on the bundled model and task and prints the comparison\n');
  });
});

describe('spec overrides', () => {
  const spec = workspace(moodSpec());

  it('set typed values by the schema and keep the file\'s lines', () => {
    const loaded = loadSpecWithOverrides(spec, ['softPrompt.length=5', 'training.seed=2', 'softPrompt.init=random-uniform', 'training.learningRate=0.03', 'evaluation.generation=true']);
    assert.equal(loaded.spec.softPrompt.length, 5);
    assert.equal(loaded.spec.training.seed, 2);
    assert.equal(loaded.spec.softPrompt.init, 'random-uniform');
    assert.equal(loaded.spec.training.learningRate, 0.03);
    assert.equal(loaded.spec.evaluation.generation, true);
    // untouched fields keep their defaults and the file's line numbers
    assert.equal(loaded.spec.training.batchSize, 4);
    assert.equal(loaded.lineOf(['softPrompt']), 15);
    assert.equal(loaded.spec.modelTuning.steps, 4);
  });

  it('name an unknown field, with the fields its parent has', () => {
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.lenght=5']), /^override softPrompt\.lenght: softPrompt\.lenght is not a field of the spec \(softPrompt has: id, length, init, /);
    rejects(() => loadSpecWithOverrides(spec, ['trainig.seed=1']), /trainig is not a field of the spec \(the spec has: name, model, /);
    rejects(() => loadSpecWithOverrides(spec, ['training.seed.x=1']), /training\.seed\.x is not a field of the spec \(training\.seed has no fields to set\)/);
    rejects(() => parseOverride('softPrompt.length'), /expected path=value/);
  });

  it('name the override whose value is wrong, by type, schema or consistency', () => {
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.length=abc']), /^override softPrompt\.length=abc: softPrompt\.length must be a whole number$/);
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.length=0']), /^override softPrompt\.length=0: softPrompt\.length must be >= 1$/);
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.length=2.5']), /^override softPrompt\.length=2\.5: softPrompt\.length must be integer$/);
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.init=random']), /^override softPrompt\.init=random: softPrompt\.init must be one of "random-uniform", "sampled-vocab", /);
    rejects(() => loadSpecWithOverrides(spec, ['evaluation.generation=yes']), /must be true or false/);
    // a rule between two fields names the other field at its line in the file, and the override
    rejects(() => loadSpecWithOverrides(spec, ['softPrompt.init=text']), /exp\.ptune\.json:15: softPrompt\.initText is required when init is "text" \(with the overrides softPrompt\.init=text\)$/);
  });
});

describe('sweep pieces', () => {
  it('mean and sample standard deviation', () => {
    assert.deepEqual(meanAndStd([]), { mean: null, std: null, n: 0 });
    assert.deepEqual(meanAndStd([0.5]), { mean: 0.5, std: 0, n: 1 });
    const s = meanAndStd([0.5, 0.75, 1]);
    assert.equal(s.mean, 0.75);
    assert.ok(Math.abs(s.std! - 0.25) < 1e-12, String(s.std));
  });

  it('the grid is every combination, the first axis slowest; axes keep the order of the flags', () => {
    const axes = sweepAxes([
      { kind: 'option', name: 'init', value: 'class-labels,random-uniform' }, { kind: 'option', name: 'seeds', value: '3' },
      { kind: 'option', name: 'axis', value: 'training.batchSize=2, 8' }, { kind: 'positional', value: 'x.ptune.json' }, { kind: 'option', name: 'length', value: '1,5' },
    ]);
    assert.deepEqual(axes, [
      { path: 'softPrompt.init', values: ['class-labels', 'random-uniform'] },
      { path: 'training.batchSize', values: ['2', '8'] },
      { path: 'softPrompt.length', values: ['1', '5'] },
    ]);
    const grid = gridPoints(axes.slice(0, 2));
    assert.deepEqual(grid.map((p) => p.map((o) => o.value).join(' ')), ['class-labels 2', 'class-labels 8', 'random-uniform 2', 'random-uniform 8']);
    assert.deepEqual(gridPoints([]), [[]]);
  });

  it('bad axes are refused before any run', async () => {
    const spec = workspace(moodSpec());
    const runsDir = tempDir('ptune-sweep-');
    const sweep = (axes: { path: string; values: string[] }[], extra: { seeds?: number; overrides?: string[] } = {}) =>
      runSweep({ kind: 'sweep', specFile: spec, device: 'cpu', runsDir, axes, seeds: extra.seeds ?? 1, overrides: extra.overrides }, () => {});
    await assert.rejects(sweep([{ path: 'training.seed', values: ['1', '2'] }]), /training\.seed is not an axis: --seeds N/);
    await assert.rejects(sweep([{ path: 'softPrompt.length', values: ['1'] }, { path: 'softPrompt.length', values: ['2'] }]), /given as an axis twice/);
    await assert.rejects(sweep([{ path: 'training.steps', values: ['1'] }], { overrides: ['training.steps=3'] }), /both an axis and a --set override/);
    await assert.rejects(sweep([{ path: 'softPrompt.length', values: ['1', '0'] }]), /override softPrompt\.length=0: softPrompt\.length must be >= 1/);
    await assert.rejects(sweep([{ path: 'softPrompt.length', values: ['1'] }], { seeds: 0 }), /--seeds 0/);
    assert.deepEqual(readdirSync(runsDir), []);
  });

  it('the chart has one line per value of the second axis, error bars where seeds differ, and its axis labels', () => {
    const axes = [{ path: 'softPrompt.length', values: [1, 5, 20] }, { path: 'softPrompt.init', values: ['class-labels', 'random-uniform'] }];
    const points = axes[0].values.flatMap((length, i) => axes[1].values.map((init, k) => ({
      values: { 'softPrompt.length': length, 'softPrompt.init': init }, accuracy: { mean: 0.5 + 0.1 * i + 0.05 * k, std: k === 0 ? 0.04 : 0, n: 3 },
    })));
    const svg = sweepChartSvg(axes, points, 'mood: test accuracy over 3 seeds');
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.equal(svg.match(/class="error-bar"/g)?.length, 3);
    for (const label of ['softPrompt.length (log scale)', 'test accuracy (%)', '>1<', '>5<', '>20<', 'init=class-labels', 'init=random-uniform', 'mood: test accuracy over 3 seeds']) assert.ok(svg.includes(label), label);
    // log scale: 1 -> 5 spans more of the axis than 5 -> 20 would on a linear one
    const xs = [...svg.matchAll(/<text x="([\d.]+)" y="\d+" text-anchor="middle">(1|5|20)<\/text>/g)].map((m) => Number(m[1]));
    assert.equal(xs.length, 3);
    assert.ok(Math.abs((xs[1] - xs[0]) / (xs[2] - xs[1]) - Math.log10(5) / Math.log10(4)) < 1e-2, xs.join(' '));
  });
});

describe('a sweep on the bundled model', () => {
  it('its runs share one opened model, with the results a model of their own gives', async () => {
    const spec = workspace(moodSpec());
    const models = new OpenModels();
    const quiet = () => undefined;
    try {
      await runTrainJob({ kind: 'train', specFile: spec, device: 'cpu', runName: 'first' }, quiet, undefined, models);
      const shared = await runTrainJob({ kind: 'train', specFile: spec, device: 'cpu', runName: 'shared', overrides: ['softPrompt.length=3', 'training.seed=1'] }, quiet, undefined, models);
      assert.equal(models.size, 1);
      const alone = await runTrainJob({ kind: 'train', specFile: spec, device: 'cpu', runName: 'alone', overrides: ['softPrompt.length=3', 'training.seed=1'] }, quiet);
      const adapter = (dir: string) => readFileSync(join(dir, 'adapter_model.safetensors'));
      assert.ok(adapter(shared.runDir).equals(adapter(alone.runDir)), 'the same soft prompt, bit for bit');
      // every figure but the measured time per example, which no two runs share
      const figures = (rows: typeof alone.results) => rows.map(({ msPerExample, ...rest }) => (assert.equal(typeof msPerExample, 'number'), rest));
      assert.deepEqual(figures(shared.results), figures(alone.results));
    } finally {
      await models.closeAll();
    }
    assert.equal(models.size, 0);
  });

  it('trains one run per point and seed in the sweep folder, prints the JSON line and draws the chart; each run records its overrides', async () => {
    const spec = workspace(moodSpec());
    const runsDir = tempDir('ptune-sweep-');
    // the CLI in its own process: the test runner reports through this process's stdout
    const stdout = execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'sweep', spec, '--length', '1,4', '--init', 'class-labels,random-uniform', '--seeds', '2', '--set', 'training.steps=3', '--json', '--runs-dir', runsDir, '--device', 'cpu'], { encoding: 'utf8' });
    const written = [stdout];
    const lines = written.join('').trim().split('\n');
    const out = JSON.parse(lines[lines.length - 1]) as { runDir: string; split: string; points: { values: Record<string, unknown>; accuracy: { mean: number; std: number; n: number }; runs: { seed: number; runDir: string; accuracy: number; status: string }[] }[] };
    assert.equal(out.split, 'test');
    assert.deepEqual(out.points.map((p) => p.values), [
      { 'softPrompt.length': 1, 'softPrompt.init': 'class-labels' }, { 'softPrompt.length': 1, 'softPrompt.init': 'random-uniform' },
      { 'softPrompt.length': 4, 'softPrompt.init': 'class-labels' }, { 'softPrompt.length': 4, 'softPrompt.init': 'random-uniform' },
    ]);

    // the folder: one sweep folder with its records, chart and the eight runs
    assert.deepEqual(readdirSync(runsDir), [out.runDir.split(/[\\/]/).pop()]);
    const entries = readdirSync(out.runDir).sort();
    for (const f of ['run.json', 'sweep.json', 'sweep.svg']) assert.ok(entries.includes(f), entries.join(' '));
    const runFolders = entries.filter((e) => existsSync(join(out.runDir, e, 'run.json')));
    assert.deepEqual(runFolders.map((e) => e.replace(/^\d{8}-\d{6}-/, '')).sort(), ['length-1_init-class-labels_seed-0', 'length-1_init-class-labels_seed-1', 'length-1_init-random-uniform_seed-0', 'length-1_init-random-uniform_seed-1',
      'length-4_init-class-labels_seed-0', 'length-4_init-class-labels_seed-1', 'length-4_init-random-uniform_seed-0', 'length-4_init-random-uniform_seed-1']);
    assert.equal(JSON.parse(readFileSync(join(out.runDir, 'run.json'), 'utf8')).status, 'completed');
    // the Experiments view and `compare` see the sweep and every run inside it
    const listed = listRuns(runsDir).map((r) => r.dir);
    assert.equal(listed.length, 9);
    for (const f of runFolders) assert.ok(listed.includes(join(out.runDir, f)), f);

    for (const point of out.points) {
      assert.equal(point.accuracy.n, 2);
      assert.deepEqual(point.runs.map((r) => r.seed), [0, 1]);
      const accuracies = point.runs.map((r) => {
        // the run's spec snapshot holds the point's overrides, so a resume compares against them
        const record = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8'));
        assert.equal(record.status, 'completed');
        assert.equal(record.spec.softPrompt.length, point.values['softPrompt.length']);
        assert.equal(record.spec.softPrompt.init, point.values['softPrompt.init']);
        assert.equal(record.spec.training.seed, r.seed);
        assert.equal(record.seed, r.seed);
        assert.equal(record.spec.training.steps, 3);
        assert.equal(record.steps, 3);
        // the point's accuracy is the soft prompt's in the run's own eval.json
        const soft = JSON.parse(readFileSync(join(r.runDir, 'eval.json'), 'utf8')).results.find((x: { id: string }) => x.id === 'soft');
        assert.equal(r.accuracy, soft.accuracy);
        return soft.accuracy as number;
      });
      const mean = (accuracies[0] + accuracies[1]) / 2;
      assert.ok(Math.abs(point.accuracy.mean - mean) < 1e-12);
      assert.ok(Math.abs(point.accuracy.std - Math.abs(accuracies[0] - accuracies[1]) / Math.SQRT2) < 1e-12);
    }
    const sweepJson = JSON.parse(readFileSync(join(out.runDir, 'sweep.json'), 'utf8'));
    assert.deepEqual(sweepJson.points, out.points);
    assert.deepEqual(sweepJson.axes, [{ path: 'softPrompt.length', values: [1, 4] }, { path: 'softPrompt.init', values: ['class-labels', 'random-uniform'] }]);

    const svg = readFileSync(join(out.runDir, 'sweep.svg'), 'utf8');
    // one line per initialisation, each through both lengths
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').length);
    assert.deepEqual(polylines, [2, 2]);
    for (const label of ['softPrompt.length (log scale)', 'test accuracy (%)', '>1<', '>4<', 'init=class-labels', 'init=random-uniform']) assert.ok(svg.includes(label), label);

    // resuming a run of the sweep without its overrides is refused: the spec it ran differs
    const { runJob } = await import('../src/tuning/jobs/index.js');
    await assert.rejects(runJob({ kind: 'train', specFile: spec, device: 'cpu', resume: out.points[0].runs[1].runDir }, () => {}),
      /differs from the spec run .* was started with, in softPrompt\.length: 1 -> 2; training\.steps: 3 -> 4; training\.seed: 1 -> 0/);
  });
});
