// Prompt tuning as a job: a new run (or a resumed one), the soft prompt trained on the spec's
// data, its adapter written, then every prompt of the spec evaluated on the held-out split.
import { InputError } from '../../common/errors.js';
import type { Job, JobSummary } from '../../common/protocol.js';
import { effectiveStatus, interruptionReason, RunDir, runsRootFor, trainedRecord, type CheckpointState } from '../../common/run-folder.js';
import type { Spec } from '../../common/spec.js';
import { formatDifference, jsonDifferences } from '../../common/json-diff.js';
import { CancelledError, Evaluator } from '../evaluate/evaluate.js';
import { addStage1Field } from '../evaluate/pipeline.js';
import { initSoftPrompt } from '../prompts/prompt-init.js';
import { trainStageOne } from '../train/stage-one-train.js';
import { trainSoftPrompt, type TrainResult } from '../train/train.js';
import { discretePrompts, ensemblePrompts, evaluateAll, evaluatedSummary } from './eval-job.js';
import { baseRecord, prepare, type Emit, type OpenModels, type Prepared } from './prepare.js';
import { endRun } from './run-outcome.js';

/** `models`: a sweep's open models, shared by its runs (else the job opens and closes its own). */
export async function runTrainJob(job: Extract<Job, { kind: 'train' }>, emit: Emit, signal?: AbortSignal, models?: OpenModels): Promise<JobSummary> {
  const p = await prepare(job.specFile, job, emit, models);
  try {
    const { spec } = p.loaded;
    const device = await p.lm.device();
    const { run, resume } = job.resume ? resumeRun(p, job.resume, device, emit) : { run: newRun(p, job, device), resume: null };
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: spec.training.steps });
    // whatever stops the job from here on (a cancellation, stage one, evaluation, a full disk), the
    // run ends 'cancelled' or 'failed' with the message, never 'running'
    return await endRun(run, p.splits.test ? 'test' : 'dev', emit, async () => {
      const evaluator = new Evaluator(p.lm, spec, p.splits.train);
      await fillStageOneFields(p, evaluator, emit);
      const result = await trainPrompt(p, run, evaluator, resume, emit, signal);
      writeTrainedAdapter(p, run, result);
      if (result.status === 'cancelled') {
        emit({ type: 'log', message: `cancelled at step ${result.step}; resume with: ptune train ${p.loaded.file} --resume ${run.dir}` });
        throw new CancelledError();
      }
      // a first-stage soft prompt is no classifier: it is compared inside its pipeline
      const stageOne = spec.softPrompt.stageOneOf ? { pipelineId: spec.softPrompt.stageOneOf, id: `${spec.softPrompt.stageOneOf}+${spec.softPrompt.id}`, soft: result.prompt } : undefined;
      const prompts = [...discretePrompts(p, evaluator), ...(stageOne ? [] : [evaluator.prompts.soft(spec.softPrompt.id, result.prompt)]), ...ensemblePrompts(p, evaluator)];
      const evaluation = await evaluateAll(p, run, prompts, emit, signal, { stageOne });
      run.updateRecord({ status: 'completed' });
      return evaluatedSummary(run.dir, evaluation);
    });
  } finally {
    await p.release();
  }
}

function newRun(p: Prepared, job: Extract<Job, { kind: 'train' }>, device: string): RunDir {
  const run = RunDir.create(job.runsDir ?? runsRootFor(p.loaded.dir), job.runName ?? p.loaded.spec.name);
  run.writeRecord(baseRecord(p, run, device));
  return run;
}

