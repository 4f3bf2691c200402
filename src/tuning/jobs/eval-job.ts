// Evaluation as a job: every prompt of a spec (discrete, soft, ensembles, pipelines) scored on the
// held-out split with one engine and one metric, written as eval.json and predictions.jsonl.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../common/errors.js';
import type { SoftPrompt } from '../../models/tunable.js';
import type { Job, JobSummary, ResultRow } from '../../common/protocol.js';
import { checkSoftPromptSource, readSoftPromptSource, RunDir, runsRootFor } from '../../common/run-folder.js';
import { Evaluator } from '../evaluate/evaluate.js';
import type { Split } from '../../common/data.js';
import type { PromptUnderTest } from '../prompts/prompt-builder.js';
import { firstLine, stage1Generations, stage1Prompt, stage2Prompt } from '../evaluate/pipeline.js';
import type { HeadlineMetric, Prediction, PromptResult, TaskKind } from '../../common/run-files.js';
import { taskKind } from '../../common/spec.js';
import { baseRecord, checkRunFolder, prepare, type Emit, type Prepared } from './prepare.js';
import { endRun } from './run-outcome.js';

export function toRow(r: PromptResult): ResultRow {
  const optional = { macroF1: r.macroF1, exactMatch: r.exactMatch, tokenF1: r.tokenF1, chrF: r.chrF, rougeL: r.rougeL, passRate: r.passRate, promptTokens: r.promptTokens, outputTokens: r.outputTokens, msPerExample: r.msPerExample };
  return { id: r.id, kind: r.kind, accuracy: r.accuracy, nll: r.nll, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

/** One line for the log: a label result's accuracy, macro-F1 and NLL, or a text target's metrics, and the cost. */
export function describeResult(r: PromptResult): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const figures = r.macroF1 !== undefined || r.exactMatch === undefined
    ? [`accuracy ${pct(r.accuracy)}`, ...(r.macroF1 !== undefined ? [`macro-F1 ${r.macroF1.toFixed(3)}`] : []), ...(r.nll !== null ? [`NLL ${r.nll.toFixed(3)}`] : [])]
    : [`exact match ${pct(r.exactMatch)}`, `token F1 ${pct(r.tokenF1 ?? 0)}`, `chrF ${pct(r.chrF ?? 0)}`, `ROUGE-L ${pct(r.rougeL ?? 0)}`, ...(r.passRate !== undefined ? [`pass rate ${pct(r.passRate)}`] : []), ...(r.nll !== null ? [`NLL/token ${r.nll.toFixed(3)}`] : [])];
  const cost = r.promptTokens !== undefined ? [`${r.promptTokens.toFixed(0)} input tokens${r.outputTokens !== undefined ? ` + ${r.outputTokens.toFixed(1)} output` : ''}, ${(r.msPerExample ?? 0).toFixed(0)} ms per example`] : [];
  return [...figures, ...cost].join(', ');
}

/** Evaluates prompts on the held-out split (test, else dev) and writes eval.json and predictions.jsonl. */
export async function evaluateAll(p: Prepared, run: RunDir, prompts: PromptUnderTest[], emit: Emit, signal?: AbortSignal, options: { pipelines?: boolean; stageOne?: { pipelineId: string; id: string; soft: SoftPrompt } } = {}): Promise<{ split: 'test' | 'dev'; results: PromptResult[]; task: TaskKind; metric: HeadlineMetric }> {
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
  for (const r of results) {
    if (r.truncated) emit({ type: 'log', message: `warning: ${r.truncated} of ${split.examples.length} ${split.name} examples of prompt "${r.id}" are longer than the model's context (${p.lm.contextLength} tokens) and were cut from the left, keeping the end; shorten those texts if their start matters` });
  }
  const evalSplit = split.name as 'test' | 'dev';
  // after predictions.jsonl: a run with eval.json has its predictions
  run.writeEval({ split: evalSplit, file: split.file, task: taskKind(spec), metric: spec.evaluation.metric, labels: Object.keys(spec.data.verbalizer), verbalizer: spec.data.verbalizer, results, truncated: results.reduce((sum, r) => sum + (r.truncated ?? 0), 0) });
  return { split: evalSplit, results, task: taskKind(spec), metric: spec.evaluation.metric };
}

/** A finished job's summary of its evaluation. */
export function evaluatedSummary(runDir: string, evaluation: Awaited<ReturnType<typeof evaluateAll>>): JobSummary {
  const { split, task, metric, results } = evaluation;
  return { runDir, split, status: 'completed', results: results.map(toRow), ...(task === 'target' ? { task, metric } : {}) };
}

async function evaluatePrompts(p: Prepared, evaluator: Evaluator, split: Split, prompts: PromptUnderTest[], results: PromptResult[], predictions: { add(rows: Prediction[]): void }, emit: Emit, signal: AbortSignal | undefined, options: { pipelines?: boolean; stageOne?: { pipelineId: string; id: string; soft: SoftPrompt } }): Promise<void> {
  const { spec } = p.loaded;
  // passes sized by their longest input: one very long record does not shrink, or pad, them all
  const batches = { batchSize: spec.training.evalBatchSize, batchFor: p.memory.evalBatchFor };
  // one prompt per call: a loop's locals in an async function would hold the last prompt's rows
  // through the next prompt's evaluation
  const evaluateOne = async (prompt: PromptUnderTest) => {
    const { result, predictions: rows } = await evaluator.evaluatePrompt(prompt, split, {
      ...batches,
      // a text target is judged by its outputs: evaluation.generation is a label task's choice
      generation: spec.evaluation.generation || spec.data.target !== undefined,
      signal,
      onProgress: (done, total, promptId) => emit({ type: 'evalProgress', promptId, done, total }),
    });
    results.push(result);
    predictions.add(rows);
    emit({ type: 'log', message: `${split.name} ${prompt.id} (${prompt.kind}): ${describeResult(result)}` });
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
    const { result, predictions: rows } = await evaluator.evaluatePrompt(prompt, split, { ...batches, generation: false, signal });
    results.push(result);
    predictions.add(rows.map((r, k) => ({ ...r, stage1: texts[k] })));
    emit({ type: 'log', message: `${split.name} ${id} (pipeline): ${describeResult(result)}` });
    // stage one alone, beside its pipeline: how much the second stage refines the first
    const alone = evaluator.generatedOnly(first, split.examples, generated, texts);
    results.push(alone.result);
    predictions.add(alone.predictions);
    emit({ type: 'log', message: `${split.name} ${first.id} (${first.kind}): accuracy ${(100 * alone.result.accuracy).toFixed(1)}%, macro-F1 ${alone.result.macroF1.toFixed(3)} (its generated text mapped to a label)` });
  }
}

export function discretePrompts(p: Prepared, evaluator: Evaluator): PromptUnderTest[] {
  return p.loaded.spec.discretePrompts.map((d) => evaluator.prompts.discrete(d, p.loaded.spec.training.seed));
}

export function ensemblePrompts(p: Prepared, evaluator: Evaluator): PromptUnderTest[] {
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
    return evaluator.prompts.soft(e.id, members[0], 'ensemble', members.slice(1));
  });
}

