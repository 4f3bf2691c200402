// GPU checks, bundled by esbuild and run with a carried node on a machine with a GPU (no tokenizer
// travels: token ids are synthetic). Commands:
//   write DIR NAME...            random BF16 checkpoints of real configs (one random chunk repeated)
//   check MODEL                  WebGPU (fp32 and fp16) against the CPU: loss, gradient, logits
//   run DIR NAME DEVICE PRECISION [BUDGET_GIB]
//                                setup seconds, training and evaluation tokens/s at batch 8 x 128;
//                                with a budget, micro-batches planned for that much GPU memory
// Each prints one JSON line; peak GPU memory is read from outside (nvidia-smi) per process.
import { writeRandomCheckpoint, REAL_CONFIGS } from '../src/models/random-checkpoint.js';
import { readModelConfig } from '../src/models/config.js';
import { buildModel } from '../src/models/architectures.js';
import { LanguageModel } from '../src/models/language-model.js';
import type { Precision } from '../src/models/one-graph-model.js';
import { CheckpointWeights } from '../src/models/weights.js';
import type { DeviceChoice } from '../src/engine/runtime.js';
import { accumulatedLossAndGradient, configParameters, planMemory } from '../src/tuning/train/memory-plan.js';
import { join } from 'node:path';

const B = 8, T = 128, n = 20, EVAL_B = 16;

const open = (folder: string, device: DeviceChoice, precision: Precision, log?: (m: string) => void) =>
  new LanguageModel(buildModel(readModelConfig(folder), new CheckpointWeights(folder)), null, { device, precision, log });

function tokens(count: number, length: number, vocab: number, salt: number): number[][] {
  return Array.from({ length: count }, (_, b) => Array.from({ length }, (_, i) => 3 + ((i * 7919 + b * 104729 + salt) % (vocab - 3))));
}

async function check(folder: string): Promise<Record<string, unknown>> {
  const cpu = open(folder, 'cpu', 'fp32');
  const d = cpu.cfg.hiddenSize;
  const ids = tokens(1, 12, cpu.cfg.vocabSize, 1)[0];
  const prompt = { length: 3, dim: d, data: Float32Array.from({ length: 3 * d }, (_, i) => Math.sin(i) * 0.3) };
  const ref = await cpu.lossAndGradient([{ ids, targetStart: 1 }], prompt);
  const out: Record<string, unknown> = { lossCpu: ref.loss };
  for (const precision of ['fp32', 'fp16'] as const) {
    const notes: string[] = [];
    const gpu = open(folder, 'webgpu', precision, (m) => notes.push(m));
    const r = await gpu.lossAndGradient([{ ids, targetStart: 1 }], prompt);
    let diff = 0, scale = 0;
    for (let i = 0; i < r.grad.length; i++) { diff = Math.max(diff, Math.abs(r.grad[i] - ref.grad[i])); scale = Math.max(scale, Math.abs(ref.grad[i])); }
    out[precision] = { device: await gpu.device(), precision: gpu.precision, notes, loss: r.loss, gradMaxAbsDiff: diff, gradScale: scale };
    await gpu.dispose();
  }
  return out;
}

async function run(folder: string, name: string, device: DeviceChoice, precision: Precision, budgetGiB?: number): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const lm = open(folder, device, precision);
  await lm.session();
  if (device !== 'cpu' && !lm.deviceNote.startsWith(`device: ${device}`)) throw new Error(`${device} did not start: ${lm.deviceNote}`);
  const setupSeconds = (performance.now() - t0) / 1000;
  const c = lm.cfg;
  const plan = budgetGiB ? planMemory(readModelConfig(folder), configParameters(readModelConfig(folder)), {
    batchSize: B, evalBatchSize: EVAL_B, tokens: T + n, budgetBytes: budgetGiB * 2 ** 30, budgetSource: 'GPU memory given',
    halfWeights: lm.precision === 'fp16',
  }) : { microBatch: B, evalBatch: EVAL_B, detail: 'whole batches' };
  const prompt = { length: n, dim: c.hiddenSize, data: Float32Array.from({ length: n * c.hiddenSize }, (_, i) => 0.02 * Math.sin(i)) };
  const batch = tokens(B, T, c.vocabSize, 5).map((ids) => ({ ids, targetStart: T - 2 }));
  const trainTimes: number[] = [];
  let loss = 0;
  for (let i = 0; i < 4; i++) {
    const s = performance.now();
    loss = (await accumulatedLossAndGradient(lm, batch, prompt, plan.microBatch)).loss;
    if (i > 0) trainTimes.push((performance.now() - s) / 1000);
  }
  const items = tokens(EVAL_B, T, c.vocabSize, 9).map((ids) => ({ prefix: ids, choices: [{ ids: [5], scoreFrom: 0 }, { ids: [6], scoreFrom: 0 }] }));
  const evalTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    for (let j = 0; j < items.length; j += plan.evalBatch) await lm.scoreChoices(items.slice(j, j + plan.evalBatch), prompt);
    if (i > 0) evalTimes.push((performance.now() - s) / 1000);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const result = {
    model: name, device: lm.deviceNote, precision: lm.precision, batch: B, length: T, softPrompt: n,
    microBatch: plan.microBatch, evalBatch: plan.evalBatch, plan: plan.detail,
    setupSeconds, trainStepSeconds: mean(trainTimes), trainTokensPerSecond: (B * T) / mean(trainTimes),
    evalSeconds: mean(evalTimes), evalTokensPerSecond: (EVAL_B * T) / mean(evalTimes), loss,
  };
  await lm.dispose();
  return result;
}

const [command, ...args] = process.argv.slice(2);
let result: unknown;
if (command === 'write') {
  const [dir, ...names] = args;
  result = names.map((name) => {
    const s = performance.now();
    const parameters = writeRandomCheckpoint(join(dir, name), REAL_CONFIGS[name], join(process.cwd(), 'models', 'stories260K'), 1, 0.02, { repeatChunk: true });
    return { name, parameters, seconds: (performance.now() - s) / 1000 };
  });
} else if (command === 'check') result = await check(args[0]);
else if (command === 'run') result = await run(join(args[0], args[1]), args[1], args[2] as DeviceChoice, args[3] as Precision, args[4] ? Number(args[4]) : undefined);
else throw new Error(`unknown command ${command}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
