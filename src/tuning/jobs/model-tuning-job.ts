// `ptune tune-model`: the model-tuning baseline as a job, with the same data, template,
// evaluation and run files as a prompt-tuning run, and the tuned weights as run/model/.
import { devEvaluation } from '../train/dev-evaluation.js';
import { weightShapes } from '../../models/architectures.js';
import { readModelConfig } from '../../models/config.js';
import { InputError, RunFailedError } from '../../common/errors.js';
import { openModel } from '../../models/load.js';
import { CheckpointWeights } from '../../models/weights.js';
import type { Job, JobSummary } from '../../common/protocol.js';
import { RunDir, runsRootFor } from '../../common/run-folder.js';
import type { MetricRow } from '../../common/run-files.js';
import { CancelledError, Evaluator, NonFiniteScoresError } from '../evaluate/evaluate.js';
import type { PromptUnderTest } from '../prompts/prompt-builder.js';
import { evaluateAll, evaluatedSummary } from './eval-job.js';
import { baseRecord, checkRunFolder, prepare, type Emit } from './prepare.js';
import { endRun } from './run-outcome.js';
import { estimateModelTuningMemory, ModelTuner } from '../train/model-tuning.js';
import { learningRateAt } from '../train/optimizers.js';
import { BatchSampler } from '../train/sampler.js';

export async function runModelTuningJob(job: Extract<Job, { kind: 'model-tune' }>, emit: Emit, signal?: AbortSignal): Promise<JobSummary> {
  const p = await prepare(job.specFile, { ...job, beforeModel: ({ loaded }) => checkRunFolder(loaded, job.runsDir ?? runsRootFor(loaded.dir), `${loaded.spec.name}-model-tuning`) }, emit);
  let tuner: ModelTuner | undefined;
  try {
    const { spec } = p.loaded;
    const cfg = readModelConfig(p.modelFolder);
    const base = new CheckpointWeights(p.modelFolder);
    const names = [...weightShapes(cfg).keys()];
    const params = names.reduce((s, n) => s + base.shape(n).reduce((a, b) => a * b, 1), 0);
    const mt = spec.modelTuning;
    const evaluator = new Evaluator(p.lm, spec, p.splits.train);
    const sequences = evaluator.prompts.trainingSequences(0);
    const memory = estimateModelTuningMemory(params, cfg, mt.batchSize, sequences.longest(p.splits.train.examples));
    emit({ type: 'log', message: `model tuning: ${memory.detail}` });
    if (!memory.fits) {
      throw new InputError(`${p.loaded.file}: model tuning of ${cfg.modelType} would need about ${(memory.bytes / 2 ** 30).toFixed(1)} GiB (${memory.detail}); use a smaller model or modelTuning.batchSize, or compare with prompt tuning only`, { file: p.loaded.file, field: 'modelTuning' });
    }
    const run = RunDir.create(job.runsDir ?? runsRootFor(p.loaded.dir), `${spec.name}-model-tuning`);
    run.writeRecord({ ...baseRecord(p, run, await p.lm.device()), kind: 'model-tuning', steps: mt.steps, parameters: params });
    emit({ type: 'run', runDir: run.dir, runId: run.id, steps: mt.steps });
    // a cancellation or failure from here on ends the run with that status, never 'running'
    return await endRun(run, p.splits.test ? 'test' : 'dev', emit, async () => {
      tuner = new ModelTuner(cfg, base, p.lm.tokenizer, { device: job.device, optimizer: mt.optimizer, weightDecay: spec.training.weightDecay });
      const sampler = new BatchSampler(p.splits.train.examples, mt.batchSize, spec.training.seed, spec.training.sampling);
      const metrics: MetricRow[] = [];
      let best: { value: number | null; step: number; arrays: Map<string, Float32Array> } | null = null;
      const evaluateDev = async (step: number) => {
        if (!p.splits.dev) return;
        const view = tuner!.snapshot();
        const devEvaluator = new Evaluator(view, spec, p.splits.train);
        const { result } = await devEvaluator.evaluatePrompt(devEvaluator.prompts.soft('model-tuning', view.emptyPrompt(), 'model'), p.splits.dev, { batchSize: spec.training.evalBatchSize, generation: false, signal });
        await view.dispose();
        const dev = devEvaluation(spec, step, result, best ? (best as { value: number | null }).value : null);
        if (dev.better) best = { value: dev.value, step, arrays: new Map([...tuner!.arrays].map(([n, a]) => [n, Float32Array.from(a)])) };
        metrics.push(dev.row);
        emit({ type: 'eval', ...dev.event });
      };
      await evaluateDev(0);
      const started = performance.now();
      for (let step = 0; step < mt.steps; step++) {
        if (signal?.aborted) throw new CancelledError();
        const lr = learningRateAt(step, mt.steps, mt.learningRate, spec.training.schedule, spec.training.warmupSteps);
        const t0 = performance.now();
        const loss = await tuner.step(sampler.batch(step).map((e) => sequences.of(e)), lr);
        if (!Number.isFinite(loss)) throw new RunFailedError(`model tuning: the loss became ${loss} at step ${step + 1} (learning rate ${lr.toPrecision(3)}): the training diverged; lower modelTuning.learningRate`, run.dir);
        const done = step + 1;
        metrics.push({ step: done, loss, learningRate: lr, examplesPerSecond: mt.batchSize / ((performance.now() - t0) / 1000) });
        emit({ type: 'progress', step: done, steps: mt.steps, loss, learningRate: lr, examplesPerSecond: mt.batchSize / ((performance.now() - t0) / 1000), etaSeconds: ((performance.now() - started) / 1000 / done) * (mt.steps - done) });
        if (done % spec.training.evalEvery === 0 || done === mt.steps) {
          try {
            await evaluateDev(done);
          } catch (e) {
            // the weights scored finite values at step 0: it is the tuning that diverged, not the checkpoint
            if (!(e instanceof NonFiniteScoresError)) throw e;
            throw new RunFailedError(`model tuning diverged: the dev evaluation at step ${done} (${p.splits.dev!.file}) failed: ${(e as Error).message}. The tuned weights scored finite values at step 0 (learning rate now ${lr.toPrecision(3)}): lower modelTuning.learningRate`, run.dir);
          }
          run.writeMetrics(metrics);
        }
      }
      run.writeMetrics(metrics);
      const kept = best as { step: number; arrays: Map<string, Float32Array> } | null;
      const modelDir = run.path('model');
      tuner.save(modelDir, p.modelFolder, kept?.arrays);
      run.updateRecord({ step: mt.steps, bestStep: kept?.step ?? null, bestDevAccuracy: (best as { accuracy: number } | null)?.accuracy ?? null });
      const tuned = await openModel(modelDir, { device: job.device, threads: job.threads });
      try {
        const prompt: PromptUnderTest = { ...new Evaluator(tuned, spec, p.splits.train).prompts.soft('model-tuning', tuned.emptyPrompt(), 'model'), taskParameters: params };
        const evaluation = await evaluateAll({ ...p, lm: tuned }, run, [prompt], emit, signal, { pipelines: false });
        run.updateRecord({ status: 'completed' });
        return evaluatedSummary(run.dir, evaluation);
      } finally {
        await tuned.dispose();
      }
    });
  } finally {
    await tuner?.dispose();
    await p.release();
  }
}
