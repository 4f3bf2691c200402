// The model-scaling ablation (the paper's first figure): one spec run on several models; per
// model its parameter count and the test accuracy of prompt design (the best discrete prompt),
// prompt tuning, and model tuning where it fits in memory.
import { taskKind } from '../../common/spec.js';
import { type DeviceChoice } from '../../engine/runtime.js';
import { weightShapes } from '../../models/architectures.js';
import { readModelConfig } from '../../models/config.js';
import { InputError } from '../../common/errors.js';
import { resolveModelFolder } from '../../models/model-folder.js';
import { CheckpointWeights } from '../../models/weights.js';
import { RunDir, runsRootFor } from '../../common/run-folder.js';
import { runTrainJob } from './train-job.js';
import type { Emit } from './prepare.js';
import { parameterCount } from '../train/model-tuning.js';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { runModelTuningJob } from './model-tuning-job.js';
import { scaleChartSvg } from '../reports/scale-chart.js';
import type { ScalePoint } from '../../common/run-files.js';
import { loadSpec } from '../../common/spec.js';

/** `runDir`: the scale run's folder, or, when cancelled, the folder of the run that was cancelled. */
export interface ScaleResult { runDir: string; points: ScalePoint[]; status: 'completed' | 'cancelled' }

export async function runScale(specFile: string, models: string[], options: { device: DeviceChoice; runsDir?: string; modelTuning: boolean }, emit: Emit, signal?: AbortSignal): Promise<ScaleResult> {
  const loaded = loadSpec(specFile);
  if (models.length === 0) throw new InputError('scale: give the models to compare with --models m1,m2,...');
  const runsDir = options.runsDir ?? runsRootFor(loaded.dir);
  const points: ScalePoint[] = [];
  const runs: Record<string, { promptTuning: string; modelTuning: string | null }> = {};
  for (const model of models) {
    emit({ type: 'log', message: `--- ${model}` });
    const folder = await resolveModelFolder(model, {});
    const cfg = readModelConfig(folder);
    const params = parameterCount(new CheckpointWeights(folder), weightShapes(cfg).keys());
    const trained = await runTrainJob({ kind: 'train', specFile, device: options.device, runsDir, model }, emit, signal);
    // a cancelled run stops the ablation: the next models would only load to be cancelled
    if (trained.status === 'cancelled') return { runDir: trained.runDir, points, status: 'cancelled' };
    const discrete = trained.results.filter((r) => r.kind === 'discrete');
    const soft = trained.results.find((r) => r.kind === 'soft');
    let modelTuning: number | null = null;
    let modelRun: string | null = null;
    if (options.modelTuning) {
      try {
        const tuned = await runModelTuningJob({ kind: 'model-tune', specFile, device: options.device, runsDir, model }, emit, signal);
        if (tuned.status === 'cancelled') return { runDir: tuned.runDir, points, status: 'cancelled' };
        modelTuning = tuned.results[0]?.accuracy ?? null;
        modelRun = tuned.runDir;
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        emit({ type: 'log', message: `model tuning skipped for ${model}: ${e.message}` });
      }
    }
    runs[model] = { promptTuning: trained.runDir, modelTuning: modelRun };
    points.push({ model, params, promptDesign: discrete.length ? Math.max(...discrete.map((r) => r.accuracy)) : null, promptTuning: soft?.accuracy ?? null, modelTuning });
  }
  const run = RunDir.create(runsDir, `${loaded.spec.name}-scale`);
  const now = new Date().toISOString();
  run.writeRecord({ id: run.id, name: loaded.spec.name, kind: 'scale', specFile: loaded.file, spec: loaded.spec, status: 'completed', createdAt: now, updatedAt: now, models, device: options.device, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null });
  run.writeScale({ points, runs });
  const measure = taskKind(loaded.spec) === 'target' ? 'exact match' : 'accuracy';
  writeFileAtomic(run.path('scale.svg'), scaleChartSvg(points, `${loaded.spec.name}: ${measure} against model size`, measure));
  return { runDir: run.dir, points, status: 'completed' };
}
