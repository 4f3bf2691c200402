// The prompt-tuning loop: the model is frozen, only the soft prompt [n, d] is trained on the
// cross-entropy of the gold label's tokens. Evaluates on dev every evalEvery steps, keeps the
// best prompt, stops early after `patience` evaluations without improvement, checkpoints, and
// honours cancellation between steps.
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import type { RunDir, CheckpointState } from '../../common/run-folder.js';
import type { MetricRow } from '../../common/run-files.js';
import type { Split } from '../../common/data.js';
import { CancelledError, NonFiniteScoresError, type Evaluator } from '../evaluate/evaluate.js';
import { Adafactor, Adam, clipGradient, learningRateAt, type Optimizer } from './optimizers.js';
import { accumulatedLossAndGradient, type MemoryPlan } from './memory-plan.js';
import { BatchSampler } from './sampler.js';
import type { Spec } from '../../common/spec.js';
import { devEvaluation, type EvalEvent } from './dev-evaluation.js';

export interface ProgressEvent { step: number; steps: number; loss: number; learningRate: number; examplesPerSecond: number; etaSeconds: number; gradNorm: number }
export type { EvalEvent } from './dev-evaluation.js';

export interface TrainHooks {
  onProgress?(e: ProgressEvent): void;
  onEval?(e: EvalEvent): void;
  onCheckpoint?(step: number, file: string): void;
  onLog?(message: string): void;
}

export interface TrainResult {
  status: 'completed' | 'cancelled' | 'failed';
  step: number;
  bestStep: number | null;
  bestDevAccuracy: number | null;
  /** The prompt to keep: the best on dev, else the last. */
  prompt: SoftPrompt;
  error?: string;
  stoppedEarly: boolean;
}

export class NonFiniteLossError extends Error {}

export function makeOptimizer(spec: Spec, n: number, d: number): Optimizer {
  const t = spec.training;
  return t.optimizer === 'adafactor' ? new Adafactor(n, d, { weightDecay: t.weightDecay }) : new Adam(n * d, { weightDecay: t.weightDecay });
}

