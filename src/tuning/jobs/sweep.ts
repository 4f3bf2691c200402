// Ablations as one job: the spec trained once per point of a grid of spec fields (soft prompt
// length, initialisation, steps, ...) and per seed, the soft prompt's held-out accuracy summarised
// per point as mean and standard deviation over the seeds, with a chart of them.
import { taskKind } from '../../common/spec.js';
import { RunDir, runsRootFor } from '../../common/run-folder.js';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { InputError } from '../../common/errors.js';
import type { Job, JobSummary, ResultRow, SweepAxis } from '../../common/protocol.js';
import { formatOverride, loadSpecWithOverrides, parseOverride, type SpecOverride } from '../../common/spec-overrides.js';
import type { LoadedSpec } from '../../common/spec.js';
import { runTrainJob } from './train-job.js';
import { OpenModels, type Emit } from './prepare.js';
import { sweepChartSvg } from '../reports/sweep-chart.js';
import type { AxisValue, Summary, SweepPoint } from '../../common/run-files.js';

/** `measure`: what the points' figure is: accuracy, or exact match for a text target. */
export interface SweepResult { runDir: string; split: 'test' | 'dev'; status: JobSummary['status']; seeds: number[]; points: SweepPoint[]; measure: string }

/** Shorthand flags of `ptune sweep` and the spec fields they sweep. */
export const AXIS_SHORTHANDS = { length: 'softPrompt.length', init: 'softPrompt.init', steps: 'training.steps', lr: 'training.learningRate' } as const;