/** Reopens a stopped run at its last checkpoint, refusing a live run or a changed spec. */
function resumeRun(p: Prepared, dir: string, device: string, emit: Emit): { run: RunDir; resume: CheckpointState } {
  const run = RunDir.open(dir);
  const previous = run.record;
  const status = effectiveStatus(previous);
  // two processes training into one folder would overwrite each other's checkpoints
  if (status === 'running') throw new InputError(`${run.dir}: the run is still running (process ${previous.pid ?? 'unknown'}${previous.host ? ` on ${previous.host}` : ''}); cancel it before resuming`, { file: run.path('run.json') });
  const resume = run.readCheckpoint('last.safetensors');
  if (!resume) throw new InputError(`${run.dir}: no checkpoint to resume from (checkpoints/last.safetensors)`, { file: run.dir });
  if (p.loaded.spec.softPrompt.stageOneOf) throw new InputError(`${p.loaded.file}: a run tuning a pipeline's first stage cannot be resumed; start it again`, { file: p.loaded.file });
  if (status === 'interrupted') emit({ type: 'log', message: `${run.id} was interrupted (${interruptionReason(previous)}); resuming from step ${resume.step}` });
  if (previous.specFile !== p.loaded.file) emit({ type: 'log', message: `warning: the run was started from ${previous.specFile}` });
  const changed = trainingDifferences(trainedRecord(previous, run.path('run.json')).spec, p.loaded.spec);
  if (changed.length) {
    throw new InputError(`${p.loaded.file}: differs from the spec run ${run.id} was started with, in ${changed.join('; ')}; resuming would mix two experiments. Restore those fields to resume, or start a new run`, { file: p.loaded.file, field: changed[0].split(' ')[0] });
  }
  // the reason it stopped (an interruption, a failure) no longer holds
  run.updateRecord({ status: 'running', device, error: undefined, resumedFrom: [...(previous.resumedFrom ?? []), resume.step] });
  return { run, resume };
}

/**
 * What changes a training run's result, as `path: before -> now` for each difference between the
 * spec a run was started with and the current one (prompts evaluated afterwards may change).
 */
export function trainingDifferences(before: Spec, now: Spec): string[] {
  return (['model', 'revision', 'data', 'softPrompt', 'training'] as const).flatMap((key) => jsonDifferences(before[key], now[key], key)).map(formatDifference);
}

/** A soft prompt that is stage two: the fixed first stage fills {stage1} for every split. */
async function fillStageOneFields(p: Prepared, evaluator: Evaluator, emit: Emit): Promise<void> {
  const { spec } = p.loaded;
  if (!spec.softPrompt.stage1) return;
  for (const s of [p.splits.train, p.splits.dev, p.splits.test]) {
    if (!s) continue;
    emit({ type: 'log', message: `${spec.softPrompt.stage1}: generating stage one for ${s.examples.length} ${s.name} examples` });
    await addStage1Field(p.loaded, evaluator, spec.softPrompt.stage1, s.examples, spec.training.evalBatchSize);
  }
}

/** The training loop (a pipeline's first stage has its own), with its events sent on. */
function trainPrompt(p: Prepared, run: RunDir, evaluator: Evaluator, resume: CheckpointState | null, emit: Emit, signal?: AbortSignal): Promise<TrainResult> {
  const { spec } = p.loaded;
  const train = spec.softPrompt.stageOneOf
    ? (a: Parameters<typeof trainSoftPrompt>[0]) => trainStageOne({ ...a, loaded: p.loaded })
    : trainSoftPrompt;
  return train({
    lm: p.lm, spec, train: p.splits.train, dev: p.splits.dev, evaluator, initial: initSoftPrompt(p.lm, p.loaded, spec.training.seed, p.splits.train.examples), run, resume, signal, memory: p.memory,
    hooks: {
      onProgress: (e) => emit({ type: 'progress', step: e.step, steps: e.steps, loss: e.loss, learningRate: e.learningRate, examplesPerSecond: e.examplesPerSecond, etaSeconds: e.etaSeconds }),
      onEval: (e) => emit({ type: 'eval', ...e }),
      onCheckpoint: (step, file) => emit({ type: 'checkpoint', step, file }),
      onLog: (message) => emit({ type: 'log', message }),
    },
  });
}

/** Records where training stopped and writes the adapter (also on cancellation, so it can be resumed or used). */
function writeTrainedAdapter(p: Prepared, run: RunDir, result: TrainResult): void {
  const record = run.updateRecord({ step: result.step, bestStep: result.bestStep, bestDevAccuracy: result.bestDevAccuracy });
  if (result.status === 'failed') throw new Error(result.error);
  // PEFT's seq2seq layout: two transformer submodules (encoder, decoder); the second n rows are unused
  const seq2seq = p.lm.kind === 'seq2seq';
  const modelInfo = { numAttentionHeads: p.lm.cfg.numHeads, numLayers: p.lm.cfg.numLayers, taskType: seq2seq ? 'SEQ_2_SEQ_LM' as const : 'CAUSAL_LM' as const, submodules: seq2seq ? 2 : 1 };
  run.writeAdapter({ ...result.prompt, data: Float32Array.from(result.prompt.data) }, trainedRecord(record, run.path('run.json')), modelInfo);
}
