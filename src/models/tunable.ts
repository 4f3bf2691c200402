// What the tuning code needs of a model, causal or encoder-decoder alike.
import type { TokenSampling } from './decoding.js';
import type { BaseConfig } from './config-types.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * Token ids of one example; tokens from `targetStart` on are the targets (for an encoder-decoder
 * model: the ids before targetStart are the encoder's input, the rest the decoder's labels).
 * `prompt` picks one of the soft prompts passed with the batch (default 0).
 */
export interface Sequence { ids: number[]; targetStart: number; prompt?: number }

export interface SoftPrompt { length: number; dim: number; data: Float32Array | Float64Array }

/** One soft prompt, or several of equal length used by different examples of one batch. */
export type Prompts = SoftPrompt | SoftPrompt[];

/**
 * How target tokens are weighted in the loss: averaged over all tokens of the batch, per example
 * then over examples, or each sequence's tokens by a weight of the caller's (a policy gradient's
 * advantage, say).
 */
export type Weighting = 'token' | 'example' | { perSequence: number[] };

/** Weights for every target token of sequences with these target counts. */
export function tokenWeights(weighting: Weighting, counts: number[]): number[] {
  const N = counts.reduce((s, c) => s + c, 0);
  if (weighting === 'token') return new Array<number>(N).fill(1 / N);
  if (weighting === 'example') return counts.flatMap((c) => new Array<number>(c).fill(1 / (c * counts.length)));
  return counts.flatMap((c, i) => new Array<number>(c).fill(weighting.perSequence[i]));
}
/**
 * Candidate continuations of one prefix (rank classification: one per label). A choice's
 * log-likelihood sums its tokens from `scoreFrom` on (earlier ones are context shared by the
 * label texts, such as a common first word). For an encoder-decoder model the prefix is the
 * encoder's input and a choice the decoder's text.
 */
export interface ChoiceItem { prefix: number[]; choices: { ids: number[]; scoreFrom: number }[]; prompt?: number }

/** Padding controls, for tests that check padding changes nothing. */
export interface Padding { padTo?: number; padId?: number }

export interface TunableModel {
  readonly kind: 'causal' | 'seq2seq';
  readonly cfg: BaseConfig;
  readonly tokenizer: Tokenizer | null;
  /** The longest input (soft prompt + tokens) the model takes. */
  readonly contextLength: number;
  embeddings(ids: number[]): Float32Array;
  emptyPrompt(): SoftPrompt;
  lossAndGradient(sequences: Sequence[], prompts: Prompts, weighting?: Weighting, padding?: Padding): Promise<{ loss: number; grad: Float32Array | Float64Array; tokenLogProbs: Float32Array | Float64Array }>;
  score(sequences: Sequence[], prompts: Prompts, padding?: Padding): Promise<{ logProb: number; count: number }[]>;
  /**
   * Log-likelihood of every choice of every item: scores[item][choice]; with maxNewTokens, also
   * each item's greedy continuation of its prefix (new tokens only) where the model can reuse the
   * prefix's pass (undefined where it cannot: then the caller generates).
   */
  scoreChoices(items: ChoiceItem[], prompts: Prompts, options?: { maxNewTokens?: number; sample?: TokenSampling }): Promise<{ scores: number[][]; generated?: number[][] }>;
  /** Greedy continuation of each prompt; each result row is the prompt's ids, then the new ones. */
  generate(prompts: number[][], softPrompts: Prompts, maxNewTokens: number, options?: { stopAtEos?: boolean; promptIndex?: number[]; sample?: TokenSampling }): Promise<{ ids: number[][] }>;
  device(): Promise<string>;
  dispose(): Promise<void>;
}

/** The choices of each item as whole sequences (for models that score sequences one by one). */
export function choiceSequences(items: ChoiceItem[]): Sequence[] {
  return items.flatMap((item) => item.choices.map((c) => ({ ids: [...item.prefix, ...c.ids], targetStart: item.prefix.length + c.scoreFrom, prompt: item.prompt })));
}

export function promptList(prompts: Prompts): SoftPrompt[] {
  return Array.isArray(prompts) ? prompts : [prompts];
}
