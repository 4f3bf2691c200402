// How many examples go through the model at once. `training.batchSize` stays the logical batch
// (the optimiser sees its gradient); micro-batches of it are run one after another and their
// gradients summed, so a 1B model trains on a laptop. The micro-batch comes from a memory budget
// estimated from the model's shapes and the longest sequence, before any weight is loaded.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import type { ModelConfig } from '../../models/config.js';
import { weightShapes } from '../../models/architectures.js';
import { familyOf } from '../../models/families/registry.js';
import { InputError } from '../../common/errors.js';
import type { Prompts, Sequence, TunableModel } from '../../models/tunable.js';

/** Token rows per pass on the CPU: enough for efficient products (see planMemory). */
export const CPU_ROWS_PER_PASS = 512;
/** Activations that never need splitting on a machine that trains at all. */
const SMALL_ACTIVATIONS = 2 ** 30;

export interface MemoryPlan {
  /** Examples per forward and backward pass in training, at the longest training sequence. */
  microBatch: number;
  /** Examples (prefixes) per evaluation pass, at the longest evaluated input. */
  evalBatch: number;
  /**
   * Examples per training pass whose longest sequence has `tokens` positions: as many as fit for
   * that length, so one long example makes only its own pass small (never above the batch).
   */
  microBatchFor(tokens: number): number;
  /** Examples per evaluation pass whose longest input has `tokens` positions (never above evaluation.batchSize). */
  evalBatchFor(tokens: number): number;
  weightBytes: number;
  bytesPerExample: number;
  budgetBytes: number;
  /** One line for the log: the figures behind the choice. */
  detail: string;
}

/** Memory the system can give without swapping (MemAvailable on Linux; free memory elsewhere). */
export function availableMemory(): number {
  if (existsSync('/proc/meminfo')) {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  }
  return freemem();
}

export interface GpuMemory { name: string; totalBytes: number; freeBytes: number }

/** The first GPU of `nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits` (MiB). */
export function parseNvidiaSmi(text: string): GpuMemory | undefined {
  const m = /^(.+?),\s*(\d+),\s*(\d+)\s*$/m.exec(text);
  return m ? { name: m[1].trim(), totalBytes: Number(m[2]) * 2 ** 20, freeBytes: Number(m[3]) * 2 ** 20 } : undefined;
}

/**
 * The free memory of an NVIDIA GPU, from nvidia-smi (installed with the driver); undefined where
 * there is none. WebGPU itself does not say how much memory a device has.
 */
