// Device check for a machine with a GPU: WebGPU against the CPU on the bundled model, then the
// engine benchmark on WebGPU and on the CPU. Bundled by esbuild and run with a carried node.
import { benchEngine } from '../bench/engine.js';
import { type DeviceChoice } from '../src/engine/runtime.js';
import { readModelConfig } from '../src/models/config.js';
import { buildModel, LanguageModel } from '../src/models/language-model.js';
import { CheckpointWeights } from '../src/models/weights.js';

// no tokenizer here: @huggingface/transformers does not travel to the GPU machine
const open = (folder: string, device: DeviceChoice, log?: (m: string) => void) =>
  new LanguageModel(buildModel(readModelConfig(folder), new CheckpointWeights(folder)), null, { device, log });

const out: Record<string, unknown> = {};
const model = process.argv[2] ?? 'models/stories260K';
const cpu = open(model, 'cpu');
const notes: string[] = [];
const gpu = open(model, 'webgpu', (m) => notes.push(m));
const ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298];
const prompt = { length: 3, dim: 64, data: Float32Array.from({ length: 192 }, (_, i) => Math.sin(i) * 0.3) };
const a = await gpu.lossAndGradient([{ ids, targetStart: 1 }], prompt);
const b = await cpu.lossAndGradient([{ ids, targetStart: 1 }], prompt);
let maxDiff = 0;
for (let i = 0; i < a.grad.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.grad[i] - b.grad[i]));
out.correctness = { device: await gpu.device(), notes, lossGpu: a.loss, lossCpu: b.loss, gradMaxAbsDiff: maxDiff };
console.log(JSON.stringify(out.correctness));
for (const device of ['webgpu', 'cpu'] as const) {
  try {
    out[`bench_${device}`] = await benchEngine({ device, steps: 7 });
  } catch (e) {
    out[`bench_${device}`] = { error: String(e) };
  }
  console.log(JSON.stringify(out[`bench_${device}`]));
}
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
