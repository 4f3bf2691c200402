// Token sequences for training and scoring: a prompt text followed by a target (a label's text),
// truncated from the left when longer than the model's context.
import type { Sequence } from '../models/language-model.js';
import type { Tokenizer } from '../models/tokenizer.js';

export interface Encoded extends Sequence { truncated: boolean }

export class SequenceEncoder {
  private cache = new Map<string, number[]>();
  truncatedCount = 0;

  constructor(readonly tokenizer: Tokenizer, readonly contextLength: number) {}

  encode(text: string): number[] {
    let ids = this.cache.get(text);
    if (!ids) {
      ids = this.tokenizer.encode(text);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(text, ids);
    }
    return ids;
  }

  /**
   * prompt + target as tokens, with the target's tokens found by encoding both together (so
   * merges across the boundary follow the tokenizer) and comparing with the prompt alone.
   */
  withTarget(prompt: string, target: string, softLength: number): Encoded {
    const head = this.encode(prompt);
    const full = this.encode(prompt + target);
    let common = 0;
    while (common < head.length && common < full.length && head[common] === full[common]) common++;
    let targetStart = Math.min(common, full.length - 1);
    if (targetStart < 1 && softLength === 0) targetStart = 1;
    return this.fit({ ids: full, targetStart }, softLength);
  }

  /** A prompt alone (for generation), truncated to leave room for `reserve` new tokens. */
  promptOnly(prompt: string, softLength: number, reserve: number): Encoded {
    return this.fit({ ids: this.encode(prompt), targetStart: 0 }, softLength + reserve);
  }

  private fit(seq: Sequence, extra: number): Encoded {
    const excess = seq.ids.length + extra - this.contextLength;
    if (excess <= 0) return { ...seq, truncated: false };
    this.truncatedCount++;
    const keepBos = this.tokenizer.bosTokenId !== null && seq.ids[0] === this.tokenizer.bosTokenId ? 1 : 0;
    const drop = Math.min(excess, Math.max(0, seq.targetStart - keepBos - 1));
    const ids = [...seq.ids.slice(0, keepBos), ...seq.ids.slice(keepBos + drop)];
    return { ids, targetStart: seq.targetStart - drop, truncated: true };
  }
}