export function nvidiaGpuMemory(): GpuMemory | undefined {
  try {
    return parseNvidiaSmi(execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,memory.free', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

/**
 * Activation bytes of one example of `tokens` positions (soft prompt included) through forward
 * and backward: what each layer keeps for the backward pass, per token about 24 hidden-size,
 * 10 feed-forward-size and 4 x heads x length (attention) floats. Fitted to SmolLM2-135M's shape
 * (3.8 MB per token at 84 positions, 30 layers: this gives 4.0). A forward pass alone (scoring,
 * generating) frees each layer's values as it goes: it holds the key/value cache it returns and
 * one layer's working set, per token 2 x layers x key/value width, 12 hidden-size, 4
 * feed-forward-size and 2 x heads x length floats (Qwen2.5-0.5B at 140 positions: 157 KiB per
 * token against 78-101 measured).
 */
export function activationBytesPerExample(cfg: ModelConfig, tokens: number, forwardOnly = false): number {
  const { d, ffn, layers } = familyOf(cfg).activationSizes(cfg);
  const logits = 3 * cfg.vocabSize / Math.max(1, tokens);
  if (forwardOnly) return 4 * tokens * (2 * layers * cfg.numKvHeads * cfg.headDim + 12 * d + 4 * ffn + 2 * cfg.numHeads * tokens + logits);
  return 4 * tokens * (layers * (24 * d + 10 * ffn + 4 * cfg.numHeads * tokens) + logits);
}

/**
 * The micro-batch and evaluation batch for a job. `budgetBytes` defaults to half the memory
 * available now (the editor and the user's other programs keep the rest); `microBatchSize`
 * (training.microBatchSize) overrides the choice. `rowsPerPass`: on the CPU a pass of about 512
 * token rows is as fast per example as a larger one (Qwen2.5-0.5B shape, 2 cores: 0.76 ex/s at 2
 * x 170 tokens, 0.79 at 4, 0.70 at 8), so passes stop there and memory stays low. Refuses, with
 * the figures, when even one example does not fit. `halfWeights` (precision fp16 on a GPU) halves
 * the weights only: activations stay float32 there (products alone run in half precision), which
 * an 8B model showed: planned with float16 activations for 24 GiB it peaked at 32-36 GB.
 */
export function planMemory(cfg: ModelConfig, parameters: number, options: { batchSize: number; evalBatchSize: number; tokens: number; evalTokens?: number; microBatchSize?: number; budgetBytes?: number; budgetSource?: string; rowsPerPass?: number; halfWeights?: boolean; file?: string }): MemoryPlan {
  const weightBytes = parameters * (options.halfWeights ? 2 : 4);
  const bytesPerExample = activationBytesPerExample(cfg, options.tokens);
  const budgetBytes = options.budgetBytes ?? availableMemory() * 0.5;
  const room = budgetBytes - weightBytes;
  const gb = (b: number) => (!Number.isFinite(b) ? 'not known' : b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(0)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`);
  const figures = `${gb(weightBytes)} of ${options.halfWeights ? 'float16' : 'float32'} weights (${parameters.toLocaleString('en-US')} parameters), ${gb(bytesPerExample)} of activations per example of ${options.tokens} positions, budget ${gb(budgetBytes)} (${options.budgetSource ?? 'half the available memory'})`;
  const fitting = Math.floor(room / bytesPerExample);
  if (options.microBatchSize === undefined && fitting < 1) {
    throw new InputError(`${options.file ?? 'the job'}: one example does not fit in memory: ${figures}. Shorten the inputs or the soft prompt, close other programs, or use a smaller model`, options.file ? { file: options.file, field: 'training.microBatchSize' } : undefined);
  }
  // past enough rows to keep the products efficient, a larger pass only costs memory; small
  // models keep whole batches (there a pass's fixed cost dominates and memory is no concern)
  const enough = (tokens: number, forwardOnly = false) => options.rowsPerPass
    ? Math.max(1, Math.ceil(options.rowsPerPass / tokens), Math.floor(SMALL_ACTIVATIONS / activationBytesPerExample(cfg, tokens, forwardOnly)))
    : Infinity;
  const microBatchFor = (tokens: number) => Math.max(1, Math.min(options.batchSize, options.microBatchSize ?? Math.min(Math.floor(room / activationBytesPerExample(cfg, tokens)), enough(tokens))));
  const evalBatchFor = (tokens: number) => Math.max(1, Math.min(options.evalBatchSize, options.microBatchSize ?? Math.min(Math.floor(room / activationBytesPerExample(cfg, tokens, true)), enough(tokens, true))));
  const microBatch = microBatchFor(options.tokens);
  const evalBatch = evalBatchFor(Math.max(options.tokens, options.evalTokens ?? 0));
  const steps = Math.ceil(options.batchSize / microBatch);
  // passes are sized by their own longest input: these are the sizes at the longest
  const shorterTakeMore = microBatchFor(1) > microBatch || evalBatchFor(1) > evalBatch ? ' at the longest input (passes of shorter inputs take more)' : '';
  const detail = `memory: ${figures}; micro-batch ${microBatch}${steps > 1 ? ` (${steps} passes per step of ${options.batchSize})` : ''}, evaluation batch ${evalBatch}${shorterTakeMore}`;
  return { microBatch, evalBatch, microBatchFor, evalBatchFor, weightBytes, bytesPerExample, budgetBytes, detail };
}

/**
 * The loss and gradient of a whole batch from micro-batches: every target token keeps the
 * weight it has in the full batch (1 / all target tokens), so the sums equal the full batch's.
 * `microBatch` as a function of the longest sequence (MemoryPlan.microBatchFor, with the soft
 * prompt's `softLength`): the batch is sorted by length and each pass sized by its own longest
 * sequence, so one long example does not pad, or shrink, every pass.
 */
export async function accumulatedLossAndGradient(lm: TunableModel, batch: Sequence[], prompts: Prompts, microBatch: number | ((tokens: number) => number), softLength = 0): Promise<{ loss: number; grad: Float32Array }> {
  const sizeFor = typeof microBatch === 'number' ? () => microBatch : (tokens: number) => microBatch(softLength + tokens);
  const longest = Math.max(...batch.map((q) => q.ids.length));
  if (sizeFor(longest) >= batch.length) {
    const { loss, grad } = await lm.lossAndGradient(batch, prompts);
    return { loss, grad: Float32Array.from(grad) };
  }
  const ordered = typeof microBatch === 'number' ? batch : [...batch].sort((a, b) => b.ids.length - a.ids.length);
  const total = batch.reduce((s, q) => s + q.ids.length - q.targetStart, 0);
  let loss = 0;
  let grad: Float64Array | undefined;
  for (let start = 0; start < ordered.length;) {
    const part = ordered.slice(start, start + Math.max(1, sizeFor(ordered[start].ids.length)));
    start += part.length;
    const out = await lm.lossAndGradient(part, prompts, { perSequence: part.map(() => 1 / total) });
    loss += out.loss;
    grad ??= new Float64Array(out.grad.length);
    for (let i = 0; i < grad.length; i++) grad[i] += out.grad[i];
  }
  return { loss, grad: Float32Array.from(grad!) };
}

/** Parameters of a model of this config (its checkpoint's tensors). */
export function configParameters(cfg: ModelConfig): number {
  let total = 0;
  for (const shape of weightShapes(cfg).values()) total += shape.reduce((p, d) => p * d, 1);
  return total;
}