/** Evaluates the spec's discrete prompts and the soft prompts of the given runs (or adapters). */
export async function runEvalJob(job: Extract<Job, { kind: 'eval' }>, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  // a run still training, or one without its adapter, is said before the model loads
  for (const dir of job.runs) checkSoftPromptSource(dir);
  const p = await prepare(job.specFile, { ...job, beforeModel: ({ loaded }) => checkRunFolder(loaded, job.runsDir ?? runsRootFor(loaded.dir), `${loaded.spec.name}-eval`) }, emit);
  try {
    const { spec } = p.loaded;
    const evaluator = new Evaluator(p.lm, spec, p.splits.train);
    const soft: PromptUnderTest[] = job.runs.map((dir) => {
      const prompt: SoftPrompt = readSoftPromptSource(dir, p.lm.cfg.hiddenSize);
      const id = existsSync(join(dir, 'run.json')) ? RunDir.open(dir).id : dir.split(/[\\/]/).filter(Boolean).pop()!;
      return evaluator.prompts.soft(id, prompt);
    });
    const run = RunDir.create(job.runsDir ?? runsRootFor(p.loaded.dir), `${spec.name}-eval`);
    run.writeRecord({ ...baseRecord(p, run, await p.lm.device()), steps: 0, kind: 'eval', evaluatedRuns: job.runs });
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: 0 });
    return await endRun(run, p.splits.test ? 'test' : 'dev', emit, async () => {
      const prompts = [...discretePrompts(p, evaluator), ...soft, ...ensemblePrompts(p, evaluator)];
      const evaluation = await evaluateAll(p, run, prompts, emit, signal);
      run.updateRecord({ status: 'completed' });
      return evaluatedSummary(run.dir, evaluation);
    });
  } finally {
    await p.release();
  }
}
