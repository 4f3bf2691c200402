// What causal and encoder-decoder models share: one graph opened lazily as one session on one
// device (one copy of the weights for training, scoring and generation), the feeds a call leaves
// out, and the loss-and-gradient and scoring calls around each architecture's own feeds.
import type { TokenSampling } from './decoding.js';
import type { FloatType, Graph } from '../engine/graph.js';
import { createSession, EngineSession, supportsHalf, type Device, type SetupProgress, floatTensor, int64Tensor, ort, type DeviceChoice, type Feeds } from '../engine/runtime.js';
import { InputError } from '../common/errors.js';
import type { BaseConfig } from './config-types.js';
import { sumPerExample } from './target-loss.js';
import type { Tokenizer } from './tokenizer.js';
import type { Padding, Prompts, Sequence, SoftPrompt, TunableModel, Weighting, ChoiceItem } from './tunable.js';
import type { WeightSource } from './weights.js';

export type Precision = 'auto' | 'fp32' | 'fp16';
export const PRECISIONS: Precision[] = ['auto', 'fp32', 'fp16'];

export interface LanguageModelOptions { device?: DeviceChoice; threads?: number; floatType?: FloatType; precision?: Precision; log?: (m: string) => void; progress?: (p: SetupProgress) => void }

/**
 * What a pass through the model costs beyond its positions, in positions: reading every weight
 * once, which a pass of few positions spends most of its time on (SmolLM2-135M on 2 cores: a pass
 * of 24 single positions took as long as about 40 positions of a long pass).
 */
export const PASS_OVERHEAD_POSITIONS = 64;

/** A batch's feeds and the number of targets of each sequence (to sum log-probabilities per sequence). */
export interface PreparedBatch { feeds: Feeds; targetCounts: number[] }

/**
 * Whether matrices are kept and multiplied in half precision: fp16 asks for it, auto takes it on a
 * GPU that has half-precision kernels (the CPU has them too, but slower than float32). The soft
 * prompt, its gradient, the loss, norms and softmax stay in the graph's float type either way.
 */
export async function halfWeights(precision: Precision | undefined, device: Device, floatType: FloatType): Promise<boolean> {
  if (floatType !== 'float32') return false;
  if (precision === 'fp16') {
    if (!(await supportsHalf(device))) throw new InputError(`this ${device} device has no half-precision kernels (WebGPU needs the adapter's shader-f16 feature); use precision fp32 or auto`);
    return true;
  }
  return precision === 'auto' && device !== 'cpu' && (await supportsHalf(device));
}

/**
 * Opens a model's one graph (built per device attempt, with half-precision matrices where the
 * precision and the device call for them) and says which precision the session got.
 */
export async function openOneGraph(build: (weightType: FloatType | 'float16') => Graph, externalFiles: Map<string, string>, floatType: FloatType, options: LanguageModelOptions): Promise<{ session: EngineSession; precision: 'fp32' | 'fp16' }> {
  const half = new Map<Device, boolean>();
  const graph = async (device: Device) => {
    half.set(device, await halfWeights(options.precision, device, floatType));
    return build(half.get(device) ? 'float16' : floatType);
  };
  const session = await createSession(graph, externalFiles, { device: options.device, threads: options.threads, log: options.log, progress: options.progress, floatType });
  return { session, precision: half.get(session.device) ? 'fp16' : 'fp32' };
}

/**
 * Feeds for what a call leaves out: no target rows, no logit rows, no gradient. Unused rows get
 * one dummy row of weight 0 rather than none: WebGPU's reductions refuse empty tensors, and
 * onnxruntime runs every node whatever is fetched.
 */
export function withDefaults(feeds: Feeds, floatType: FloatType): Feeds {
  const N = Math.max(1, (feeds.target_ids?.dims[0] as number | undefined) ?? 0);
  const noRows = (name: string) => !feeds[name] || (feeds[name].dims[0] as number) === 0;
  return {
    ...feeds,
    target_rows: noRows('target_rows') ? int64Tensor([0], [1]) : feeds.target_rows,
    target_ids: noRows('target_ids') ? int64Tensor([0], [1]) : feeds.target_ids,
    target_weights: feeds.target_weights ?? floatTensor(floatType, new Array<number>(N).fill(0), [N]),
    logit_rows: noRows('logit_rows') ? int64Tensor([0], [1]) : feeds.logit_rows,
    compute_gradient: feeds.compute_gradient ?? new ort.Tensor('bool', [false], []),
  };
}

/** The soft prompts of a batch as one [M, n, d] input. */
export function promptFeed(f: FloatType, prompts: Prompts, dim: number): { tensor: ReturnType<typeof floatTensor>; n: number; count: number } {
  const list = Array.isArray(prompts) ? prompts : [prompts];
  const n = list[0]?.length ?? 0;
  if (list.some((p) => p.length !== n)) throw new Error('soft prompts in one batch must have the same length');
  const data = new Float64Array(list.length * n * dim);
  list.forEach((p, i) => data.set(p.data, i * n * dim));
  return { tensor: floatTensor(f, data, [list.length, n, dim]), n, count: list.length };
}

