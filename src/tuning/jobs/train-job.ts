// Prompt tuning as a job: a new run (or a resumed one), the soft prompt trained on the spec's
// data, its adapter written, then every prompt of the spec evaluated on the held-out split.
import { InputError, RunFailedError } from '../../common/errors.js';
import type { Job, JobSummary } from '../../common/protocol.js';
import { continueCommand, effectiveStatus, interruptionReason, modelFileHashes, RunDir, runsRootFor, trainedRecord, type CheckpointState } from '../../common/run-folder.js';
import type { TrainedRunRecord } from '../../common/run-files.js';
import { join } from 'node:path';
import type { Spec } from '../../common/spec.js';
import { formatDifference, jsonDifferences } from '../../common/json-diff.js';
import { CancelledError, Evaluator } from '../evaluate/evaluate.js';
import { addStage1Field } from '../evaluate/pipeline.js';
import { initSoftPrompt } from '../prompts/prompt-init.js';
import { trainStageOne } from '../train/stage-one-train.js';
import { trainSoftPrompt, type TrainResult } from '../train/train.js';
import { discretePrompts, ensemblePrompts, evaluateAll, evaluatedSummary } from './eval-job.js';
import { baseRecord, checkRunFolder, prepare, splitHashes, type Emit, type OpenModels, type Prepared, type PreparedInputs } from './prepare.js';
import { endRun } from './run-outcome.js';

