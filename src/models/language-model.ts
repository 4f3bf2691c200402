// A loaded model with its three graphs opened lazily on one device: the API the tuning code,
// the CLI and the tests use (train step, scoring, greedy generation).
import { join } from 'node:path';
import type { FloatType } from '../engine/graph.js';
import { cacheRoot, createSession, EngineSession, floatTensor, int64Tensor, ort, type DeviceChoice, type Feeds } from '../engine/runtime.js';
import { buildCausalGraph, type CausalLM, type GraphKind } from './causal-lm.js';
import { readModelConfig, type ModelConfig } from './config.js';
import { buildModel } from './architectures.js';
import { sumPerExample } from './target-loss.js';
import { MAX_ROPE_TABLE } from './llama.js';
import { InputError } from './errors.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { CheckpointWeights } from './weights.js';
import { tokenWeights, type Padding, type Prompts, type Sequence, type SoftPrompt, type TunableModel, type Weighting } from './tunable.js';

export type { Padding, Prompts, Sequence, SoftPrompt, Weighting } from './tunable.js';

export function promptFeed(f: FloatType, prompts: Prompts, dim: number): { tensor: ReturnType<typeof floatTensor>; n: number; count: number } {
  const list = Array.isArray(prompts) ? prompts : [prompts];
  const n = list[0]?.length ?? 0;
  if (list.some((p) => p.length !== n)) throw new Error('soft prompts in one batch must have the same length');
  const data = new Float64Array(list.length * n * dim);
  list.forEach((p, i) => data.set(p.data, i * n * dim));
  return { tensor: floatTensor(f, data, [list.length, n, dim]), n, count: list.length };
}



export interface PreparedBatch { feeds: Feeds; targetCounts: number[]; targetCount: number }

export { buildModel };

export interface LanguageModelOptions { device?: DeviceChoice; threads?: number; floatType?: FloatType; log?: (m: string) => void }

export class LanguageModel implements TunableModel {
  readonly kind = 'causal' as const;
  private sessions = new Map<GraphKind, Promise<EngineSession>>();
  readonly floatType: FloatType;
  deviceNote = '';

  constructor(readonly model: CausalLM, readonly tokenizer: Tokenizer | null, readonly options: LanguageModelOptions = {}) {
    this.floatType = options.floatType ?? 'float32';
  }

  get cfg(): ModelConfig { return this.model.cfg; }

  /** The longest sequence (soft prompt + tokens) the model takes. */
  get contextLength(): number {
    const window = this.cfg.architecture === 'llama' ? (this.cfg.slidingWindow ?? Infinity) : Infinity;
    return Math.min(this.cfg.maxPositions, MAX_ROPE_TABLE, window);
  }

  private checkLength(length: number): void {
    if (length > this.contextLength) throw new InputError(`a sequence of ${length} positions (soft prompt + tokens) is longer than the model's context of ${this.contextLength}; shorten the input or the soft prompt`);
  }

  static async fromFolder(folder: string, options: LanguageModelOptions = {}): Promise<LanguageModel> {
    const cfg = readModelConfig(folder);
    if (cfg.architecture === 't5') throw new InputError(`${folder}: a T5 model is encoder-decoder; open it with openModel`);
    const weights = new CheckpointWeights(folder, join(cacheRoot(), 'weights'));
    const model = buildModel(cfg, weights);
    return new LanguageModel(model, await loadTokenizer(folder), options);
  }

