// Choosing the next token from logits: greedy (argmax), or sampled at a temperature within the
// nucleus (top-p). Shared by the causal and encoder-decoder models' decoding loops.

/**
 * Sampling instead of greedy decoding: `random(row)` gives row `row`'s next uniform draw in [0, 1),
 * so a caller can give each row (example) its own generator and make its output independent of
 * the batch it fell in.
 */
export interface TokenSampling { temperature: number; topP?: number; random: (row: number) => number }

export function argmaxAt(logits: ArrayLike<number>, offset: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[offset + v] > logits[offset + best]) best = v;
  return best;
}

/** Row `row`'s next token from its logits at `offset`: argmax, or a draw from softmax(logits / temperature) cut to top-p. */
export function nextToken(logits: ArrayLike<number>, offset: number, V: number, row: number, sample?: TokenSampling): number {
  if (!sample || sample.temperature === 0) return argmaxAt(logits, offset, V);
  const max = logits[offset + argmaxAt(logits, offset, V)];
  const weights = new Float64Array(V);
  let total = 0;
  for (let v = 0; v < V; v++) total += weights[v] = Math.exp((logits[offset + v] - max) / sample.temperature);
  const topP = sample.topP ?? 1;
  let candidates: number[] | null = null;
  if (topP < 1) {
    // the smallest set of the most likely tokens whose probabilities reach topP
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => weights[b] - weights[a]);
    let mass = 0;
    candidates = [];
    for (const v of order) {
      candidates.push(v);
      mass += weights[v];
      if (mass >= topP * total) break;
    }
    total = mass;
  }
  let r = sample.random(row) * total;
  for (const v of candidates ?? Array.from({ length: V }, (_, v) => v)) if ((r -= weights[v]) <= 0) return v;
  return candidates ? candidates[candidates.length - 1] : V - 1;
}
