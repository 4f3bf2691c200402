// Token sequences for training and scoring: a prompt text followed by a target (a label's text),
// truncated from the left when longer than the model's context.
import { continuationIds, type Tokenizer } from '../../models/tokenizer.js';
import type { Sequence, TunableModel } from '../../models/tunable.js';
import { taskKind, type Spec } from '../../common/spec.js';

export interface Encoded extends Sequence { truncated: boolean }

export class SequenceEncoder {
  private cache = new Map<string, number[]>();

  /**
   * `eosForTargets`: for encoder-decoder models, the end-of-sequence id every decoder target ends
   * with (the label is the decoder's own text, not a continuation of the prompt); null for causal models.
   * `endCausalTargets`: for a causal model's text targets, the end-of-sequence id each target ends
   * with, so the model learns where an output stops (labels need none: rank classification compares
   * them, and generation maps the text's start to a label).
   */
  constructor(readonly tokenizer: Tokenizer, readonly contextLength: number, readonly eosForTargets: number | null = null, readonly endCausalTargets: number | null = null) {}

  /** The target tokens of a label text: its continuation after a prompt, or a decoder text ending in EOS. */
  targetIds(target: string): number[] {
    if (this.eosForTargets === null) return [...continuationIds(this.tokenizer, target), ...this.causalEnd()];
    const ids = this.tokenizer.encode(target.trim(), { addSpecialTokens: false });
    return ids[ids.length - 1] === this.eosForTargets ? ids : [...ids, this.eosForTargets];
  }

  encode(text: string): number[] {
    let ids = this.cache.get(text);
    if (!ids) {
      ids = this.tokenizer.encode(text);
      if (this.cache.size > 8192) this.cache.clear();
      this.cache.set(text, ids);
    }
    return ids;
  }

  /**
   * prompt + target as tokens, with the target's tokens found by encoding both together (so
   * merges across the boundary follow the tokenizer) and comparing with the prompt alone.
   */
  withTarget(prompt: string, target: string, softLength: number): Encoded {
    if (this.eosForTargets !== null) {
      // encoder input, then decoder labels; only the encoder side counts against the context
      const input = this.encode(prompt);
      const fitted = this.fit({ ids: input, targetStart: input.length }, softLength);
      return { ids: [...fitted.ids, ...this.targetIds(target)], targetStart: fitted.ids.length, truncated: fitted.truncated };
    }
    const head = this.encode(prompt);
    const full = [...this.encode(prompt + target), ...this.causalEnd()];
    let common = 0;
    while (common < head.length && common < full.length && head[common] === full[common]) common++;
    let targetStart = Math.min(common, full.length - 1);
    if (targetStart < 1 && softLength === 0) targetStart = 1;
    return this.fit({ ids: full, targetStart }, softLength);
  }

  private causalEnd(): number[] {
    return this.endCausalTargets === null ? [] : [this.endCausalTargets];
  }

  /** A prompt alone (for generation), truncated to leave room for `reserve` new tokens. */
  promptOnly(prompt: string, softLength: number, reserve: number): Encoded {
    const ids = this.encode(prompt);
    return this.fit({ ids, targetStart: ids.length }, softLength + (this.eosForTargets === null ? reserve : 0));
  }

  private fit(seq: Sequence, extra: number): Encoded {
    const excess = seq.ids.length + extra - this.contextLength;
    if (excess <= 0) return { ...seq, truncated: false };
    const keepBos = this.tokenizer.bosTokenId !== null && seq.ids[0] === this.tokenizer.bosTokenId ? 1 : 0;
    // keep the prompt's last token (and, for a prompt alone, at least one token)
    const drop = Math.min(excess, Math.max(0, seq.targetStart - keepBos - 1));
    const ids = [...seq.ids.slice(0, keepBos), ...seq.ids.slice(keepBos + drop)];
    return { ids, targetStart: seq.targetStart - drop, truncated: true };
  }
}

/**
 * The encoder of a model for a spec's task: an encoder-decoder's targets end in its EOS; a causal
 * model's do in a text-target task (where the output's end is part of the answer).
 */
export function encoderFor(lm: Pick<TunableModel, 'kind' | 'cfg' | 'tokenizer' | 'contextLength'>, spec: Pick<Spec, 'data'>): SequenceEncoder {
  if (lm.kind === 'seq2seq') return new SequenceEncoder(lm.tokenizer!, lm.contextLength, lm.cfg.eosTokenId);
  const eos = lm.cfg.eosTokenId ?? lm.tokenizer!.eosTokenId;
  return new SequenceEncoder(lm.tokenizer!, lm.contextLength, null, taskKind(spec) === 'target' ? eos : null);
}