  session(kind: GraphKind): Promise<EngineSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      const graph = buildCausalGraph(this.model, kind, this.floatType);
      // the device is said once per model, not once per graph
      const log = (m: string) => { if (m !== this.deviceNote) this.options.log?.(m); };
      s = createSession(graph, this.model.weights.externalFiles(), { device: this.options.device, threads: this.options.threads, log }).then((session) => {
        this.deviceNote = session.note;
        return session;
      });
      this.sessions.set(kind, s);
    }
    return s;
  }

  async device(): Promise<string> {
    return (await this.session('score')).device;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }

  private embeddingTable?: Float32Array;
  /** Rows of the input embedding table for the given token ids, [ids.length, d]. */
  embeddings(ids: number[]): Float32Array {
    this.embeddingTable ??= this.model.weights.read(this.model.embeddingWeightName);
    const d = this.cfg.hiddenSize;
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => out.set(this.embeddingTable!.subarray(id * d, (id + 1) * d), i * d));
    return out;
  }

  emptyPrompt(): SoftPrompt {
    return { length: 0, dim: this.cfg.hiddenSize, data: new Float32Array(0) };
  }

  /**
   * Feeds for the train and score graphs. Right padding: example i's token j sits at sequence
   * index n + j, and the target at j is predicted by the hidden state at row n + j - 1.
   */
  prepare(sequences: Sequence[], prompts: Prompts, weighting: Weighting = 'token', padding: Padding = {}): PreparedBatch {
    const soft = promptFeed(this.floatType, prompts, this.cfg.hiddenSize);
    const n = soft.n;
    const B = sequences.length;
    const T = Math.max(padding.padTo ?? 0, ...sequences.map((s) => s.ids.length));
    const S = n + T;
    this.checkLength(S);
    const pad = padding.padId ?? this.tokenizer?.padTokenId ?? this.cfg.eosTokenId ?? 0;
    const ids = new Array<number>(B * T).fill(pad);
    const mask = new Array<number>(B * S).fill(0);
    const positions = new Array<number>(B * S).fill(0);
    const rows: number[] = [];
    const targets: number[] = [];
    const targetCounts: number[] = [];
    sequences.forEach((seq, i) => {
      if (seq.targetStart < (n > 0 ? 0 : 1)) throw new Error('the first token has no prediction without a soft prompt');
      seq.ids.forEach((id, j) => (ids[i * T + j] = id));
      for (let j = 0; j < n + seq.ids.length; j++) {
        mask[i * S + j] = 1;
        positions[i * S + j] = j;
      }
      for (let j = seq.targetStart; j < seq.ids.length; j++) {
        rows.push(i * S + n + j - 1);
        targets.push(seq.ids[j]);
      }
      targetCounts.push(seq.ids.length - seq.targetStart);
    });
    const N = targets.length;
    const weights = tokenWeights(weighting, targetCounts);
    const f = this.floatType;
    return {
      feeds: {
        soft_prompt: soft.tensor,
        prompt_index: int64Tensor(sequences.map((q) => checkIndex(q.prompt ?? 0, soft.count)), [B]),
        input_ids: int64Tensor(ids, [B, T]),
        attention_mask: floatTensor(f, mask, [B, S]),
        position_ids: int64Tensor(positions, [B, S]),
        target_rows: int64Tensor(rows, [N]),
        target_ids: int64Tensor(targets, [N]),
        target_weights: floatTensor(f, weights, [N]),
      },
      targetCounts,
      targetCount: N,
    };
  }

  /** Loss (mean negative log-likelihood of the targets) and its gradient with respect to the prompt. */
  async lossAndGradient(sequences: Sequence[], prompt: Prompts, weighting: Weighting = 'token', padding: Padding = {}): Promise<{ loss: number; grad: Float32Array | Float64Array; tokenLogProbs: Float32Array | Float64Array }> {
    const session = await this.session('train');
    const { feeds } = this.prepare(sequences, prompt, weighting, padding);
    const out = await session.run(feeds);
    return { loss: Number((out.loss.data as Float32Array)[0]), grad: out.grad_soft_prompt.data as Float32Array, tokenLogProbs: out.token_logprobs.data as Float32Array };
  }

  /** Each sequence's summed log-probability of its targets, and how many targets it has. */
  async score(sequences: Sequence[], prompt: Prompts, padding: Padding = {}): Promise<{ logProb: number; count: number }[]> {
    const session = await this.session('score');
    const { feeds, targetCounts } = this.prepare(sequences, prompt, 'token', padding);
    delete feeds.target_weights;
    const out = await session.run(feeds);
    return sumPerExample(out.token_logprobs.data as Float32Array, targetCounts);
  }

  /** Logits of every position of one sequence (for golden-value checks and inspection). */
  async logitsAt(ids: number[], position: number, prompt: Prompts = this.emptyPrompt()): Promise<Float32Array | Float64Array> {
    const steps = await this.generate([ids.slice(0, position + 1)], prompt, 0, { returnFirstLogits: true });
    return steps.firstLogits![0];
  }

  /**
   * Greedy decoding with a key/value cache. Prompts are left-padded so every row's last token is
   * at the end; decoding stops at maxNewTokens or when every row has produced EOS.
   */
  async generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options: { stopAtEos?: boolean; returnFirstLogits?: boolean; promptIndex?: number[]; sample?: { temperature: number; random: () => number } } = {}): Promise<{ ids: number[][]; firstLogits?: (Float32Array | Float64Array)[] }> {
    const session = await this.session('generate');
    const c = this.cfg;
    const f = this.floatType;
    const soft = promptFeed(f, softPrompts, c.hiddenSize);
    const n = soft.n;
    const B = prompts.length;
    const promptOf = options.promptIndex ?? new Array<number>(B).fill(0);
    const T = Math.max(...prompts.map((p) => p.length));
    this.checkLength(n + T + maxNewTokens);
    const pad = this.tokenizer?.padTokenId ?? c.eosTokenId ?? 0;
    const ids: number[] = [];
    const mask: number[] = [];
    const positions: number[] = [];
    const nextPosition: number[] = [];
    for (const p of prompts) {
      const padCount = T - p.length;
      ids.push(...new Array<number>(padCount).fill(pad), ...p);
      // the soft prompt comes first, then padding, then the text
      mask.push(...new Array<number>(n).fill(1), ...new Array<number>(padCount).fill(0), ...new Array<number>(p.length).fill(1));
      positions.push(...Array.from({ length: n }, (_, j) => j), ...new Array<number>(padCount).fill(0), ...Array.from({ length: p.length }, (_, j) => n + j));
      nextPosition.push(n + p.length);
    }
    const emptyCache = () => floatTensor(f, [], [B, c.numKvHeads, 0, c.headDim]);
    let feeds: Feeds = {
      soft_prompt: soft.tensor,
      prompt_index: int64Tensor(promptOf.map((i) => checkIndex(i, soft.count)), [B]),
      input_ids: int64Tensor(ids, [B, T]),
      attention_mask: floatTensor(f, mask, [B, n + T]),
      position_ids: int64Tensor(positions, [B, n + T]),
    };
    for (let i = 0; i < c.numLayers; i++) {
      feeds[`past_key_${i}`] = emptyCache();
      feeds[`past_value_${i}`] = emptyCache();
    }
    const out = prompts.map((p) => [...p]);
    const done = new Array<boolean>(B).fill(false);
    const keyMask = [...mask];
    let keyLength = n + T;
    let firstLogits: (Float32Array | Float64Array)[] | undefined;
    for (let step = 0; step <= maxNewTokens; step++) {
      const result = await session.run(feeds);
      const logits = result.logits.data as Float32Array | Float64Array;
      const V = c.vocabSize;
      if (step === 0 && options.returnFirstLogits) firstLogits = Array.from({ length: B }, (_, b) => logits.slice(b * V, (b + 1) * V));
      if (step === maxNewTokens) break;
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const best = options.sample ? sampleToken(logits, b * V, V, options.sample) : argmaxAt(logits, b * V, V);
        next.push(best);
        if (!done[b]) out[b].push(best);
        if (best === c.eosTokenId && options.stopAtEos !== false) done[b] = true;
      }
      if (done.every(Boolean)) break;
      const newMask: number[] = [];
      for (let b = 0; b < B; b++) {
        newMask.push(...keyMask.slice(b * keyLength, (b + 1) * keyLength), 1);
      }
      keyLength += 1;
      keyMask.splice(0, keyMask.length, ...newMask);
      const nextFeeds: Feeds = {
        soft_prompt: floatTensor(f, [], [1, 0, c.hiddenSize]),
        prompt_index: int64Tensor(new Array<number>(B).fill(0), [B]),
        input_ids: int64Tensor(next, [B, 1]),
        attention_mask: floatTensor(f, keyMask, [B, keyLength]),
        position_ids: int64Tensor(nextPosition.map((p) => p), [B, 1]),
      };
      for (let b = 0; b < B; b++) nextPosition[b] += 1;
      for (let i = 0; i < c.numLayers; i++) {
        nextFeeds[`past_key_${i}`] = result[`present_key_${i}`];
        nextFeeds[`past_value_${i}`] = result[`present_value_${i}`];
      }
      feeds = nextFeeds;
    }
    return { ids: out, firstLogits };
  }
}

function argmaxAt(logits: ArrayLike<number>, offset: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[offset + v] > logits[offset + best]) best = v;
  return best;
}

/** A token drawn from softmax(logits / temperature). */
function sampleToken(logits: ArrayLike<number>, offset: number, V: number, sample: { temperature: number; random: () => number }): number {
  const max = logits[offset + argmaxAt(logits, offset, V)];
  const weights = new Float64Array(V);
  let total = 0;
  for (let v = 0; v < V; v++) total += weights[v] = Math.exp((logits[offset + v] - max) / sample.temperature);
  let r = sample.random() * total;
  for (let v = 0; v < V; v++) if ((r -= weights[v]) <= 0) return v;
  return V - 1;
}

export function checkIndex(i: number, count: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`prompt index ${i} out of range (${count} soft prompts)`);
  return i;
}

export { ort };
