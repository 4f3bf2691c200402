// Tuning a pipeline's first stage with its second stage fixed. Stage one's text is discrete, so no
// gradient flows from stage two through it: the soft prompt is trained by policy gradient
// (REINFORCE). Stage one samples a text for each example; the reward is stage two's normalised
// log-likelihood of the gold label given that text; the loss weights the sampled tokens'
// log-probabilities by the reward minus the batch mean.
import { Rng } from '../../engine/random.js';
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import type { RunDir } from '../../common/run-folder.js';
import type { MetricRow } from '../../common/run-files.js';
import type { Split } from '../../common/data.js';
import type { Evaluator } from '../evaluate/evaluate.js';
import { learningRateAt, clipGradient } from './optimizers.js';
import { firstLine, stage1Texts, stage2Prompt } from '../evaluate/pipeline.js';
import { BatchSampler } from './sampler.js';
import type { LoadedSpec } from '../../common/spec.js';
import { fillTemplate } from '../../common/template.js';
import { makeOptimizer, type TrainHooks, type TrainResult } from './train.js';

export async function trainStageOne(args: {
  lm: TunableModel; loaded: LoadedSpec; train: Split; dev?: Split; evaluator: Evaluator; initial: SoftPrompt; run: RunDir; signal?: AbortSignal; hooks?: TrainHooks;
}): Promise<TrainResult> {
  const { lm, loaded, train, dev, evaluator, run, signal, hooks = {} } = args;
  const spec = loaded.spec;
  const t = spec.training;
  const pipeline = spec.pipelines.find((p) => p.id === spec.softPrompt.stageOneOf)!;
  if (lm.kind !== 'causal') throw new Error('tuning a first stage needs a causal language model (sampling)');
  const n = args.initial.length;
  const d = lm.cfg.hiddenSize;
  const prompt = Float32Array.from(args.initial.data);
  const soft = (): SoftPrompt => ({ length: n, dim: d, data: prompt });
  const optimizer = makeOptimizer(spec, n, d);
  const sampler = new BatchSampler(train.examples, t.batchSize, t.seed, t.sampling);
  const rng = new Rng(t.seed * 31 + 7);
  const labels = evaluator.labels;
  const metrics: MetricRow[] = [];
  const maxNew = pipeline.stage1.maxNewTokens;
  let best: { accuracy: number; step: number; prompt: Float32Array } | null = null;

  /** Stage two's normalised log-likelihood of each example's gold label, given stage one's texts. */
  const rewards = async (examples: Split['examples'], texts: string[]) => {
    const prompt2 = stage2Prompt(loaded, evaluator, pipeline, new Map(examples.map((e, k) => [e, texts[k]])));
    const scores = await evaluator.labelScores(prompt2, examples, { batchSize: t.evalBatchSize, generation: false, signal });
    return scores.map(([row], k) => {
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      return row[labels.indexOf(examples[k].label)] - logZ;
    });
  };

  const evaluate = async (step: number) => {
    if (!dev) return;
    const texts = await stage1Texts(loaded, evaluator, pipeline, dev.examples, t.evalBatchSize, soft());
    const { result } = await evaluator.evaluate(stage2Prompt(loaded, evaluator, pipeline, new Map(dev.examples.map((e, k) => [e, texts[k]]))), dev, { batchSize: t.evalBatchSize, generation: false, signal });
    const better = !best || result.accuracy > best.accuracy;
    if (better) best = { accuracy: result.accuracy, step, prompt: Float32Array.from(prompt) };
    metrics.push({ step, split: 'dev', devAccuracy: result.accuracy, devNll: result.nll, devMacroF1: result.macroF1 });
    hooks.onEval?.({ step, split: 'dev', accuracy: result.accuracy, nll: result.nll, macroF1: result.macroF1, best: better });
  };

  await evaluate(0);
  const started = performance.now();
  let step = 0;
  for (; step < t.steps; step++) {
    if (signal?.aborted) break;
    const examples = sampler.batch(step);
    const inputs = examples.map((e) => evaluator.prompts.encoder.promptOnly(fillTemplate(pipeline.stage1.template, e.fields), n, maxNew).ids);
    const { ids } = await lm.generate(inputs, soft(), maxNew, { sample: { temperature: 1, random: () => rng.next() } });
    const sampled = ids.map((row, k) => row.slice(inputs[k].length));
    const texts = sampled.map((s) => firstLine(lm.tokenizer!.decode(s)));
    const reward = await rewards(examples, texts);
    const baseline = reward.reduce((s, r) => s + r, 0) / reward.length;
    const keep = sampled.map((s, k) => k).filter((k) => sampled[k].length > 0);
    if (keep.length > 0) {
      const seqs = keep.map((k) => ({ ids: [...inputs[k], ...sampled[k]], targetStart: inputs[k].length }));
      const { grad } = await lm.lossAndGradient(seqs, soft(), { perSequence: keep.map((k) => (reward[k] - baseline) / examples.length) });
      const g = Float32Array.from(grad);
      clipGradient(g, t.clipNorm ?? 1);
      optimizer.step(prompt, g, learningRateAt(step, t.steps, t.learningRate, t.schedule, t.warmupSteps));
    }
    const done = step + 1;
    const meanReward = baseline;
    metrics.push({ step: done, loss: -meanReward, reward: meanReward });
    hooks.onProgress?.({ step: done, steps: t.steps, loss: -meanReward, learningRate: learningRateAt(step, t.steps, t.learningRate, t.schedule, t.warmupSteps), examplesPerSecond: 0, gradNorm: 0, etaSeconds: ((performance.now() - started) / 1000 / done) * (t.steps - done) });
    if (done % t.evalEvery === 0 || done === t.steps) {
      await evaluate(done);
      run.writeMetrics(metrics);
    }
  }
  run.writeMetrics(metrics);
  const kept = best as { accuracy: number; step: number; prompt: Float32Array } | null;
  return {
    status: signal?.aborted ? 'cancelled' : 'completed', step, bestStep: kept?.step ?? null, bestDevAccuracy: kept?.accuracy ?? null, stoppedEarly: false,
    prompt: { length: n, dim: d, data: kept?.prompt ?? prompt },
  };
}