/** `models`: a sweep's open models, shared by its runs (else the job opens and closes its own). */
export async function runTrainJob(job: Extract<Job, { kind: 'train' }>, emit: Emit, signal?: AbortSignal, models?: OpenModels): Promise<JobSummary> {
  // a resume is checked before anything loads (a live run, another kind of run), and its spec,
  // data and model's files against the run's before the weights load
  const stopped = job.resume ? openStoppedRun(job.resume) : null;
  const checked: { inputs?: ResumeInputs } = {};
  const beforeModel = (inputs: PreparedInputs) => {
    if (stopped) checked.inputs = checkResumeInputs(stopped, inputs, job.force ?? false, emit);
    else checkRunFolder(inputs.loaded, job.runsDir ?? runsRootFor(inputs.loaded.dir), job.runName ?? inputs.loaded.spec.name);
  };
  const p = await prepare(job.specFile, { ...job, beforeModel, softPrompt: true }, emit, models);
  try {
    const { spec } = p.loaded;
    const device = await p.lm.device();
    const { run, resume } = stopped ? resumeRun(stopped, device, checked.inputs!, emit) : { run: newRun(p, job, device), resume: null };
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

/** A run a resume may continue: a prompt-tuning run whose process is gone. */
function openStoppedRun(dir: string): RunDir {
  const run = RunDir.open(dir);
  const previous = run.record;
  // two processes training into one folder would overwrite each other's checkpoints
  if (effectiveStatus(previous) === 'running') throw new InputError(`${run.dir}: the run is still running (process ${previous.pid ?? 'unknown'}${previous.host ? ` on ${previous.host}` : ''}); cancel it before resuming`, { file: run.path('run.json') });
  if (previous.kind) {
    throw new InputError(`${run.dir}: a${previous.kind === 'eval' || previous.kind === 'import' ? 'n' : ''} ${previous.kind} run, not a prompt-tuning run: train --resume continues soft-prompt training only; ${continueCommand(previous, run.dir)}`, { file: run.path('run.json') });
  }
  return run;
}

/** What a resume found changed and went on with (--force), and the data and model's files it continues with. */
interface ResumeInputs { differences: string[]; dataFiles: NonNullable<TrainedRunRecord['dataFiles']>; modelFiles: Record<string, string> }

/**
 * Compares what a resume would train on with what the run was started with: the spec's training
 * fields (always refused: restore them), each data split's sha256 and the model's files' hashes
 * (refused unless `force`, which the run then records).
 */
function checkResumeInputs(run: RunDir, inputs: PreparedInputs, force: boolean, emit: Emit): ResumeInputs {
  const previous = trainedRecord(run.record, run.path('run.json'));
  const { loaded } = inputs;
  if (loaded.spec.softPrompt.stageOneOf) throw new InputError(`${loaded.file}: a run tuning a pipeline's first stage cannot be resumed; start it again`, { file: loaded.file });
  if (previous.specFile !== loaded.file) emit({ type: 'log', message: `warning: the run was started from ${previous.specFile}` });
  const changed = trainingDifferences(previous.spec, loaded.spec);
  if (changed.length) {
    throw new InputError(`${loaded.file}: differs from the spec run ${run.id} was started with, in ${changed.join('; ')}; resuming would mix two experiments. Restore those fields to resume, or start a new run`, { file: loaded.file, field: changed[0].split(' ')[0] });
  }
  const dataFiles = splitHashes(inputs.splits);
  const modelFiles = modelFileHashes(inputs.modelFolder);
  const differences = [...dataDifferences(previous.dataFiles, dataFiles), ...modelFileDifferences(previous.model.files, modelFiles, inputs.modelFolder)];
  if (!previous.dataFiles) emit({ type: 'log', message: `warning: ${run.path('run.json')} keeps no hash of the data (a run from an earlier version): the data cannot be checked against what the run trained on` });
  if (differences.length && !force) {
    throw new InputError(`${run.dir}: the run was trained on other inputs than it would continue with: ${differences.join('; ')}. Resuming would train its remaining steps on them; restore the files, start a new run, or resume with --force to go on (run.json records it)`, { file: run.path('run.json') });
  }
  if (differences.length) emit({ type: 'log', message: `warning: resuming with --force although ${differences.join('; ')}` });
  return { differences, dataFiles, modelFiles };
}

const shortHash = (h: string | undefined) => (h === undefined ? 'absent' : h.startsWith('sha256:') ? `sha256 ${h.slice(7, 19)}` : h);

/** Each split whose file's content changed, as `data.train (file): sha256 before -> now`. */
function dataDifferences(before: TrainedRunRecord['dataFiles'], now: NonNullable<TrainedRunRecord['dataFiles']>): string[] {
  if (!before) return [];
  return (['train', 'dev', 'test'] as const).flatMap((name) => {
    const [a, b] = [before[name], now[name]];
    if (!a || !b || a.sha256 === b.sha256) return [];
    return [`data.${name} (${b.file}) changed: ${shortHash(a.sha256)} -> ${shortHash(b.sha256)}`];
  });
}

/** A model file that decides the result (not a README, a licence or a hidden file). */
const modelFileMatters = (name: string) => !name.startsWith('.') && !/\.md$/i.test(name) && !/^licen[cs]e/i.test(name);

/** Each model file changed, removed or added since the run started. */
function modelFileDifferences(before: Record<string, string>, now: Record<string, string>, folder: string): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter(modelFileMatters).sort();
  return names.flatMap((name) => (before[name] === now[name] ? [] : [`model file ${join(folder, name)} ${before[name] === undefined ? 'was added' : now[name] === undefined ? 'was removed' : 'changed'}: ${shortHash(before[name])} -> ${shortHash(now[name])}`]));
}

/** Reopens a stopped run at its last checkpoint (or at step 0, before its first). */
function resumeRun(run: RunDir, device: string, inputs: ResumeInputs, emit: Emit): { run: RunDir; resume: CheckpointState | null } {
  const previous = run.record;
  const status = effectiveStatus(previous);
  // a run stopped before its first checkpoint starts again from step 0 in its own folder: the
  // recorded spec and seed give the same initial prompt and batches, so the same result
  const checkpoint = run.readCheckpoint('last.safetensors');
  const step = checkpoint?.step ?? 0;
  if (!checkpoint) emit({ type: 'log', message: `${run.id} stopped before its first checkpoint; starting it again from step 0 with its recorded spec and seed` });
  else if (status === 'interrupted') emit({ type: 'log', message: `${run.id} was interrupted (${interruptionReason(previous)}); resuming from step ${step}` });
  const forced = inputs.differences.length ? {
    forcedResumes: [...(previous.forcedResumes ?? []), { at: new Date().toISOString(), step, differences: inputs.differences }],
    // what the run continues with, so a later resume compares against it
    dataFiles: inputs.dataFiles, ...(previous.model ? { model: { ...previous.model, files: inputs.modelFiles } } : {}),
  } : {};
  // the reason it stopped (an interruption, a failure) no longer holds
  run.updateRecord({ status: 'running', device, error: undefined, step, resumedFrom: [...(previous.resumedFrom ?? []), step], ...forced });
  return { run, resume: checkpoint };
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
  if (result.status === 'failed') throw new RunFailedError(`${result.error} (run ${run.dir})`, run.dir);
  // PEFT's seq2seq layout: two transformer submodules (encoder, decoder); the second n rows are unused
  const seq2seq = p.lm.kind === 'seq2seq';
  const modelInfo = { numAttentionHeads: p.lm.cfg.numHeads, numLayers: p.lm.cfg.numLayers, taskType: seq2seq ? 'SEQ_2_SEQ_LM' as const : 'CAUSAL_LM' as const, submodules: seq2seq ? 2 : 1 };
  run.writeAdapter({ ...result.prompt, data: Float32Array.from(result.prompt.data) }, trainedRecord(record, run.path('run.json')), modelInfo);
}
