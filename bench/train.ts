// Training and evaluation throughput (examples per second) on the bundled stories260K with the
// bundled mood task, and on the 58.5M-parameter random bench model with synthetic sequences.
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';
import { type DeviceChoice } from '../src/engine/runtime.js';
import { parseModelConfig } from '../src/models/config.js';
import { buildModel } from '../src/models/architectures.js';
import { LanguageModel, type Sequence } from '../src/models/language-model.js';
import { openModel } from '../src/models/load.js';
import { CheckpointWeights } from '../src/models/weights.js';
import { packageRoot } from '../src/common/paths.js';
import { readSplit } from '../src/common/data.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { initSoftPrompt } from '../src/tuning/prompts/prompt-init.js';
import { loadSpec } from '../src/common/spec.js';
import { fillTemplate } from '../src/common/template.js';
import { BENCH_CONFIG, benchCheckpoint } from './engine.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput(lm: LanguageModel, trainBatches: Sequence[][], scoreBatches: Sequence[][], prompt: { length: number; dim: number; data: Float32Array }, examplesPerScoreBatch: number) {
  const trainTimes: number[] = [];
  for (const batch of trainBatches) {
    const t0 = performance.now();
    await lm.lossAndGradient(batch, prompt);
    trainTimes.push((performance.now() - t0) / 1000);
  }
  const scoreTimes: number[] = [];
  for (const batch of scoreBatches) {
    const t0 = performance.now();
    await lm.score(batch, prompt);
    scoreTimes.push((performance.now() - t0) / 1000);
  }
  return {
    trainExamplesPerSecond: trainBatches[0].length / median(trainTimes.slice(1)),
    evalExamplesPerSecond: examplesPerScoreBatch / median(scoreTimes.slice(1)),
  };
}

export async function benchTrain(options: { device: DeviceChoice }): Promise<Record<string, unknown>> {
  // stories260K on the mood task, as the demo runs it: 20-token prompt, batch 16, 2 labels
  const loaded = loadSpec(join(packageRoot(), 'examples', 'mood', 'mood.ptune.json'));
  const train = await readSplit(loaded, 'train');
  const lm = await openModel(loaded.resolvePath(loaded.spec.model), { kind: 'causal', device: options.device });
  const evaluator = new Evaluator(lm, loaded.spec, train);
  const prompt = initSoftPrompt(lm, loaded, 0) as { length: number; dim: number; data: Float32Array };
  const seqs = train.examples.map((e) => evaluator.prompts.encoder.withTarget(fillTemplate(loaded.spec.softPrompt.template, e.fields), ` ${loaded.spec.data.verbalizer[e.label]}`, prompt.length));
  const batches = (from: Sequence[], size: number, count: number) => Array.from({ length: count }, (_, b) => from.slice((b * size) % (from.length - size), ((b * size) % (from.length - size)) + size));
  // evaluation scores every label's text for every example, as rank classification does
  const labelSequences = evaluator.labelSequences(evaluator.prompts.soft('soft', prompt), train.examples);
  const stories = await throughput(lm, batches(seqs, 16, 12), batches(labelSequences, 64, 8), prompt, 32);
  await lm.dispose();

  // the 58.5M bench model: 96-token inputs, 20-token prompt, a 2-token target
  const dir = benchCheckpoint();
  const cfg = parseModelConfig(BENCH_CONFIG);
  const big = new LanguageModel(buildModel(cfg, new CheckpointWeights(dir)), null, { device: options.device });
  const rng = new Rng(9);
  const seq = (): Sequence => ({ ids: Array.from({ length: 98 }, () => 3 + rng.int(cfg.vocabSize - 3)), targetStart: 96 });
  const bigPrompt = { length: 20, dim: cfg.hiddenSize, data: Float32Array.from({ length: 20 * cfg.hiddenSize }, () => rng.uniform(-0.5, 0.5)) };
  const bench = await throughput(big, Array.from({ length: 6 }, () => Array.from({ length: 8 }, seq)), Array.from({ length: 5 }, () => Array.from({ length: 16 }, seq)), bigPrompt, 8);
  await big.dispose();
  return {
    device: options.device,
    stories260K: { ...stories, note: 'mood task, prompt 20, train batch 16, eval 2 labels per example' },
    bench58M: { ...bench, note: '96-token inputs, prompt 20, 2-token targets, train batch 8, eval 2 labels per example' },
  };
}
