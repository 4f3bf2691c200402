// A loaded causal model with its one graph opened lazily on one device: the API the tuning code,
// the CLI and the tests use (train step, scoring, rank classification, greedy generation).
import type { FloatType, Graph } from '../engine/graph.js';
import { floatTensor, int64Tensor, ort, type Feeds } from '../engine/runtime.js';
import { buildCausalGraph, type CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { MAX_ROPE_TABLE } from './llama.js';
import { InputError } from '../common/errors.js';
import type { Tokenizer } from './tokenizer.js';
import { checkIndex, OneGraphModel, promptFeed, type LanguageModelOptions, type PreparedBatch } from './one-graph-model.js';
import { tokenWeights, type ChoiceItem, type Padding, type Prompts, type Sequence, type Weighting } from './tunable.js';

export type { Padding, Prompts, Sequence, SoftPrompt, Weighting } from './tunable.js';

export class LanguageModel extends OneGraphModel {
  readonly kind = 'causal' as const;

  constructor(readonly model: CausalLM, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}) {
    super(model.weights, tokenizer, options);
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

  protected get embeddingWeightName(): string { return this.model.embeddingWeightName; }

  protected graphDetail(): string { return `${this.cfg.numLayers} layers`; }

  protected buildGraph(weightType: FloatType | 'float16'): Graph {
    return buildCausalGraph(this.model, 'all', this.floatType, { weightType });
  }

  /** The run defaults, and an empty key/value cache where a call passes none. */
  protected override withFeedDefaults(feeds: Feeds): Feeds {
    const c = this.cfg;
    const f = this.floatType;
    const B = (feeds.input_ids.dims[0] as number);
    const all = super.withFeedDefaults(feeds);
    for (let i = 0; i < c.numLayers; i++) {
      all[`past_key_${i}`] ??= floatTensor(f, [], [B, c.numKvHeads, 0, c.headDim]);
      all[`past_value_${i}`] ??= floatTensor(f, [], [B, c.numKvHeads, 0, c.headDim]);
    }
    return all;
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
    };
  }

  /** Logits of every position of one sequence (for golden-value checks and inspection). */
  async logitsAt(ids: number[], position: number, prompt: Prompts = this.emptyPrompt()): Promise<Float32Array | Float64Array> {
    const steps = await this.generate([ids.slice(0, position + 1)], prompt, 0, { returnFirstLogits: true });
    return steps.firstLogits![0];
  }

  private cacheNames(): string[] {
    return Array.from({ length: this.cfg.numLayers }, (_, i) => [`present_key_${i}`, `present_value_${i}`]).flat();
  }

  /**
   * Feeds for a batch of token prefixes, left-padded so every row ends at the same index: the
   * soft prompt first, then padding, then the text. `reserve` positions must stay free after them.
   */
  private leftPadded(prompts: number[][], softPrompts: Prompts, promptIndex: number[] | undefined, reserve: number) {
    const c = this.cfg;
    const f = this.floatType;
    const soft = promptFeed(f, softPrompts, c.hiddenSize);
    const n = soft.n;
    const B = prompts.length;
    const promptOf = promptIndex ?? new Array<number>(B).fill(0);
    const T = Math.max(...prompts.map((p) => p.length));
    this.checkLength(n + T + reserve);
    const pad = this.tokenizer?.padTokenId ?? c.eosTokenId ?? 0;
    const ids: number[] = [];
    const mask: number[] = [];
    const positions: number[] = [];
    const nextPosition: number[] = [];
    for (const p of prompts) {
      const padCount = T - p.length;
      for (let j = 0; j < padCount; j++) ids.push(pad);
      for (const id of p) ids.push(id);
      for (let j = 0; j < n; j++) { mask.push(1); positions.push(j); }
      for (let j = 0; j < padCount; j++) { mask.push(0); positions.push(0); }
      for (let j = 0; j < p.length; j++) { mask.push(1); positions.push(n + j); }
      nextPosition.push(n + p.length);
    }
    const feeds: Feeds = {
      soft_prompt: soft.tensor,
      prompt_index: int64Tensor(promptOf.map((i) => checkIndex(i, soft.count)), [B]),
      input_ids: int64Tensor(ids, [B, T]),
      attention_mask: floatTensor(f, mask, [B, n + T]),
      position_ids: int64Tensor(positions, [B, n + T]),
    };
    return { feeds, n, width: n + T, mask, nextPosition, pad };
  }

  /**
   * Rank classification at the cost of one forward pass over each prefix: every choice's first
   * token is read at the prefix's last position (the same row gathered once per choice), and
   * longer choices continue from the prefix's key/value cache, one short pass per choice index.
   */
  async scoreChoices(items: ChoiceItem[], prompts: Prompts, options: { maxNewTokens?: number } = {}): Promise<{ scores: number[][]; generated?: number[][] }> {
    const f = this.floatType;
    const B = items.length;
    const maxNew = options.maxNewTokens ?? 0;
    // a choice's last token is only predicted, never input
    const longest = Math.max(...items.flatMap((item) => item.choices.map((ch) => ch.ids.length)));
    const prefix = this.leftPadded(items.map((item) => item.prefix), prompts, items.map((item) => item.prompt ?? 0), Math.max(longest - 1, maxNew));
    const S = prefix.width;
    const rows: number[] = [];
    const targets: number[] = [];
    const slots: [number, number][] = [];
    items.forEach((item, b) => item.choices.forEach((ch, k) => {
      if (ch.scoreFrom > 0) return;
      rows.push(b * S + S - 1);
      targets.push(ch.ids[0]);
      slots.push([b, k]);
    }));
    const needCache = maxNew > 0 || items.some((item) => item.choices.some((ch) => ch.ids.length > 1));
    const first = await this.run({
      ...prefix.feeds,
      target_rows: int64Tensor(rows, [rows.length]),
      target_ids: int64Tensor(targets, [targets.length]),
      // generation's first token comes from the same pass
      logit_rows: maxNew > 0 ? lastRowsOf(B, S) : int64Tensor([], [0]),
    }, [...(maxNew > 0 ? ['logits'] : []), 'token_logprobs', ...(needCache ? this.cacheNames() : [])]);
    const scores = items.map((item) => item.choices.map(() => 0));
    const firstLogProbs = first.token_logprobs.data as Float32Array | Float64Array;
    slots.forEach(([b, k], i) => (scores[b][k] += firstLogProbs[i]));

    const choiceCount = needCache ? Math.max(...items.map((item) => item.choices.length)) : 0;
    for (let k = 0; k < choiceCount; k++) {
      // choice k of every item, all but its last token as input: token j + 1 is predicted at row j
      const inputs = items.map((item) => item.choices[k]?.ids.slice(0, -1) ?? []);
      const L = Math.max(...inputs.map((x) => x.length));
      if (L === 0) continue;
      const ids: number[] = [];
      const mask: number[] = [];
      const positions: number[] = [];
      const contRows: number[] = [];
      const contTargets: number[] = [];
      const contSlots: number[] = [];
      inputs.forEach((input, b) => {
        for (let j = 0; j < S; j++) mask.push(prefix.mask[b * S + j]);
        for (let j = 0; j < L; j++) {
          ids.push(j < input.length ? input[j] : prefix.pad);
          mask.push(j < input.length ? 1 : 0);
          positions.push(prefix.nextPosition[b] + j);
        }
        const choice = items[b].choices[k];
        for (let j = 0; j < input.length; j++) {
          if (j + 1 < choice.scoreFrom) continue;
          contRows.push(b * L + j);
          contTargets.push(choice.ids[j + 1]);
          contSlots.push(b);
        }
      });
      const feeds: Feeds = {
        soft_prompt: floatTensor(f, [], [1, 0, this.cfg.hiddenSize]),
        prompt_index: int64Tensor(new Array<number>(B).fill(0), [B]),
        input_ids: int64Tensor(ids, [B, L]),
        attention_mask: floatTensor(f, mask, [B, S + L]),
        position_ids: int64Tensor(positions, [B, L]),
        target_rows: int64Tensor(contRows, [contRows.length]),
        target_ids: int64Tensor(contTargets, [contTargets.length]),
      };
      for (let i = 0; i < this.cfg.numLayers; i++) {
        feeds[`past_key_${i}`] = first[`present_key_${i}`];
        feeds[`past_value_${i}`] = first[`present_value_${i}`];
      }
      const out = (await this.run(feeds, ['token_logprobs'])).token_logprobs.data as Float32Array | Float64Array;
      contSlots.forEach((b, i) => (scores[b][k] += out[i]));
    }
    if (maxNew === 0) return { scores };
    const prompts2 = items.map((item) => item.prefix);
    const { ids } = await this.decode(prompts2, prefix, maxNew, {}, first);
    return { scores, generated: ids.map((row, b) => row.slice(prompts2[b].length)) };
  }

  /**
   * Greedy decoding with a key/value cache. Prompts are left-padded so every row's last token is
   * at the end; decoding stops at maxNewTokens or when every row has produced EOS.
   */
  async generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options: { stopAtEos?: boolean; returnFirstLogits?: boolean; promptIndex?: number[]; sample?: { temperature: number; random: () => number } } = {}): Promise<{ ids: number[][]; firstLogits?: (Float32Array | Float64Array)[] }> {
    const prefix = this.leftPadded(prompts, softPrompts, options.promptIndex, maxNewTokens);
    return this.decode(prompts, prefix, maxNewTokens, options);
  }

  /**
   * Greedy (or sampled) decoding after a left-padded prefix; `first` is the prefix pass's result
   * when the caller already ran it (rank classification shares it with generation).
   */
  private async decode(prompts: number[][], prefix: ReturnType<LanguageModel['leftPadded']>, maxNewTokens: number, options: { stopAtEos?: boolean; returnFirstLogits?: boolean; sample?: { temperature: number; random: () => number } }, first?: ort.InferenceSession.ReturnType): Promise<{ ids: number[][]; firstLogits?: (Float32Array | Float64Array)[] }> {
    const c = this.cfg;
    const f = this.floatType;
    const B = prompts.length;
    const nextPosition = [...prefix.nextPosition];
    const mask = prefix.mask;
    const lastRows = (S: number) => lastRowsOf(B, S);
    const cacheNames = this.cacheNames();
    let feeds: Feeds = { ...prefix.feeds, logit_rows: lastRows(prefix.width) };
    const out = prompts.map((p) => [...p]);
    const done = new Array<boolean>(B).fill(false);
    const keyMask = [...mask];
    let keyLength = prefix.width;
    let firstLogits: (Float32Array | Float64Array)[] | undefined;
    for (let step = 0; step <= maxNewTokens; step++) {
      const result = step === 0 && first ? first : await this.run(feeds, step === maxNewTokens ? ['logits'] : ['logits', ...cacheNames]);
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
        logit_rows: lastRows(1),
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

/** Flat indices of each row's last position in a [B, S] batch. */
function lastRowsOf(B: number, S: number): ort.Tensor {
  return int64Tensor(Array.from({ length: B }, (_, b) => b * S + S - 1), [B]);
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
