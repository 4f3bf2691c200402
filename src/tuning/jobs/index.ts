// The jobs the trainer process and the CLI run, by kind.
import type { Job, JobSummary } from '../../common/protocol.js';
import { runEvalJob } from './eval-job.js';
import { runTrainJob } from './train-job.js';
import type { Emit } from './prepare.js';
import { runModelTuningJob } from './model-tuning-job.js';
import { runScale } from './scale.js';
import { runSweepJob } from './sweep.js';
import { importAdapter } from './import.js';
import { runInspectJob } from './inspect.js';
import { runExportJob } from './export-job.js';
import { loadSpec } from '../../common/spec.js';
import { runsRootFor } from '../../common/run-folder.js';
import { resolveModelFolder } from '../../models/model-folder.js';

type Runner<K extends Job['kind']> = (job: Extract<Job, { kind: K }>, emit: Emit, signal?: AbortSignal) => Promise<JobSummary>;

const runners: { [K in Job['kind']]: Runner<K> } = {
  train: runTrainJob,
  eval: runEvalJob,
  'model-tune': runModelTuningJob,
  scale: async (job, emit, signal) => {
    const result = await runScale(job.specFile, job.models, { device: job.device, runsDir: job.runsDir, modelTuning: job.modelTuning }, emit, signal);
    return { runDir: result.runDir, split: 'test', status: result.status, results: [] };
  },
  sweep: runSweepJob,
  'import-adapter': async (job, emit) => {
    const loaded = loadSpec(job.specFile);
    const modelFolder = await resolveModelFolder(loaded.spec.model, { baseDir: loaded.dir, revision: loaded.spec.revision });
    const { run, length, dim } = importAdapter(job.adapterDir, { modelFolder, runsDir: job.runsDir ?? runsRootFor(loaded.dir), specFile: job.specFile, name: job.name });
    emit({ type: 'log', message: `imported a ${length} x ${dim} soft prompt as ${run.id}` });
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: 0 });
    return { runDir: run.dir, split: 'test', status: 'completed', results: [] };
  },
  inspect: (job, emit) => runInspectJob(job, emit),
  'export-job': (job, emit) => runExportJob(job, emit),
};

export function runJob(job: Job, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  return (runners[job.kind] as Runner<Job['kind']>)(job, emit, signal);
}
