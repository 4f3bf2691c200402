// An encoder-decoder model (T5) as a TunableModel: the soft prompt goes in front of the encoder
// input; the label text is the decoder's target (teacher forcing); scoring and greedy generation
// run the decoder. Graphs, like the causal ones, take batch and lengths as symbols.
import { nextToken, type TokenSampling } from './decoding.js';
import { Graph, type FloatType, type Tensor } from '../engine/graph.js';
import { add } from '../engine/ops/elementwise.js';
import { gather } from '../engine/ops/indexing.js';
import { linear } from '../engine/ops/matmul.js';
import { concat, reshape } from '../engine/ops/shape.js';
import { floatTensor, int64Tensor, type Feeds } from '../engine/runtime.js';
import type { T5Config } from './config-types.js';
import { InputError } from '../common/errors.js';
import { checkIndex, OneGraphModel, promptFeed, type LanguageModelOptions, type PreparedBatch } from './one-graph-model.js';
import { bucketMatrix, T5Model } from './t5.js';
import { causalBias, paddingBias } from './attention.js';
import { oneGraphOutputs, targetOutputs } from './target-loss.js';
import type { Tokenizer } from './tokenizer.js';
import { tokenWeights, type ChoiceItem, type Padding, type Prompts, type Sequence, type Weighting } from './tunable.js';
import type { WeightSource } from './weights.js';

/** As for causal models, `all` is the one graph a prompt-tuning job uses: scoring, generation's logits and the gradient on request. */
export type Seq2SeqGraphKind = 'train' | 'score' | 'generate' | 'all';

export function buildSeq2SeqGraph(model: T5Model, kind: Seq2SeqGraphKind, floatType: FloatType, options: { weightGradients?: () => Map<string, Tensor>; weightType?: FloatType | 'float16' } = {}): Graph {
  const { weightGradients } = options;
  const g = new Graph(floatType, options.weightType ?? floatType);
  const c = model.cfg;
  const d = c.hiddenSize;
  const soft = g.input('soft_prompt', floatType, ['M', 'n', d], { requiresGrad: kind === 'train' || kind === 'all' });
  const promptIndex = g.input('prompt_index', 'int64', ['B']);
  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  const encoderMask = g.input('encoder_mask', floatType, ['B', 'n+T']);
  const encoderBuckets = g.input('encoder_buckets', 'int64', ['n+T', 'n+T']);
  // decoder row r reads encoder row decoder_rows[r]: several label texts share one encoder pass
  const decoderIds = g.input('decoder_input_ids', 'int64', ['D', 'L']);
  const decoderRows = g.input('decoder_rows', 'int64', ['D']);
  const decoderBuckets = g.input('decoder_buckets', 'int64', ['L', 'L']);

  const forward = () => {
    const x = concat([gather(soft, promptIndex), model.embed(g, inputIds)], 1);
    const padding = paddingBias(g, encoderMask);
    // differentiable adds: under model tuning the position-bias tables get gradients through them
    const encoderBias = add(model.positionBias(g, 'encoder', encoderBuckets), padding);
    const encoded = model.encode(g, x, encoderBias);
    const selfBias = add(model.positionBias(g, 'decoder', decoderBuckets), causalBias(g, decoderIds, decoderIds));
    return model.decode(g, model.embed(g, decoderIds), gather(encoded, decoderRows), selfBias, gather(padding, decoderRows));
  };

  if (kind === 'all') {
    // logits of the decoder rows asked for (flat indices into [B * L]): generation's last positions
    const logitRows = g.input('logit_rows', 'int64', ['R']);
    oneGraphOutputs(g, soft, () => {
      const hidden = forward();
      const head = (rows: Tensor) => linear(rows, model.headWeight(g));
      return { hidden, head, outputs: [['logits', head(gather(reshape(hidden, ['D*L', d]), logitRows))]] };
    });
    return g;
  }
  const hidden = forward();
  if (kind === 'generate') {
    const last = g.node('Slice', [hidden, g.ints([-1]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])], {}, [{ dtype: floatType, shape: ['B', 1, d] }])[0];
    const row = g.node('Reshape', [last, g.ints([0, d])], {}, [{ dtype: floatType, shape: ['B', d] }])[0];
    g.output(linear(row, model.headWeight(g)), 'logits');
    return g;
  }
  targetOutputs(g, hidden, (rows) => linear(rows, model.headWeight(g)), kind === 'train', soft, weightGradients);
  return g;
}

