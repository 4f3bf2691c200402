// Which training examples make up batch t: a pure function of (seed, t), so a resumed run draws
// exactly the batches an uninterrupted run would.
import { Rng } from '../../engine/random.js';
import type { Example } from '../../common/data.js';

export class BatchSampler {
  private epochCache = new Map<number, number[]>();
  private byLabel: Map<string, number[]>;

  constructor(private examples: Example[], private batchSize: number, private seed: number, private mode: 'random' | 'balanced') {
    this.byLabel = new Map();
    examples.forEach((e, i) => {
      const list = this.byLabel.get(e.label) ?? [];
      list.push(i);
      this.byLabel.set(e.label, list);
    });
  }

  private permutation(epoch: number): number[] {
    let p = this.epochCache.get(epoch);
    if (!p) {
      p = new Rng(this.seed * 1_000_003 + epoch).shuffle(this.examples.map((_, i) => i));
      this.epochCache.clear();
      this.epochCache.set(epoch, p);
    }
    return p;
  }

  batch(step: number): Example[] {
    if (this.mode === 'balanced') {
      // every class equally often: slot i takes class (step * batch + i) mod C, a random member
      const classes = [...this.byLabel.values()];
      const rng = new Rng((this.seed * 7_919 + step * 104_729) >>> 0);
      return Array.from({ length: this.batchSize }, (_, i) => {
        const members = classes[(step * this.batchSize + i) % classes.length];
        return this.examples[members[rng.int(members.length)]];
      });
    }
    const N = this.examples.length;
    return Array.from({ length: this.batchSize }, (_, i) => {
      const k = step * this.batchSize + i;
      return this.examples[this.permutation(Math.floor(k / N))[k % N]];
    });
  }
}