/** Mean and sample standard deviation (n - 1: the seeds are a sample of the runs one could make). */
export function meanAndStd(values: number[]): Summary {
  const n = values.length;
  if (n === 0) return { mean: null, std: null, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Every combination of the axes' values, the first axis varying slowest. */
export function gridPoints(axes: SweepAxis[]): SpecOverride[][] {
  return axes.reduce<SpecOverride[][]>((points, axis) => points.flatMap((p) => axis.values.map((value) => [...p, { path: axis.path, value }])), [[]]);
}

const valueAt = (loaded: LoadedSpec, path: string): AxisValue => path.split('.').reduce<any>((o, k) => o?.[k], loaded.spec) as AxisValue;

/** A run folder name for a point and seed: `length-5_init-random-uniform_seed-1`. */
function runName(point: SpecOverride[], seed: number): string {
  return [...point.map((o) => `${o.path.split('.').pop()}-${o.value}`), `seed-${seed}`].join('_').replace(/[^A-Za-z0-9._-]/g, '-');
}

function checkAxes(axes: SweepAxis[], overrides: SpecOverride[], seeds: number): void {
  if (!Number.isInteger(seeds) || seeds < 1) throw new InputError(`sweep: --seeds ${seeds}: expected a whole number of seeds, 1 or more`);
  const seen = new Set<string>();
  for (const axis of axes) {
    if (axis.values.length === 0) throw new InputError(`sweep: the axis ${axis.path} has no values; give them as ${axis.path}=v1,v2`);
    if (seen.has(axis.path)) throw new InputError(`sweep: ${axis.path} is given as an axis twice`);
    if (axis.path === 'training.seed') throw new InputError('sweep: training.seed is not an axis: --seeds N runs every point with N seeds, from the spec\'s seed up');
    if (overrides.some((o) => o.path === axis.path)) throw new InputError(`sweep: ${axis.path} is both an axis and a --set override; keep one`);
    seen.add(axis.path);
  }
}

export async function runSweep(job: Extract<Job, { kind: 'sweep' }>, emit: Emit, signal?: AbortSignal): Promise<SweepResult> {
  const overrides = (job.overrides ?? []).map(parseOverride);
  checkAxes(job.axes, overrides, job.seeds);
  const base = loadSpecWithOverrides(job.specFile, overrides);
  const firstSeed = base.spec.training.seed;
  const seeds = Array.from({ length: job.seeds }, (_, k) => firstSeed + k);
  // every point is checked against the schema before the first run starts
  const grid = gridPoints(job.axes).map((point) => {
    const loaded = loadSpecWithOverrides(job.specFile, [...overrides, ...point]);
    const soft = loaded.spec.softPrompt;
    return { point, values: Object.fromEntries(point.map((o) => [o.path, valueAt(loaded, o.path)])), softId: soft.stageOneOf ? `${soft.stageOneOf}+${soft.id}` : soft.id };
  });
  const axes = job.axes.map((a) => ({ path: a.path, values: a.values.map((v) => grid.find((g) => g.point.some((o) => o.path === a.path && o.value === v))!.values[a.path]) }));
  const sweep = RunDir.create(job.runsDir ?? runsRootFor(base.dir), `${base.spec.name}-sweep`);
  const now = new Date().toISOString();
  sweep.writeRecord({
    id: sweep.id, name: base.spec.name, kind: 'sweep', specFile: base.file, spec: base.spec, status: 'running', createdAt: now, updatedAt: now,
    device: job.device, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null, seed: firstSeed, axes, seeds, overrides: overrides.map(formatOverride),
  });
  emit({ type: 'run', runDir: sweep.dir, runId: sweep.id, steps: 0 });
  const points: SweepPoint[] = grid.map((g) => ({ values: g.values, accuracy: meanAndStd([]), runs: [] }));
  let split: 'test' | 'dev' = base.spec.data.test ? 'test' : 'dev';
  let status: JobSummary['status'] = 'completed';
  const total = grid.length * seeds.length;
  const save = () => sweep.writeSweep({ split, axes, seeds, overrides: overrides.map(formatOverride), points });
  // the runs share each model they use: opened once, not once per run
  const models = new OpenModels();
  try {
    sweeping: for (const [k, g] of grid.entries()) {
      for (const seed of seeds) {
        const label = [...g.point.map(formatOverride), `training.seed=${seed}`].join(', ');
        emit({ type: 'log', message: `--- sweep run ${points.flatMap((p) => p.runs).length + 1}/${total}: ${label}` });
        const trained = await runTrainJob({
          kind: 'train', specFile: job.specFile, device: job.device, precision: job.precision, threads: job.threads, runsDir: sweep.dir,
          overrides: [...overrides, ...g.point, { path: 'training.seed', value: String(seed) }].map(formatOverride), runName: runName(g.point, seed),
        }, emit, signal, models);
        split = trained.split;
        const soft = trained.results.find((r) => r.id === g.softId);
        points[k].runs.push({ seed, runDir: trained.runDir, status: trained.status, accuracy: soft?.accuracy ?? null, macroF1: soft?.macroF1 ?? null, nll: soft?.nll ?? null });
        points[k].accuracy = meanAndStd(points[k].runs.flatMap((r) => (r.accuracy === null ? [] : [r.accuracy])));
        save();
        if (trained.status === 'cancelled') {
          status = 'cancelled';
          break sweeping;
        }
      }
    }
  } catch (e) {
    // a full disk must not hide the error that stopped the sweep
    sweep.recordFailure((e as Error).message);
    throw e;
  } finally {
    await models.closeAll();
  }
  save();
  const measure = taskKind(base.spec) === 'target' ? 'exact match' : 'accuracy';
  writeFileAtomic(sweep.path('sweep.svg'), sweepChartSvg(axes, points, `${base.spec.name}: ${split} ${measure} over ${seeds.length} seed${seeds.length > 1 ? 's' : ''}`, measure));
  sweep.updateRecord({ status });
  return { runDir: sweep.dir, split, status, seeds, points, measure };
}

/** The sweep as the trainer and the extension see it: one row per point, its means over seeds. */
export async function runSweepJob(job: Extract<Job, { kind: 'sweep' }>, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  const result = await runSweep(job, emit, signal);
  const mean = (xs: (number | null)[]) => meanAndStd(xs.filter((x): x is number => x !== null)).mean ?? NaN;
  const results: ResultRow[] = result.points.filter((p) => p.accuracy.n > 0).map((p) => ({
    id: Object.entries(p.values).map(([path, v]) => `${path.split('.').pop()}=${v}`).join(', ') || 'all runs',
    kind: 'soft', accuracy: p.accuracy.mean!, macroF1: mean(p.runs.map((r) => r.macroF1)), nll: mean(p.runs.map((r) => r.nll)),
  }));
  return { runDir: result.runDir, split: result.split, status: result.status, results };
}