export class Seq2SeqLanguageModel extends OneGraphModel {
  readonly kind = 'seq2seq' as const;
  readonly model: T5Model;
  protected readonly embeddingWeightName = 'shared.weight';

  constructor(readonly cfg: T5Config, weights: WeightSource, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}) {
    super(weights, tokenizer, options);
    this.model = new T5Model(cfg, weights);
  }

  get contextLength(): number { return this.cfg.maxPositions; }

  protected graphDetail(): string { return `${this.cfg.numLayers} + ${this.cfg.numDecoderLayers} layers`; }

  protected buildGraph(weightType: FloatType | 'float16'): Graph {
    return buildSeq2SeqGraph(this.model, 'all', this.floatType, { weightType });
  }

  /** Encoder inputs (right padded, after the soft prompt) and the relative-position buckets. */
  private encoderFeeds(inputs: number[][], prompts: Prompts, promptIndex: number[], padding: Padding = {}): Feeds {
    const soft = promptFeed(this.floatType, prompts, this.cfg.hiddenSize);
    const n = soft.n;
    const B = inputs.length;
    const T = Math.max(padding.padTo ?? 0, ...inputs.map((x) => x.length));
    if (n + T > this.contextLength) throw new InputError(`an encoder input of ${n + T} positions (soft prompt + tokens) is longer than the model's context of ${this.contextLength}; shorten the input or the soft prompt`);
    const pad = padding.padId ?? this.cfg.padTokenId;
    const ids: number[] = [];
    const mask: number[] = [];
    for (const x of inputs) {
      ids.push(...x, ...new Array<number>(T - x.length).fill(pad));
      mask.push(...new Array<number>(n + x.length).fill(1), ...new Array<number>(T - x.length).fill(0));
    }
    return {
      soft_prompt: soft.tensor,
      prompt_index: int64Tensor(promptIndex.map((i) => checkIndex(i, soft.count)), [B]),
      input_ids: int64Tensor(ids, [B, T]),
      encoder_mask: floatTensor(this.floatType, mask, [B, n + T]),
      encoder_buckets: int64Tensor(bucketMatrix(n + T, n + T, true, this.cfg), [n + T, n + T]),
    };
  }

  /** Feeds for the train and score graphs: encoder inputs, decoder inputs shifted right, targets. */
  prepare(sequences: Sequence[], prompts: Prompts, weighting: Weighting = 'token', padding: Padding = {}): PreparedBatch {
    const B = sequences.length;
    const labels = sequences.map((s) => s.ids.slice(s.targetStart));
    if (labels.some((l) => l.length === 0)) throw new Error('every example needs at least one target token');
    const L = Math.max(...labels.map((l) => l.length));
    const decoder: number[] = [];
    const rows: number[] = [];
    const targets: number[] = [];
    labels.forEach((l, b) => {
      // teacher forcing: the decoder sees the start token, then the labels shifted right
      const input = [this.cfg.decoderStartTokenId, ...l.slice(0, -1)];
      decoder.push(...input, ...new Array<number>(L - input.length).fill(this.cfg.padTokenId));
      l.forEach((id, j) => { rows.push(b * L + j); targets.push(id); });
    });
    const N = targets.length;
    const counts = labels.map((l) => l.length);
    const w = tokenWeights(weighting, counts);
    const feeds: Feeds = {
      ...this.encoderFeeds(sequences.map((s) => s.ids.slice(0, s.targetStart)), prompts, sequences.map((s) => s.prompt ?? 0), padding),
      decoder_input_ids: int64Tensor(decoder, [B, L]),
      decoder_rows: int64Tensor(Array.from({ length: B }, (_, b) => b), [B]),
      decoder_buckets: int64Tensor(bucketMatrix(L, L, false, this.cfg), [L, L]),
      target_rows: int64Tensor(rows, [N]),
      target_ids: int64Tensor(targets, [N]),
      target_weights: floatTensor(this.floatType, w, [N]),
    };
    return { feeds, targetCounts: counts };
  }

  /** One encoder pass per item; each choice is a decoder row reading it (teacher forcing). */
  async scoreChoices(items: ChoiceItem[], prompts: Prompts): Promise<{ scores: number[][] }> {
    const choices = items.flatMap((item, b) => item.choices.map((ch) => ({ b, ids: ch.ids, scoreFrom: ch.scoreFrom })));
    const L = Math.max(...choices.map((ch) => ch.ids.length));
    const decoder: number[] = [];
    const rows: number[] = [];
    const targets: number[] = [];
    const owner: number[] = [];
    choices.forEach((ch, r) => {
      const input = [this.cfg.decoderStartTokenId, ...ch.ids.slice(0, -1)];
      decoder.push(...input, ...new Array<number>(L - input.length).fill(this.cfg.padTokenId));
      ch.ids.forEach((id, j) => {
        if (j < ch.scoreFrom) return;
        rows.push(r * L + j);
        targets.push(id);
        owner.push(r);
      });
    });
    const D = choices.length;
    const out = await this.run({
      ...this.encoderFeeds(items.map((item) => item.prefix), prompts, items.map((item) => item.prompt ?? 0)),
      decoder_input_ids: int64Tensor(decoder, [D, L]),
      decoder_rows: int64Tensor(choices.map((ch) => ch.b), [D]),
      decoder_buckets: int64Tensor(bucketMatrix(L, L, false, this.cfg), [L, L]),
      target_rows: int64Tensor(rows, [rows.length]),
      target_ids: int64Tensor(targets, [targets.length]),
    }, ['token_logprobs']);
    const logProbs = out.token_logprobs.data as Float32Array | Float64Array;
    const perChoice = new Array<number>(D).fill(0);
    owner.forEach((r, i) => (perChoice[r] += logProbs[i]));
    let k = 0;
    return { scores: items.map((item) => item.choices.map(() => perChoice[k++])) };
  }

  /** Decoder logits after `decoded` for each encoder input: the last position's, [B][V]. */
  async nextLogits(inputs: number[][], prompts: Prompts, decoded: number[][], promptIndex?: number[]): Promise<(Float32Array | Float64Array)[]> {
    const B = inputs.length;
    const L = decoded[0].length;
    const out = await this.run({
      ...this.encoderFeeds(inputs, prompts, promptIndex ?? new Array<number>(B).fill(0)),
      decoder_input_ids: int64Tensor(decoded.flat(), [B, L]),
      decoder_rows: int64Tensor(Array.from({ length: B }, (_, b) => b), [B]),
      decoder_buckets: int64Tensor(bucketMatrix(L, L, false, this.cfg), [L, L]),
      logit_rows: int64Tensor(Array.from({ length: B }, (_, b) => b * L + L - 1), [B]),
    }, ['logits']);
    const logits = out.logits.data as Float32Array | Float64Array;
    const V = this.cfg.vocabSize;
    return Array.from({ length: B }, (_, b) => logits.slice(b * V, (b + 1) * V));
  }

  /** Greedy (or sampled) decoding; the encoder runs once per step (labels are a few tokens). */
  async generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options: { stopAtEos?: boolean; promptIndex?: number[]; sample?: TokenSampling } = {}) {
    const B = prompts.length;
    const decoded = prompts.map(() => [this.cfg.decoderStartTokenId]);
    const done = new Array<boolean>(B).fill(false);
    const generated: number[][] = prompts.map(() => []);
    for (let step = 0; step < maxNewTokens && !done.every(Boolean); step++) {
      const logits = await this.nextLogits(prompts, softPrompts, decoded, options.promptIndex);
      logits.forEach((row, b) => {
        const best = nextToken(row, 0, row.length, b, options.sample);
        decoded[b].push(best);
        if (!done[b]) generated[b].push(best);
        if (best === this.cfg.eosTokenId && options.stopAtEos !== false) done[b] = true;
      });
    }
    return { ids: prompts.map((p, b) => [...p, ...generated[b]]) };
  }
}
