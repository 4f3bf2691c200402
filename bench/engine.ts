// Engine benchmark: one training step (forward + gradient to the soft prompt) of a 58.5M
// parameter Llama-style model with random weights, against the matmul ceiling measured in the
// same process (a chain of matmuls inside one run()).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../src/engine/graph.js';
import { Rng } from '../src/engine/random.js';
import { createSession, floatTensor, type DeviceChoice } from '../src/engine/runtime.js';
import { cacheRoot } from '../src/common/paths.js';
import { parseModelConfig, type LlamaConfig } from '../src/models/config.js';
import { buildModel, weightShapes } from '../src/models/architectures.js';
import { LanguageModel, type Sequence } from '../src/models/language-model.js';
import { encodeSafetensors } from '../src/common/safetensors.js';
import { CheckpointWeights } from '../src/models/weights.js';

export const BENCH_CONFIG = {
  model_type: 'llama', hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 8, num_attention_heads: 8,
  num_key_value_heads: 8, vocab_size: 32000, max_position_embeddings: 1024, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 1, eos_token_id: 2,
};

/** Writes a random-weight checkpoint (safetensors + config.json) once into the cache. */
export function benchCheckpoint(config: Record<string, unknown> = BENCH_CONFIG, name = 'bench-58m'): string {
  const dir = join(cacheRoot(), 'bench-models', name);
  const cfg = parseModelConfig(config) as LlamaConfig;
  const file = join(dir, 'model.safetensors');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const rng = new Rng(1);
  const tensors = [...weightShapes(cfg)].map(([tensorName, shape]) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const isNorm = tensorName.endsWith('norm.weight');
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = isNorm ? 1 : 0.02 * (rng.next() * 2 - 1) * 1.7;
    return { name: tensorName, shape, data };
  });
  writeFileSync(file, encodeSafetensors(tensors));
  return dir;
}

export function trainingStepFlops(cfg: LlamaConfig, B: number, T: number, n: number, targets: number): number {
  const S = n + T;
  const M = B * S;
  const { hiddenSize: d, numHeads: h, numKvHeads: kv, headDim: hd, intermediateSize: f } = cfg;
  const linearPerToken = d * h * hd + 2 * d * kv * hd + h * hd * d + 3 * d * f;
  const linear = 2 * M * linearPerToken * cfg.numLayers;
  const attention = 2 * 2 * B * h * S * S * hd * cfg.numLayers;
  const head = 2 * targets * d * cfg.vocabSize;
  // backward to the soft prompt: one product per linear layer and head (input gradient only), two per attention product
  return 2 * (linear + head) + 3 * attention;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The ceiling for this step: the step's own matrix products, with its shapes and proportions (per
 * layer the forward products x W^T of q, k, v, o, gate, up, down and their input-gradient products
 * gy W, the attention products over [B, heads, S, S], and the head on the target rows), run back to
 * back in one run(). A square 1024^3 chain measures a shape the step never uses.
 */
export async function stepProductsCeiling(cfg: LlamaConfig, device: DeviceChoice, B: number, S: number, targets: number): Promise<number> {
  const g = new Graph('float32');
  const rng = new Rng(3);
  const M = B * S;
  const { hiddenSize: d, numHeads: h, numKvHeads: kv, headDim: hd, intermediateSize: f } = cfg;
  const random = (size: number) => Float32Array.from({ length: size }, () => (rng.next() - 0.5) / 16);
  const inputs = new Map<number, ReturnType<Graph['input']>>();
  const rowsOf = (width: number, rows: number) => {
    const key = rows * 1e6 + width;
    if (!inputs.has(key)) inputs.set(key, g.input(`x${rows}_${width}`, 'float32', [rows, width]));
    return inputs.get(key)!;
  };
  const sums: ReturnType<Graph['input']>[] = [];
  let flops = 0;
  const gemm = (rows: number, inDim: number, outDim: number, transB: boolean, name: string) => {
    const w = g.initializer(name, 'float32', transB ? [outDim, inDim] : [inDim, outDim], random(inDim * outDim));
    const y = g.node('Gemm', [rowsOf(inDim, rows), w], { transB: transB ? 1 : 0 }, [{ dtype: 'float32', shape: [rows, outDim] }])[0];
    sums.push(g.node('ReduceSum', [y], { keepdims: 0 }, [{ dtype: 'float32', shape: [] }])[0]);
    flops += 2 * rows * inDim * outDim;
  };
  const linears: [number, number][] = [[d, h * hd], [d, kv * hd], [d, kv * hd], [h * hd, d], [d, f], [d, f], [f, d]];
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    linears.forEach(([i, o], k) => {
      gemm(M, i, o, true, `l${layer}_${k}`);
      gemm(M, o, i, false, `l${layer}_${k}_grad`);
    });
    // scores q k^T and probs v forward; their gradients: two products each
    const q = g.input(`q${layer}`, 'float32', [B, h, S, hd]);
    const kT = g.input(`k${layer}`, 'float32', [B, h, hd, S]);
    for (let r = 0; r < 3; r++) {
      const scores = g.node('MatMul', [q, kT], {}, [{ dtype: 'float32', shape: [B, h, S, S] }])[0];
      const back = g.node('MatMul', [scores, q], {}, [{ dtype: 'float32', shape: [B, h, S, hd] }])[0];
      sums.push(g.node('ReduceSum', [back], { keepdims: 0 }, [{ dtype: 'float32', shape: [] }])[0]);
      flops += 2 * 2 * B * h * S * S * hd;
    }
  }
  gemm(targets, d, cfg.vocabSize, true, 'head');
  gemm(targets, cfg.vocabSize, d, false, 'head_grad');
  g.output(g.node('Sum', sums, {}, [{ dtype: 'float32', shape: [] }])[0], 'y');
  const session = await createSession(g, new Map(), { device });
  const feeds: Record<string, ReturnType<typeof floatTensor>> = {};
  for (const t of g.inputs) {
    const dims = t.shape as number[];
    feeds[t.name] = floatTensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.01), dims);
  }
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  return flops / median(times.slice(2)) / 1e9;
}

