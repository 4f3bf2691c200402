// A loaded causal model with its one graph opened lazily on one device: the API the tuning code,
// the CLI and the tests use (train step, scoring, rank classification, greedy generation).
import type { FloatType, Graph } from '../engine/graph.js';
import { floatTensor, int64Tensor, ort, type Feeds } from '../engine/runtime.js';
import { buildCausalGraph, type CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config-types.js';
import { InputError } from '../common/errors.js';
import type { Tokenizer } from './tokenizer.js';
import { checkIndex, OneGraphModel, PASS_OVERHEAD_POSITIONS, promptFeed, type LanguageModelOptions, type PreparedBatch } from './one-graph-model.js';
import { nextToken, type TokenSampling } from './decoding.js';
import { tokenWeights, type ChoiceItem, type Padding, type Prompts, type Sequence, type Weighting } from './tunable.js';

export type { Padding, Prompts, Sequence, SoftPrompt, Weighting } from './tunable.js';

export class LanguageModel extends OneGraphModel {
  readonly kind = 'causal' as const;

  constructor(readonly model: CausalLM, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}) {
    super(model.weights, tokenizer, options);
  }

  /** The last shared head's cache, with what it was computed from (see sharedHead). */
  private keptHead?: { soft: Float32Array | Float64Array; distinct: number[]; tokens: number[]; cache: ort.InferenceSession.ReturnType };

  get cfg(): ModelConfig { return this.model.cfg; }

  override async dispose(): Promise<void> {
    this.keptHead = undefined;
    await super.dispose();
  }

  /** The longest sequence (soft prompt + tokens) the model takes. */
  get contextLength(): number { return this.model.contextLength; }

  private checkLength(length: number): void {
    if (length > this.contextLength) throw new InputError(`a sequence of ${length} positions (soft prompt + tokens) is longer than the model's context of ${this.contextLength}; shorten the input or the soft prompt`);
  }

  protected get embeddingWeightName(): string { return this.model.embeddingWeightName; }

  protected override get embeddingScale(): number { return this.model.embeddingScale; }

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
   * The key/value cache of what every row of a batch starts with: its soft prompt and the tokens
   * all its prefixes share (each keeps at least its last token, whose logits score the choices).
   * One pass per distinct soft prompt computes it, and each row gets a copy of its prompt's cache,
   * so a 100-token soft prompt costs one pass per evaluation instead of one per example (a
   * prefix's keys and values depend on nothing after it). The last head is kept for the next
   * batch while the soft prompts and tokens are the same (compared by value: training changes a
   * prompt in place). Null where its pass would cost more than it saves.
   */
  private async sharedHead(prompts: number[][], soft: ReturnType<typeof promptFeed>, promptOf: number[]): Promise<SharedHead | null> {
    const f = this.floatType;
    const B = prompts.length;
    let tokens = Math.min(...prompts.map((p) => p.length)) - 1;
    for (let j = 0; j < tokens; j++) {
      if (prompts.some((p) => p[j] !== prompts[0][j])) tokens = j;
    }
    tokens = Math.max(0, tokens);
    const length = soft.n + tokens;
    const distinct = [...new Set(promptOf.map((i) => checkIndex(i, soft.count)))];
    const U = distinct.length;
    // positions the rows skip, against the head's own pass (counted even when it is kept: which
    // path a batch takes depends on the batch alone, so a resumed run scores bit for bit the same)
    if (length === 0 || (B - U) * length <= PASS_OVERHEAD_POSITIONS + U * length) return null;
    const head = prompts[0].slice(0, tokens);
    const softData = soft.tensor.data as Float32Array | Float64Array;
    const kept = this.keptHead;
    let cache = kept && kept.distinct.join() === distinct.join() && kept.tokens.join() === head.join()
      && kept.soft.length === softData.length && kept.soft.every((v, i) => v === softData[i]) ? kept.cache : undefined;
    if (!cache) {
      cache = await this.run({
        soft_prompt: soft.tensor,
        prompt_index: int64Tensor(distinct, [U]),
        input_ids: int64Tensor(distinct.flatMap(() => head), [U, tokens]),
        attention_mask: floatTensor(f, new Array<number>(U * length).fill(1), [U, length]),
        position_ids: int64Tensor(distinct.flatMap(() => Array.from({ length }, (_, j) => j)), [U, length]),
      }, this.cacheNames());
      this.keptHead = { soft: softData.slice(), distinct, tokens: head, cache };
    }
    const rowOf = promptOf.map((i) => distinct.indexOf(i));
    const past: Feeds = {};
    for (const name of this.cacheNames()) {
      const rows = cache[name];
      const src = rows.data as Float32Array | Float64Array;
      const rowSize = src.length / U;
      const data = new (src.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(B * rowSize);
      rowOf.forEach((u, b) => data.set(src.subarray(u * rowSize, (u + 1) * rowSize), b * rowSize));
      past[name.replace('present_', 'past_')] = new ort.Tensor(rows.type as 'float32', data, [B, ...rows.dims.slice(1)]);
    }
    return { length, tokens, past };
  }

  /**
   * Feeds for a batch of token prefixes, left-padded so every row ends at the same index: the
   * soft prompt first (or the shared head's cache, which holds it), then padding, then the text.
   * `width` counts the keys (cache included), `queries` the positions this pass computes;
   * `reserve` positions must stay free after them.
   */
  private async leftPadded(prompts: number[][], softPrompts: Prompts, promptIndex: number[] | undefined, reserve: number, options: { shareHead?: boolean } = {}) {
    const c = this.cfg;
    const f = this.floatType;
    const B = prompts.length;
    const promptOf = promptIndex ?? new Array<number>(B).fill(0);
    const soft = promptFeed(f, softPrompts, c.hiddenSize);
    const head = options.shareHead === false ? null : await this.sharedHead(prompts, soft, promptOf);
    // positions before the text: the soft prompt's, or the whole shared head's (which holds it)
    const n = head ? head.length : soft.n;
    const rest = head ? prompts.map((p) => p.slice(head.tokens)) : prompts;
    const T = Math.max(...rest.map((p) => p.length));
    this.checkLength(n + T + reserve);
    const pad = this.tokenizer?.padTokenId ?? c.eosTokenId ?? 0;
    const ids: number[] = [];
    const mask: number[] = [];
    const positions: number[] = [];
    const nextPosition: number[] = [];
    for (const p of rest) {
      const padCount = T - p.length;
      for (let j = 0; j < padCount; j++) ids.push(pad);
      for (const id of p) ids.push(id);
      for (let j = 0; j < n; j++) mask.push(1);
      if (!head) for (let j = 0; j < n; j++) positions.push(j);
      for (let j = 0; j < padCount; j++) { mask.push(0); positions.push(0); }
      for (let j = 0; j < p.length; j++) { mask.push(1); positions.push(n + j); }
      nextPosition.push(n + p.length);
    }
    const queries = head ? T : n + T;
    const feeds: Feeds = {
      soft_prompt: head ? floatTensor(f, [], [1, 0, c.hiddenSize]) : soft.tensor,
      prompt_index: int64Tensor(head ? new Array<number>(B).fill(0) : promptOf.map((i) => checkIndex(i, soft.count)), [B]),
      input_ids: int64Tensor(ids, [B, T]),
      attention_mask: floatTensor(f, mask, [B, n + T]),
      position_ids: int64Tensor(positions, [B, queries]),
      ...head?.past,
    };
    return { feeds, width: n + T, queries, mask, nextPosition, pad };
  }

  /**
   * Rank classification at the cost of one forward pass over each prefix: every choice's first
   * token is read at the prefix's last position (the same row gathered once per choice), and
   * longer choices continue from the prefix's key/value cache, one short pass per choice index.
   */
  async scoreChoices(items: ChoiceItem[], prompts: Prompts, options: { maxNewTokens?: number; shareHead?: boolean; sample?: TokenSampling } = {}): Promise<{ scores: number[][]; generated?: number[][] }> {
    const f = this.floatType;
    const B = items.length;
    const maxNew = options.maxNewTokens ?? 0;
    // a choice's last token is only predicted, never input
    const longest = Math.max(...items.flatMap((item) => item.choices.map((ch) => ch.ids.length)));
    const prefix = await this.leftPadded(items.map((item) => item.prefix), prompts, items.map((item) => item.prompt ?? 0), Math.max(longest - 1, maxNew), options);
    const S = prefix.width;
    const Q = prefix.queries;
    const rows: number[] = [];
    const targets: number[] = [];
    const slots: [number, number][] = [];
    items.forEach((item, b) => item.choices.forEach((ch, k) => {
      if (ch.scoreFrom > 0) return;
      rows.push(b * Q + Q - 1);
      targets.push(ch.ids[0]);
      slots.push([b, k]);
    }));
    // continuing a choice, or generating past the first token, starts from this pass's cache
    const needCache = maxNew > 1 || items.some((item) => item.choices.some((ch) => ch.ids.length > 1));
    const first = await this.run({
      ...prefix.feeds,
      target_rows: int64Tensor(rows, [rows.length]),
      target_ids: int64Tensor(targets, [targets.length]),
      // generation's first token comes from the same pass
      logit_rows: maxNew > 0 ? lastRowsOf(B, Q) : int64Tensor([], [0]),
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
    const { ids } = await this.decode(prompts2, prefix, maxNew, { sample: options.sample }, first);
    return { scores, generated: ids.map((row, b) => row.slice(prompts2[b].length)) };
  }

  /**
   * Greedy decoding with a key/value cache. Prompts are left-padded so every row's last token is
   * at the end; decoding stops at maxNewTokens or when every row has produced EOS.
   */
  async generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options: { stopAtEos?: boolean; returnFirstLogits?: boolean; promptIndex?: number[]; sample?: TokenSampling } = {}): Promise<{ ids: number[][]; firstLogits?: (Float32Array | Float64Array)[] }> {
    const prefix = await this.leftPadded(prompts, softPrompts, options.promptIndex, maxNewTokens);
    return this.decode(prompts, prefix, maxNewTokens, options);
  }

  /**
   * Greedy (or sampled) decoding after a left-padded prefix; `first` is the prefix pass's result
   * when the caller already ran it (rank classification shares it with generation).
   */
  private async decode(prompts: number[][], prefix: Awaited<ReturnType<LanguageModel['leftPadded']>>, maxNewTokens: number, options: { stopAtEos?: boolean; returnFirstLogits?: boolean; sample?: TokenSampling }, first?: ort.InferenceSession.ReturnType): Promise<{ ids: number[][]; firstLogits?: (Float32Array | Float64Array)[] }> {
    const c = this.cfg;
    const f = this.floatType;
    const B = prompts.length;
    const nextPosition = [...prefix.nextPosition];
    let feeds: Feeds = { ...prefix.feeds, logit_rows: lastRowsOf(B, prefix.queries) };
    const out = prompts.map((p) => [...p]);
    const done = new Array<boolean>(B).fill(false);
    const cache = new DecodingCache(B, c.numLayers, c.numKvHeads, c.headDim, prefix.width, maxNewTokens);
    let firstLogits: (Float32Array | Float64Array)[] | undefined;
    for (let step = 0; ; step++) {
      // the pass at step s gives token s + 1; only a pass that another follows needs the cache:
      // the prefix's whole cache once, then each step's own keys and values
      const last = step >= maxNewTokens - 1;
      const result = step === 0 && first ? first : await this.run(feeds, last ? ['logits'] : ['logits', ...(step === 0 ? this.cacheNames() : cache.newNames)]);
      const logits = result.logits.data as Float32Array | Float64Array;
      const V = c.vocabSize;
      if (step === 0 && options.returnFirstLogits) firstLogits = Array.from({ length: B }, (_, b) => logits.slice(b * V, (b + 1) * V));
      if (maxNewTokens === 0) break;
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        const best = nextToken(logits, b * V, V, b, options.sample);
        next.push(best);
        if (!done[b]) out[b].push(best);
        if (c.eosTokenIds.includes(best) && options.stopAtEos !== false) done[b] = true;
      }
      if (last || done.every(Boolean)) break;
      if (step === 0) cache.start(result, prefix.mask);
      else cache.append(result);
      const nextFeeds: Feeds = {
        soft_prompt: floatTensor(f, [], [1, 0, c.hiddenSize]),
        prompt_index: int64Tensor(new Array<number>(B).fill(0), [B]),
        input_ids: int64Tensor(next, [B, 1]),
        attention_mask: floatTensor(f, cache.mask(), [B, cache.capacity + 1]),
        position_ids: int64Tensor(nextPosition, [B, 1]),
        logit_rows: lastRowsOf(B, 1),
        ...cache.feeds(),
      };
      for (let b = 0; b < B; b++) nextPosition[b] += 1;
      feeds = nextFeeds;
    }
    return { ids: out, firstLogits };
  }
}

/**
 * The key/value cache of a decoding loop, kept in JavaScript: per layer [B, heads, capacity,
 * headDim], room for the prefix and every generated token, fed whole each step (unfilled slots
 * masked out) and filled one slot a step from the pass's own keys and values. So a step moves
 * B x heads x headDim numbers per layer out of the runtime, not the whole cache, and feeds the
 * cache back without building a new array.
 */
class DecodingCache {
  /** Slots: the prefix's keys, then one per token fed after it (the last token is never fed back). */
  readonly capacity: number;
  readonly newNames: string[];
  private keys: (Float32Array | Float64Array)[] = [];
  private values: (Float32Array | Float64Array)[] = [];
  private prefixMask: number[] = [];
  private filled = 0;

  constructor(private readonly B: number, private readonly layers: number, private readonly heads: number, private readonly headDim: number, private readonly prefixWidth: number, maxNewTokens: number) {
    this.capacity = prefixWidth + Math.max(0, maxNewTokens - 2);
    this.newNames = Array.from({ length: layers }, (_, i) => [`new_key_${i}`, `new_value_${i}`]).flat();
  }

  /** Copies the prefix pass's whole cache ([B, heads, width, headDim] per layer) into the slots. */
  start(result: ort.InferenceSession.ReturnType, prefixMask: number[]): void {
    const { B, heads, headDim, capacity } = this;
    const W = this.prefixWidth;
    this.prefixMask = prefixMask;
    const copy = (name: string) => {
      const src = result[name].data as Float32Array | Float64Array;
      const dst = new (src.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(B * heads * capacity * headDim);
      for (let row = 0; row < B * heads; row++) dst.set(src.subarray(row * W * headDim, (row + 1) * W * headDim), row * capacity * headDim);
      return dst;
    };
    for (let i = 0; i < this.layers; i++) {
      this.keys.push(copy(`present_key_${i}`));
      this.values.push(copy(`present_value_${i}`));
    }
    this.filled = W;
  }

  /** Writes a step's own keys and values ([B, heads, 1, headDim] per layer) into the next slot. */
  append(result: ort.InferenceSession.ReturnType): void {
    const { B, heads, headDim, capacity } = this;
    for (let i = 0; i < this.layers; i++) {
      for (const [cache, name] of [[this.keys[i], `new_key_${i}`], [this.values[i], `new_value_${i}`]] as const) {
        const src = result[name].data as Float32Array | Float64Array;
        for (let row = 0; row < B * heads; row++) cache.set(src.subarray(row * headDim, (row + 1) * headDim), (row * capacity + this.filled) * headDim);
      }
    }
    this.filled++;
  }

  /** Which keys each row attends to: its prefix's, the tokens fed so far, not the empty slots, and the token fed now. */
  mask(): number[] {
    const { B, capacity } = this;
    const W = this.prefixWidth;
    const mask = new Array<number>(B * (capacity + 1)).fill(0);
    for (let b = 0; b < B; b++) {
      const row = b * (capacity + 1);
      for (let j = 0; j < W; j++) mask[row + j] = this.prefixMask[b * W + j];
      for (let j = W; j < this.filled; j++) mask[row + j] = 1;
      mask[row + capacity] = 1;
    }
    return mask;
  }

  feeds(): Feeds {
    const dims = [this.B, this.heads, this.capacity, this.headDim];
    const feeds: Feeds = {};
    for (let i = 0; i < this.layers; i++) {
      feeds[`past_key_${i}`] = new ort.Tensor(this.keys[i] instanceof Float64Array ? 'float64' : 'float32', this.keys[i], dims);
      feeds[`past_value_${i}`] = new ort.Tensor(this.values[i] instanceof Float64Array ? 'float64' : 'float32', this.values[i], dims);
    }
    return feeds;
  }
}

/** A batch's shared head: its positions (soft prompt + shared tokens), its tokens, and each row's copy of its cache. */
interface SharedHead { length: number; tokens: number; past: Feeds }

/** Flat indices of each row's last position in a [B, S] batch. */
function lastRowsOf(B: number, S: number): ort.Tensor {
  return int64Tensor(Array.from({ length: B }, (_, b) => b * S + S - 1), [B]);
}