export async function trainSoftPrompt(args: {
  lm: TunableModel;
  spec: Spec;
  train: Split;
  dev?: Split;
  evaluator: Evaluator;
  initial: SoftPrompt;
  run: RunDir;
  resume?: CheckpointState | null;
  signal?: AbortSignal;
  hooks?: TrainHooks;
  /** Micro-batch and evaluation batch (default: the whole batch, evalBatchSize), and their sizes by length where planned. */
  memory?: Pick<MemoryPlan, 'microBatch' | 'evalBatch'> & Partial<Pick<MemoryPlan, 'microBatchFor' | 'evalBatchFor'>>;
}): Promise<TrainResult> {
  const { lm, spec, train, dev, evaluator, run, signal, hooks = {} } = args;
  const t = spec.training;
  const n = args.initial.length;
  const d = lm.cfg.hiddenSize;
  const prompt = Float32Array.from(args.initial.data);
  const optimizer = makeOptimizer(spec, n, d);
  const sampler = new BatchSampler(train.examples, t.batchSize, t.seed, t.sampling);
  const sequences = evaluator.prompts.trainingSequences(n);
  const truncated = sequences.truncatedCount(train.examples);
  // said before training, not after: the soft prompt learns from what is left of these examples
  if (truncated > 0) hooks.onLog?.(`warning: ${truncated} of ${train.examples.length} training examples are longer than the model's context (${lm.contextLength} tokens with the ${n}-token soft prompt) and were cut from the left, keeping the label; shorten those texts if the start matters`);

  let start = 0;
  let bestAccuracy: number | null = null;
  let bestStep: number | null = null;
  let bestPrompt: Float32Array | null = null;
  let sinceBest = 0;
  // from step 0 (a new run, or one restarted from its step-0 checkpoint) the curve starts afresh:
  // its step-0 evaluation is made again below
  let metrics: MetricRow[] = [];
  if (args.resume) {
    prompt.set(args.resume.prompt);
    optimizer.load(args.resume.optimizer);
    start = args.resume.step;
    const tr = args.resume.training as { bestAccuracy: number | null; bestStep: number | null; sinceBest: number };
    bestAccuracy = tr.bestAccuracy;
    bestStep = tr.bestStep;
    sinceBest = tr.sinceBest;
    const best = run.readCheckpoint('best.safetensors');
    bestPrompt = best ? best.prompt : null;
    if (start > 0) metrics = run.readMetrics().filter((m) => m.step <= start);
    hooks.onLog?.(`resuming at step ${start} of ${t.steps}`);
  }

  let lastCheckpoint = start;
  const checkpoint = (step: number) => {
    lastCheckpoint = step;
    run.writeCheckpoint('last.safetensors', {
      step,
      prompt,
      optimizer: optimizer.state(),
      training: { bestAccuracy, bestStep, sinceBest },
    });
    run.writeMetrics(metrics);
    // run.json's step is where a resume would start: a run found interrupted names it, not step 0
    run.updateRecord({ step });
    hooks.onCheckpoint?.(step, run.path('checkpoints/last.safetensors'));
  };

  const evaluate = async (step: number) => {
    if (!dev) return false;
    const { result } = await evaluator.evaluatePrompt(evaluator.prompts.soft(spec.softPrompt.id, { length: n, dim: d, data: prompt }), dev, { batchSize: args.memory?.evalBatchFor ? t.evalBatchSize : args.memory?.evalBatch ?? t.evalBatchSize, batchFor: args.memory?.evalBatchFor, generation: false, signal });
    // the headline metric decides the best prompt: accuracy for labels, evaluation.metric for text targets
    const { value, better, row, event } = devEvaluation(spec, step, result, bestAccuracy);
    if (better) {
      bestAccuracy = value;
      bestStep = step;
      bestPrompt = Float32Array.from(prompt);
      sinceBest = 0;
      run.writeCheckpoint('best.safetensors', { step, prompt, optimizer: { step: 0, tensors: {} }, training: {} });
    } else sinceBest++;
    metrics.push(row);
    hooks.onEval?.(event);
    return t.patience !== undefined && sinceBest >= t.patience;
  };

  let step = start;
  let stoppedEarly = false;
  const started = performance.now();
  const finish = (status: TrainResult['status'], error?: string): TrainResult => ({
    status, step, bestStep, bestDevAccuracy: bestAccuracy, error, stoppedEarly,
    prompt: { length: n, dim: d, data: bestPrompt ?? prompt },
  });

  if (start === 0 && dev) {
    try {
      await evaluate(0); // the starting point, so the curve shows what training changed
    } catch (e) {
      // cancelled this early, the run still ends as any cancelled run: checkpointed, resumable
      if (!(e instanceof CancelledError)) throw e;
      checkpoint(0);
      return finish('cancelled');
    }
  }
  // a run killed before its first regular checkpoint can still be resumed
  if (start === 0) checkpoint(0);
  while (step < t.steps) {
    if (signal?.aborted) {
      checkpoint(step);
      return finish('cancelled');
    }
    const batch = sampler.batch(step).map((e) => sequences.of(e));
    const stepStart = performance.now();
    const { loss, grad: g } = await accumulatedLossAndGradient(args.lm, batch, { length: n, dim: d, data: prompt }, args.memory?.microBatchFor ?? args.memory?.microBatch ?? batch.length, n);
    if (!Number.isFinite(loss)) {
      const message = step === start && start === 0
        ? `the loss is ${loss} at step 1, from the initial soft prompt: check softPrompt.init (an initFile with NaN or infinite values) and the model's weights`
        : `the loss became ${loss} at step ${step + 1}; the last good checkpoint (step ${lastCheckpoint}) is kept in ${run.path('checkpoints')}; lower training.learningRate or set training.clipNorm`;
      return finish('failed', message);
    }
    const gradNorm = clipGradient(g, t.clipNorm);
    const lr = learningRateAt(step, t.steps, t.learningRate, t.schedule, t.warmupSteps);
    optimizer.step(prompt, g, lr);
    // a finite loss can still give an update that overflows (a learning rate far too high)
    const overflow = prompt.find((v) => !Number.isFinite(v));
    if (overflow !== undefined) {
      return finish('failed', `the soft prompt became ${overflow} at step ${step + 1} (learning rate ${lr.toPrecision(3)}, loss ${loss.toPrecision(4)}): the update diverged; lower training.learningRate or set training.clipNorm; the last good checkpoint (step ${lastCheckpoint}) is kept in ${run.path('checkpoints')}`);
    }
    step++;
    const seconds = (performance.now() - stepStart) / 1000;
    const elapsed = (performance.now() - started) / 1000;
    const examplesPerSecond = t.batchSize / seconds;
    metrics.push({ step, loss, learningRate: lr, gradNorm, examplesPerSecond });
    hooks.onProgress?.({ step, steps: t.steps, loss, learningRate: lr, examplesPerSecond, gradNorm, etaSeconds: (elapsed / (step - start)) * (t.steps - step) });
    const atEval = step % t.evalEvery === 0 || step === t.steps;
    let stop = false;
    try {
      stop = atEval && (await evaluate(step));
    } catch (e) {
      if (e instanceof CancelledError) {
        checkpoint(step);
        return finish('cancelled');
      }
      // scores that were finite at step 0 and are not now: the training diverged, not the model
      if (dev && e instanceof NonFiniteScoresError) {
        const largest = prompt.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        return finish('failed', `the dev evaluation at step ${step} (${dev.file}) failed: ${(e as Error).message}. The soft prompt diverged (its largest value is ${largest.toPrecision(3)}; learning rate ${lr.toPrecision(3)}): lower training.learningRate or set training.clipNorm; the last good checkpoint (step ${lastCheckpoint}) is kept in ${run.path('checkpoints')}`);
      }
      throw e;
    }
    if (stop) {
      stoppedEarly = true;
      hooks.onLog?.(`early stop at step ${step}: no better dev ${spec.evaluation.metric === 'rank' || spec.evaluation.metric === 'generate' ? 'accuracy' : spec.evaluation.metric} in ${t.patience} evaluations`);
      checkpoint(step);
      break;
    }
    if (step % t.checkpointEvery === 0 || step === t.steps) checkpoint(step);
  }
  return finish('completed');
}
