// A whole job, as the CLI, the trainer process and the tests run it: load the spec, the model and
// the data (every bad input reported before training starts), train a soft prompt, evaluate every
// prompt of the spec on the held-out split, and write the run's files.
import { existsSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import type { DeviceChoice } from '../engine/runtime.js';
import type { Precision } from '../models/one-graph-model.js';
import { InputError } from '../common/errors.js';
import { snapshotCommit } from '../models/hub.js';
import type { SoftPrompt, TunableModel } from '../models/tunable.js';
import { openModel } from '../models/load.js';
import { resolveModelFolder } from '../models/model-folder.js';
import type { Job, JobSummary, ResultRow, TrainerEvent } from '../common/protocol.js';
import { effectiveStatus, interruptionReason, modelFileHashes, readSoftPromptSource, RunDir, runsRootFor, trainedRecord } from '../common/run-folder.js';
import { describeSplit, readSplit, type ReadProgress, type Split } from '../common/data.js';
import { CancelledError, Evaluator, PromptUnderTest } from './evaluate.js';
import { initSoftPrompt } from './prompt-init.js';
import { addStage1Field, firstLine, stage1Generations, stage1Prompt, stage2Prompt } from './pipeline.js';
import { trainStageOne } from './stage-one-train.js';
import type { LoadedSpec, Spec } from '../common/spec.js';
import { loadSpecWithOverrides } from '../common/spec-overrides.js';
import { isSpanCorruptionT5, T5_CHECKPOINT_ADVICE } from '../common/t5-checkpoints.js';
import { trainSoftPrompt } from './train.js';
import { configParameters, CPU_ROWS_PER_PASS, nvidiaGpuMemory, planMemory, type MemoryPlan } from './memory-plan.js';
import { SequenceEncoder } from './encoding.js';
import { fillTemplate } from '../common/template.js';
import { chatConversation, checkChatTemplates, renderChatPrompt } from './chat.js';
import type { ChatMessage } from '../common/spec.js';
import type { ModelConfig } from '../models/config.js';
import type { Prediction, PromptResult, TrainedRunRecord, Unversioned } from '../common/run-files.js';
import { formatDifference, jsonDifferences } from '../common/json-diff.js';

export type Emit = (event: TrainerEvent) => void;

export interface Prepared {
  loaded: LoadedSpec;
  lm: TunableModel;
  modelFolder: string;
  /** The model as the user named it (the spec's, or the override). */
  modelId: string;
  splits: { train: Split; dev?: Split; test?: Split };
  /** Micro-batch and evaluation batch, planned from memory before the weights are loaded. */
  memory: MemoryPlan;
}

/**
 * `options.model` replaces the spec's model (the scaling ablation runs one spec on several);
 * `options.overrides` (`path=value`) change its fields (a sweep's points, `ptune train --seed`).
 */
export async function prepare(specFile: string, options: { device: DeviceChoice; precision?: Precision; threads?: number; model?: string; overrides?: string[] }, emit: Emit): Promise<Prepared> {
  const loaded = loadSpecWithOverrides(specFile, options.overrides ?? []);
  const { spec } = loaded;
  // data before the model: a typo in a data file should not wait for a download
  const started = performance.now();
  const onProgress = (r: ReadProgress) => emit({
    type: 'setup', phase: 'data', seconds: Math.round((performance.now() - started) / 1000),
    detail: `${basename(r.file)}: ${(r.bytesRead / 2 ** 20).toFixed(0)} of ${(r.totalBytes / 2 ** 20).toFixed(0)} MB, ${r.records.toLocaleString('en-US')} records`,
  });
  const train = await readSplit(loaded, 'train', { onProgress });
  const dev = spec.data.dev ? await readSplit(loaded, 'dev', { onProgress }) : undefined;
  const test = spec.data.test ? await readSplit(loaded, 'test', { onProgress }) : undefined;
  for (const s of [train, dev, test]) if (s) emit({ type: 'log', message: describeSplit(s) });
  let modelFolder: string;
  try {
    modelFolder = await resolveModelFolder(options.model ?? spec.model, { baseDir: options.model ? process.cwd() : loaded.dir, revision: options.model ? undefined : spec.revision, log: (m) => emit({ type: 'log', message: m }) });
  } catch (e) {
    if (e instanceof InputError) {
      const line = loaded.lineOf(['model']);
      throw new InputError(`${loaded.file}:${line}: model: ${e.message}`, { file: loaded.file, line, field: 'model' });
    }
    throw e;
  }
  const lm = await openModel(modelFolder, {
    device: options.device, precision: options.precision ?? 'auto', threads: options.threads, log: (m) => emit({ type: 'log', message: m }),
    progress: (p) => emit({ type: 'setup', phase: p.phase, detail: p.detail, seconds: p.seconds }),
  });
  checkChatTemplates(loaded, lm.tokenizer, modelFolder);
  const memory = planJobMemory(loaded, lm, { train, dev, test }, options.device, options.precision ?? 'auto');
  emit({ type: 'log', message: memory.detail });
  const lengths = labelLengthWarning(loaded, lm);
  if (lengths) emit({ type: 'log', message: lengths });
  const t5 = t5CheckpointWarning(loaded, { id: options.model ?? spec.model, folder: modelFolder, modelType: lm.cfg.modelType });
  if (t5) emit({ type: 'log', message: t5 });
  return { loaded, lm, modelFolder, modelId: options.model ?? spec.model, splits: { train, dev, test }, memory };
}

/**
 * A warning when label texts differ a lot in token count under summed rank scoring: a label of
 * 9 tokens scores about 9 times lower than one of 1 whatever the prompt (seen: such labels were
 * never predicted).
 */
export function labelLengthWarning(loaded: LoadedSpec, lm: TunableModel): string | null {
  const { spec } = loaded;
  if (spec.evaluation.rankScoring !== 'sum' || !lm.tokenizer) return null;
  const encoder = new SequenceEncoder(lm.tokenizer, lm.contextLength, lm.kind === 'seq2seq' ? lm.cfg.eosTokenId : null);
  const counts = Object.entries(spec.data.verbalizer).map(([label, text]) => ({ label, tokens: encoder.targetIds(spec.data.labelSeparator + text).length }));
  const min = Math.min(...counts.map((c) => c.tokens));
  const max = Math.max(...counts.map((c) => c.tokens));
  if (max < 2 * min || max - min < 2) return null;
  return `warning: label texts have ${min} to ${max} tokens (${counts.map((c) => `${c.label} ${c.tokens}`).join(', ')}); rank classification sums log-probabilities, which favours short labels: set evaluation.rankScoring to "mean" in ${loaded.file} to compare them per token`;
}

/**
 * A warning when the model is a T5 whose names (as the user gave it, its folder, and the hub
 * cache's models--org--name folder) say neither lm-adapt nor flan: by name only, since nothing in
 * config.json tells a span-corruption checkpoint from an LM-adapted one.
 */
export function t5CheckpointWarning(loaded: LoadedSpec, model: { id: string; folder: string; modelType: string }): string | null {
  if (model.modelType !== 't5') return null;
  const names = [model.id, basename(model.folder), ...model.folder.split(sep).filter((s) => s.startsWith('models--'))];
  if (!isSpanCorruptionT5(names)) return null;
  return `warning: ${loaded.file}:${loaded.lineOf(['model'])}: model: "${model.id}" is a T5 whose name says neither lm-adapt nor flan; ${T5_CHECKPOINT_ADVICE}`;
}

/**
 * The memory plan of a job: its longest training sequence and longest evaluated prompt (k-shot
 * prompts hold their demonstrations) estimated from the longest texts, before anything is loaded.
 */
function planJobMemory(loaded: LoadedSpec, lm: TunableModel, splits: { train: Split; dev?: Split; test?: Split }, device: DeviceChoice, precision: Precision): MemoryPlan {
  const { spec } = loaded;
  const encoder = new SequenceEncoder(lm.tokenizer!, lm.contextLength, lm.kind === 'seq2seq' ? lm.cfg.eosTokenId : null);
  const longestLabel = Object.values(spec.data.verbalizer).reduce((a, b) => (b.length > a.length ? b : a), '');
  const longestTokens = (template: string, messages?: ChatMessage[]) => {
    // a template naming a field filled later (a pipeline's {stage1}) is measured without it
    const fill = (fields: Record<string, unknown>) => {
      try { return messages ? renderChatPrompt(lm.tokenizer!, chatConversation(messages, fields), 'memory plan') : fillTemplate(template, fields); } catch { return template; }
    };
    // the 32 longest texts, kept as they come: a large split's texts are never all in memory at once
    const longest: string[] = [];
    for (const s of [splits.train, splits.dev, splits.test]) {
      for (const e of s?.examples ?? []) {
        const text = fill(e.fields);
        if (longest.length === 32 && text.length <= longest[31].length) continue;
        const at = longest.findIndex((t) => t.length < text.length);
        longest.splice(at < 0 ? longest.length : at, 0, text);
        if (longest.length > 32) longest.pop();
      }
    }
    return Math.max(1, ...longest.map((t) => encoder.withTarget(t, spec.data.labelSeparator + longestLabel, 0).ids.length));
  };
  const n = spec.softPrompt.length;
  const trainTokens = Math.min(lm.contextLength, n + longestTokens(spec.softPrompt.template, spec.softPrompt.messages));
  const evalTokens = Math.min(lm.contextLength, Math.max(trainTokens, ...spec.discretePrompts.map((d) => longestTokens(d.template ?? '', d.messages) * (1 + (d.shots ?? 0)))));
  const common = {
    batchSize: spec.training.batchSize, evalBatchSize: spec.training.evalBatchSize, tokens: trainTokens, evalTokens,
    microBatchSize: spec.training.microBatchSize, file: loaded.file,
  };
  // auto is planned as the CPU, since the plan precedes loading
  if (device === 'cpu' || device === 'auto') return planMemory(lm.cfg as ModelConfig, configParameters(lm.cfg as ModelConfig), { ...common, rowsPerPass: CPU_ROWS_PER_PASS });
  // on an NVIDIA GPU the budget is its free memory (nvidia-smi), less a tenth for the runtime's
  // own buffers; elsewhere the batch runs whole unless training.microBatchSize says otherwise
  const gpu = nvidiaGpuMemory();
  return planMemory(lm.cfg as ModelConfig, configParameters(lm.cfg as ModelConfig), gpu
    ? { ...common, budgetBytes: gpu.freeBytes * 0.9, budgetSource: `90% of the free memory of the ${gpu.name}`, halfWeights: precision !== 'fp32' }
    : { ...common, budgetBytes: Infinity, budgetSource: 'GPU memory unknown: whole batches unless training.microBatchSize says otherwise', halfWeights: precision !== 'fp32' });
}

export function toRow(r: PromptResult): ResultRow {
  return { id: r.id, kind: r.kind, accuracy: r.accuracy, macroF1: r.macroF1, nll: r.nll };
}

/** Evaluates prompts on the held-out split (test, else dev) and writes eval.json and predictions.jsonl. */
export async function evaluateAll(p: Prepared, run: RunDir, prompts: PromptUnderTest[], emit: Emit, signal?: AbortSignal, options: { pipelines?: boolean; stageOne?: { pipelineId: string; id: string; soft: SoftPrompt } } = {}): Promise<{ split: 'test' | 'dev'; results: PromptResult[] }> {
  const { spec } = p.loaded;
  const split = p.splits.test ?? p.splits.dev;
  if (!split) throw new InputError(`${p.loaded.file}: data.test or data.dev is needed for the comparison`, { file: p.loaded.file, field: 'data.test' });
  const evaluator = new Evaluator(p.lm, spec, p.splits.train);
  const results: PromptResult[] = [];
  // each prompt's rows go to the file when known: every prompt's rows of a large split at once did not fit in memory
  const predictions = run.predictionsWriter();
  try {
    await evaluatePrompts(p, evaluator, split, prompts, results, predictions, emit, signal, options);
    predictions.commit();
  } catch (e) {
    predictions.abort();
    throw e;
  }
  if (evaluator.encoder.truncatedCount > 0) {
    emit({ type: 'log', message: `warning: ${evaluator.encoder.truncatedCount} sequences were longer than the model's context (${p.lm.contextLength} tokens) and were truncated from the left` });
  }
  const evalSplit = split.name as 'test' | 'dev';
  // after predictions.jsonl: a run with eval.json has its predictions
  run.writeEval({ split: evalSplit, file: split.file, labels: Object.keys(spec.data.verbalizer), verbalizer: spec.data.verbalizer, results, truncated: evaluator.encoder.truncatedCount });
  return { split: evalSplit, results };
}

async function evaluatePrompts(p: Prepared, evaluator: Evaluator, split: Split, prompts: PromptUnderTest[], results: PromptResult[], predictions: { add(rows: Prediction[]): void }, emit: Emit, signal: AbortSignal | undefined, options: { pipelines?: boolean; stageOne?: { pipelineId: string; id: string; soft: SoftPrompt } }): Promise<void> {
  const { spec } = p.loaded;
  // passes sized by their longest input: one very long record does not shrink, or pad, them all
  const batches = { batchSize: spec.training.evalBatchSize, batchFor: p.memory.evalBatchFor };
  // one prompt per call: a loop's locals in an async function would hold the last prompt's rows
  // through the next prompt's evaluation
  const evaluateOne = async (prompt: PromptUnderTest) => {
    const { result, predictions: rows } = await evaluator.evaluate(prompt, split, {
      ...batches,
      generation: spec.evaluation.generation,
      signal,
      onProgress: (done, total, promptId) => emit({ type: 'evalProgress', promptId, done, total }),
    });
    results.push(result);
    predictions.add(rows);
    emit({ type: 'log', message: `${split.name} ${prompt.id} (${prompt.kind}): accuracy ${(100 * result.accuracy).toFixed(1)}%, macro-F1 ${result.macroF1.toFixed(3)}, NLL ${result.nll.toFixed(3)}` });
  };
  for (const prompt of prompts) await evaluateOne(prompt);
  const variants = (options.pipelines === false ? [] : spec.pipelines).flatMap((pipeline) => [
    { pipeline, id: pipeline.id, soft: undefined as SoftPrompt | undefined },
    ...(options.stageOne?.pipelineId === pipeline.id ? [{ pipeline, id: options.stageOne.id, soft: options.stageOne.soft }] : []),
  ]);
  for (const { pipeline, id, soft } of variants) {
    emit({ type: 'log', message: `${id}: generating stage one for ${split.examples.length} examples` });
    const first = stage1Prompt(p.loaded, evaluator, pipeline, soft, id);
    const generated = await stage1Generations(evaluator, pipeline, first, split.examples, spec.training.evalBatchSize);
    const texts = generated.map((g) => firstLine(g.text));
    const byExample = new Map(split.examples.map((e, k) => [e, texts[k]]));
    const prompt = { ...stage2Prompt(p.loaded, evaluator, pipeline, byExample), id, ...(soft ? { taskParameters: soft.length * soft.dim } : {}) };
    const { result, predictions: rows } = await evaluator.evaluate(prompt, split, { ...batches, generation: false, signal });
    results.push(result);
    predictions.add(rows.map((r, k) => ({ ...r, stage1: texts[k] })));
    emit({ type: 'log', message: `${split.name} ${id} (pipeline): accuracy ${(100 * result.accuracy).toFixed(1)}%, macro-F1 ${result.macroF1.toFixed(3)}` });
    // stage one alone, beside its pipeline: how much the second stage refines the first
    const alone = evaluator.generatedOnly(first, split.examples, generated, texts);
    results.push(alone.result);
    predictions.add(alone.predictions);
    emit({ type: 'log', message: `${split.name} ${first.id} (${first.kind}): accuracy ${(100 * alone.result.accuracy).toFixed(1)}%, macro-F1 ${alone.result.macroF1.toFixed(3)} (its generated text mapped to a label)` });
  }
}

function discretePrompts(p: Prepared, evaluator: Evaluator): PromptUnderTest[] {
  return p.loaded.spec.discretePrompts.map((d) => evaluator.discrete(d, p.loaded.spec.training.seed));
}

function ensemblePrompts(p: Prepared, evaluator: Evaluator): PromptUnderTest[] {
  const { spec } = p.loaded;
  return spec.evaluation.ensembles.map((e, i) => {
    const members = e.prompts.map((src, k) => {
      try {
        return readSoftPromptSource(p.loaded.resolvePath(src), p.lm.cfg.hiddenSize);
      } catch (err) {
        const line = p.loaded.lineOf(['evaluation', 'ensembles', i, 'prompts', k]);
        throw new InputError(`${p.loaded.file}:${line}: evaluation.ensembles[${i}].prompts[${k}]: ${(err as Error).message}`, { file: p.loaded.file, line });
      }
    });
    if (members.some((m) => m.length !== members[0].length)) throw new InputError(`${p.loaded.file}: ensemble ${e.id}: its soft prompts must have the same length`, { file: p.loaded.file });
    return evaluator.soft(e.id, members[0], 'ensemble', members.slice(1));
  });
}

/**
 * What changes a training run's result, as `path: before -> now` for each difference between the
 * spec a run was started with and the current one (prompts evaluated afterwards may change).
 */
export function trainingDifferences(before: Spec, now: Spec): string[] {
  return (['model', 'revision', 'data', 'softPrompt', 'training'] as const).flatMap((key) => jsonDifferences(before[key], now[key], key)).map(formatDifference);
}

export function baseRecord(p: Prepared, run: RunDir, device: string): Unversioned<TrainedRunRecord> {
  const { spec } = p.loaded;
  const now = new Date().toISOString();
  const { train, dev, test } = p.splits;
  const skipped = [train, dev, test].flatMap((s) => s?.skipped ?? []);
  return {
    ...(skipped.length ? { skipped } : {}),
    id: run.id, name: spec.name, specFile: p.loaded.file, spec,
    model: { id: p.modelId, folder: p.modelFolder, revision: snapshotCommit(p.modelFolder) ?? spec.revision ?? null, files: modelFileHashes(p.modelFolder) },
    seed: spec.training.seed, device, status: 'running', createdAt: now, updatedAt: now,
    step: 0, steps: spec.training.steps, bestStep: null, bestDevAccuracy: null,
  };
}

export async function runTrainJob(job: Extract<Job, { kind: 'train' }>, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  const p = await prepare(job.specFile, job, emit);
  try {
    const { spec } = p.loaded;
    const device = await p.lm.device();
    let run: RunDir;
    let resume = null;
    if (job.resume) {
      run = RunDir.open(job.resume);
      const previous = run.record;
      const status = effectiveStatus(previous);
      // two processes training into one folder would overwrite each other's checkpoints
      if (status === 'running') throw new InputError(`${run.dir}: the run is still running (process ${previous.pid ?? 'unknown'}${previous.host ? ` on ${previous.host}` : ''}); cancel it before resuming`, { file: run.path('run.json') });
      resume = run.readCheckpoint('last.safetensors');
      if (!resume) throw new InputError(`${run.dir}: no checkpoint to resume from (checkpoints/last.safetensors)`, { file: run.dir });
      if (status === 'interrupted') emit({ type: 'log', message: `${run.id} was interrupted (${interruptionReason(previous)}); resuming from step ${resume.step}` });
      if (run.record.specFile !== p.loaded.file) emit({ type: 'log', message: `warning: the run was started from ${run.record.specFile}` });
      const changed = trainingDifferences(trainedRecord(previous, run.path('run.json')).spec, spec);
      if (changed.length) {
        throw new InputError(`${p.loaded.file}: differs from the spec run ${run.id} was started with, in ${changed.join('; ')}; resuming would mix two experiments. Restore those fields to resume, or start a new run`, { file: p.loaded.file, field: changed[0].split(' ')[0] });
      }
      // the reason it stopped (an interruption, a failure) no longer holds
      run.updateRecord({ status: 'running', device, error: undefined, resumedFrom: [...(run.record.resumedFrom ?? []), resume.step] });
    } else {
      run = RunDir.create(job.runsDir ?? runsRootFor(p.loaded.dir), job.runName ?? spec.name);
      run.writeRecord(baseRecord(p, run, device));
    }
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: spec.training.steps });
    // whatever fails from here on (stage one, evaluation, a full disk), the run ends 'failed' with
    // the message, never 'running' forever
    try {
      const evaluator = new Evaluator(p.lm, spec, p.splits.train);
      if (spec.softPrompt.stage1) {
        // the soft prompt is stage two: the fixed first stage fills {stage1} for every split
        for (const s of [p.splits.train, p.splits.dev, p.splits.test]) {
          if (!s) continue;
          emit({ type: 'log', message: `${spec.softPrompt.stage1}: generating stage one for ${s.examples.length} ${s.name} examples` });
          await addStage1Field(p.loaded, evaluator, spec.softPrompt.stage1, s.examples, spec.training.evalBatchSize);
        }
      }
      const initial = initSoftPrompt(p.lm, p.loaded, spec.training.seed);
      let result;
      try {
        const train = spec.softPrompt.stageOneOf
          ? (a: Parameters<typeof trainSoftPrompt>[0]) => trainStageOne({ ...a, loaded: p.loaded })
          : trainSoftPrompt;
        if (spec.softPrompt.stageOneOf && resume) throw new InputError(`${p.loaded.file}: a run tuning a pipeline's first stage cannot be resumed; start it again`, { file: p.loaded.file });
        result = await train({
          lm: p.lm, spec, train: p.splits.train, dev: p.splits.dev, evaluator, initial, run, resume, signal, memory: p.memory,
          hooks: {
            onProgress: (e) => emit({ type: 'progress', step: e.step, steps: e.steps, loss: e.loss, learningRate: e.learningRate, examplesPerSecond: e.examplesPerSecond, etaSeconds: e.etaSeconds }),
            onEval: (e) => emit({ type: 'eval', ...e }),
            onCheckpoint: (step, file) => emit({ type: 'checkpoint', step, file }),
            onLog: (message) => emit({ type: 'log', message }),
          },
        });
      } catch (e) {
        markFailed(run, e, emit);
        throw e;
      }
      // PEFT's seq2seq layout: two transformer submodules (encoder, decoder); the second n rows are unused
      const seq2seq = p.lm.kind === 'seq2seq';
      const modelInfo = { numAttentionHeads: p.lm.cfg.numHeads, numLayers: p.lm.cfg.numLayers, taskType: seq2seq ? 'SEQ_2_SEQ_LM' as const : 'CAUSAL_LM' as const, submodules: seq2seq ? 2 : 1 };
      const record = run.updateRecord({ step: result.step, bestStep: result.bestStep, bestDevAccuracy: result.bestDevAccuracy });
      if (result.status === 'failed') {
        const error = new Error(result.error);
        markFailed(run, error, emit);
        throw error;
      }
      run.writeAdapter({ ...result.prompt, data: Float32Array.from(result.prompt.data) }, trainedRecord(record, run.path('run.json')), modelInfo);
      if (result.status === 'cancelled') {
        run.updateRecord({ status: 'cancelled' });
        emit({ type: 'log', message: `cancelled at step ${result.step}; resume with: ptune train ${p.loaded.file} --resume ${run.dir}` });
        return { runDir: run.dir, split: p.splits.test ? 'test' : 'dev', status: 'cancelled', results: [] };
      }
      // a first-stage soft prompt is no classifier: it is compared inside its pipeline
      const stageOne = spec.softPrompt.stageOneOf ? { pipelineId: spec.softPrompt.stageOneOf, id: `${spec.softPrompt.stageOneOf}+${spec.softPrompt.id}`, soft: result.prompt } : undefined;
      const prompts = [...discretePrompts(p, evaluator), ...(stageOne ? [] : [evaluator.soft(spec.softPrompt.id, result.prompt)]), ...ensemblePrompts(p, evaluator)];
      let evaluation;
      try {
        evaluation = await evaluateAll(p, run, prompts, emit, signal, { stageOne });
      } catch (e) {
        if (e instanceof CancelledError) {
          run.updateRecord({ status: 'cancelled' });
          return { runDir: run.dir, split: p.splits.test ? 'test' : 'dev', status: 'cancelled', results: [] };
        }
        throw e;
      }
      run.updateRecord({ status: 'completed' });
      return { runDir: run.dir, split: evaluation.split, status: 'completed', results: evaluation.results.map(toRow) };
    } catch (e) {
      if (!(e instanceof CancelledError)) markFailed(run, e, emit);
      throw e;
    }
  } finally {
    await p.lm.dispose();
  }
}