export function checkIndex(i: number, count: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`prompt index ${i} out of range (${count} soft prompts)`);
  return i;
}

/**
 * A model run as one graph. Subclasses build the graph and the feeds of their architecture;
 * this class owns the session, the defaults of a run, and the calls that differ only in feeds.
 */
export abstract class OneGraphModel implements TunableModel {
  abstract readonly kind: 'causal' | 'seq2seq';
  abstract readonly cfg: BaseConfig;
  /** The longest input (soft prompt + tokens) the model takes. */
  abstract readonly contextLength: number;
  readonly floatType: FloatType;
  /** The device the session started on, with the reason when it is not the one asked for. */
  deviceNote = '';
  /** The precision the session runs in (known once it is created). */
  precision: 'fp32' | 'fp16' = 'fp32';
  private opened?: Promise<EngineSession>;

  constructor(readonly weights: WeightSource, readonly tokenizer: Tokenizer | null, readonly options: LanguageModelOptions = {}) {
    this.floatType = options.floatType ?? 'float32';
  }

  /** The graph for everything (scoring, generation's logits, the gradient on request), matrices in `weightType`. */
  protected abstract buildGraph(weightType: FloatType | 'float16'): Graph;
  /** What the setup progress says while the graph is built (its layer count). */
  protected abstract graphDetail(): string;
  /** The input embedding table's tensor name. */
  protected abstract readonly embeddingWeightName: string;
  /** Token embeddings are the table's rows times this (Gemma's sqrt(hidden)). */
  protected get embeddingScale(): number { return 1; }
  /** Feeds for the train and score graphs: the architecture's inputs and the target rows. */
  abstract prepare(sequences: Sequence[], prompts: Prompts, weighting?: Weighting, padding?: Padding): PreparedBatch;
  abstract scoreChoices(items: ChoiceItem[], prompts: Prompts, options?: { maxNewTokens?: number; sample?: TokenSampling }): Promise<{ scores: number[][]; generated?: number[][] }>;
  abstract generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options?: { stopAtEos?: boolean; promptIndex?: number[]; sample?: TokenSampling }): Promise<{ ids: number[][] }>;

  session(): Promise<EngineSession> {
    this.opened ??= (async () => {
      this.options.progress?.({ phase: 'graph', detail: this.graphDetail() });
      const { session, precision } = await openOneGraph((weightType) => this.buildGraph(weightType), this.weights.externalFiles(), this.floatType, this.options);
      this.precision = precision;
      this.deviceNote = session.note;
      return session;
    })();
    return this.opened;
  }

  /** The feeds of a run: the call's, and the defaults for what it does not use. */
  protected withFeedDefaults(feeds: Feeds): Feeds {
    return withDefaults(feeds, this.floatType);
  }

  /** Runs the graph with the defaults for what a call does not use; returns only `fetches`. */
  protected async run(feeds: Feeds, fetches: string[]): Promise<ort.InferenceSession.ReturnType> {
    const session = await this.session();
    return session.run(this.withFeedDefaults(feeds), fetches);
  }

  async device(): Promise<string> {
    return (await this.session()).device;
  }

  async dispose(): Promise<void> {
    if (this.opened) await (await this.opened).release();
    this.opened = undefined;
  }

  /**
   * The embeddings of the given token ids as the model's first layer sees them, [ids.length, d]:
   * rows of the input embedding table (read from the checkpoint), scaled where the family scales them.
   */
  embeddings(ids: number[]): Float32Array {
    const rows = this.weights.readRows(this.embeddingWeightName, ids);
    const s = this.embeddingScale;
    if (s !== 1) for (let i = 0; i < rows.length; i++) rows[i] *= s;
    return rows;
  }

  emptyPrompt(): SoftPrompt {
    return { length: 0, dim: this.cfg.hiddenSize, data: new Float32Array(0) };
  }

  /** Loss (mean negative log-likelihood of the targets) and its gradient with respect to the prompt. */
  async lossAndGradient(sequences: Sequence[], prompts: Prompts, weighting: Weighting = 'token', padding: Padding = {}): Promise<{ loss: number; grad: Float32Array | Float64Array; tokenLogProbs: Float32Array | Float64Array }> {
    const { feeds } = this.prepare(sequences, prompts, weighting, padding);
    feeds.compute_gradient = new ort.Tensor('bool', [true], []);
    const out = await this.run(feeds, ['loss', 'grad_soft_prompt', 'token_logprobs']);
    return { loss: Number((out.loss.data as Float32Array)[0]), grad: out.grad_soft_prompt.data as Float32Array | Float64Array, tokenLogProbs: out.token_logprobs.data as Float32Array | Float64Array };
  }

  /** Each sequence's summed log-probability of its targets, and how many targets it has. */
  async score(sequences: Sequence[], prompts: Prompts, padding: Padding = {}): Promise<{ logProb: number; count: number }[]> {
    const { feeds, targetCounts } = this.prepare(sequences, prompts, 'token', padding);
    const out = await this.run(feeds, ['token_logprobs']);
    return sumPerExample(out.token_logprobs.data as Float32Array, targetCounts);
  }
}