/** A chain of square products in one run(): the figure earlier versions compared with. */
export async function matmulCeiling(device: DeviceChoice, size = 1024, chain = 16): Promise<number> {
  const g = new Graph('float32');
  const rng = new Rng(3);
  let x = g.input('x', 'float32', [size, size]);
  for (let i = 0; i < chain; i++) {
    const w = g.initializer(`w${i}`, 'float32', [size, size], Float32Array.from({ length: size * size }, () => (rng.next() - 0.5) / 16));
    x = g.node('MatMul', [x, w], {}, [{ dtype: 'float32', shape: [size, size] }])[0];
  }
  g.output(x, 'y');
  const session = await createSession(g, new Map(), { device });
  const input = floatTensor('float32', new Float32Array(size * size).fill(0.01), [size, size]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await session.run({ x: input });
    times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  return (2 * size ** 3 * chain) / median(times.slice(2)) / 1e9;
}

export async function benchEngine(options: { device: DeviceChoice; steps: number }): Promise<Record<string, number | string>> {
  const B = 8, T = 128, n = 20;
  const dir = benchCheckpoint();
  const cfg = parseModelConfig(BENCH_CONFIG) as LlamaConfig;
  const lm = new LanguageModel(buildModel(cfg, new CheckpointWeights(dir)), null, { device: options.device });
  const t0 = performance.now();
  await lm.session();
  const sessionSeconds = (performance.now() - t0) / 1000;
  const rng = new Rng(5);
  const batch: Sequence[] = Array.from({ length: B }, () => ({ ids: Array.from({ length: T }, () => 3 + rng.int(cfg.vocabSize - 3)), targetStart: 1 }));
  const prompt = { length: n, dim: cfg.hiddenSize, data: Float32Array.from({ length: n * cfg.hiddenSize }, () => rng.uniform(-0.5, 0.5)) };
  // On a shared machine neighbours slow some seconds down: the step and its ceiling are measured
  // in alternating rounds, and each figure is its best round (the median step is reported too).
  const times: number[] = [];
  const ceilings: number[] = [];
  const flops = trainingStepFlops(cfg, B, T, n, B * (T - 1));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < options.steps + (round === 0 ? 2 : 0); i++) {
      const s = performance.now();
      await lm.lossAndGradient(batch, prompt);
      if (round > 0 || i >= 2) times.push((performance.now() - s) / 1000);
    }
    ceilings.push(await stepProductsCeiling(cfg, options.device, B, n + T, B * (T - 1)));
  }
  const stepSeconds = Math.min(...times);
  const device = await lm.device();
  await lm.dispose();
  const ceilingGflops = Math.max(...ceilings);
  const squareChainGflops = await matmulCeiling(options.device);
  const gflops = flops / stepSeconds / 1e9;
  return {
    device,
    params: [...weightShapes(cfg).values()].reduce((p, s) => p + s.reduce((a, b) => a * b, 1), 0),
    sessionSeconds,
    stepSeconds,
    medianStepSeconds: median(times),
    stepGflop: flops / 1e9,
    gflops,
    ceilingGflops,
    ratioToCeiling: gflops / ceilingGflops,
    squareChainGflops,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
