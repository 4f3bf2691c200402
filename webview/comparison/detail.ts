// Figures of the detail pane. Pure: tests import it.

/**
 * Each label's share of the probability the labels have between them, from their log-likelihoods
 * (a softmax over the labels): what the bars beside the log-probs show. Shares sum to 1.
 */
export function labelShares(scores: Record<string, number>): Record<string, number> {
  const entries = Object.entries(scores).filter(([, v]) => Number.isFinite(v));
  if (entries.length === 0) return Object.fromEntries(Object.keys(scores).map((l) => [l, 0]));
  const top = Math.max(...entries.map(([, v]) => v));
  const weights = entries.map(([l, v]) => [l, Math.exp(v - top)] as const);
  const total = weights.reduce((s, [, w]) => s + w, 0);
  return { ...Object.fromEntries(Object.keys(scores).map((l) => [l, 0])), ...Object.fromEntries(weights.map(([l, w]) => [l, w / total])) };
}