/** Runs whose failure run.json could not record (a full disk): told once. */
const failureUnrecorded = new WeakSet<RunDir>();

/**
 * Marks a running run failed with the error's message. Where run.json cannot be written (a full
 * disk), the error stands as it is and a warning says the run will show as interrupted (its
 * process gone) rather than failed.
 */
function markFailed(run: RunDir, error: unknown, emit: Emit): void {
  if (failureUnrecorded.has(run)) return;
  let status;
  try { status = run.record.status; } catch { return; }
  if (status !== 'running') return;
  if (run.recordFailure((error as Error).message)) return;
  failureUnrecorded.add(run);
  emit({ type: 'log', message: `warning: ${run.path('run.json')} could not be updated to record the failure; the run will show as interrupted` });
}

/** Evaluates the spec's discrete prompts and the soft prompts of the given runs (or adapters). */
export async function runEvalJob(job: Extract<Job, { kind: 'eval' }>, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  const p = await prepare(job.specFile, job, emit);
  try {
    const { spec } = p.loaded;
    const evaluator = new Evaluator(p.lm, spec, p.splits.train);
    const soft: PromptUnderTest[] = job.runs.map((dir) => {
      const prompt: SoftPrompt = readSoftPromptSource(dir, p.lm.cfg.hiddenSize);
      const id = existsSync(join(dir, 'run.json')) ? RunDir.open(dir).id : dir.split(/[\\/]/).filter(Boolean).pop()!;
      return evaluator.soft(id, prompt);
    });
    const run = RunDir.create(job.runsDir ?? runsRootFor(p.loaded.dir), `${spec.name}-eval`);
    run.writeRecord({ ...baseRecord(p, run, await p.lm.device()), steps: 0, kind: 'eval', evaluatedRuns: job.runs });
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: 0 });
    // a failed or cancelled evaluation ends with that status, never 'running'
    try {
      const prompts = [...discretePrompts(p, evaluator), ...soft, ...ensemblePrompts(p, evaluator)];
      const evaluation = await evaluateAll(p, run, prompts, emit, signal);
      run.updateRecord({ status: 'completed' });
      return { runDir: run.dir, split: evaluation.split, status: 'completed', results: evaluation.results.map(toRow) };
    } catch (e) {
      if (e instanceof CancelledError) run.updateRecord({ status: 'cancelled' });
      else markFailed(run, e, emit);
      throw e;
    }
  } finally {
    await p.lm.dispose();
  }
}
