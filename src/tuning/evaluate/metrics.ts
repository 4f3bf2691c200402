// Classification metrics over predicted label indices (rank classification, or generation mapped
// to a label, where -1 is text that names no label: wrong, and in no confusion-matrix column).
import { wilsonInterval } from '../../common/intervals.js';
import type { ClassMetrics, Metrics } from '../../common/run-files.js';

// the Wilson interval lives in common (the text metrics use it too); kept importable from here
export { wilsonInterval };

export function classificationMetrics(labels: string[], gold: number[], predicted: number[], scores: number[][]): Metrics {
  const C = labels.length;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const goldCount = new Array<number>(C).fill(0);
  let correct = 0;
  let nll = 0;
  gold.forEach((g, i) => {
    goldCount[g]++;
    if (predicted[i] >= 0) confusion[g][predicted[i]]++;
    if (g === predicted[i]) correct++;
    nll += -scores[i][g];
  });
  // a -1 prediction is in no column: it adds to its gold class's false negatives and to no class's false positives
  const perClass = labels.map((label, c): ClassMetrics => {
    const tp = confusion[c][c];
    const fp = confusion.reduce((s, row, r) => s + (r === c ? 0 : row[c]), 0);
    const fn = goldCount[c] - tp;
    return { label, precision: tp + fp === 0 ? 0 : tp / (tp + fp), recall: goldCount[c] === 0 ? 0 : tp / goldCount[c], f1: tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn), support: goldCount[c] };
  });
  const n = gold.length;
  const predictedRate = Object.fromEntries(labels.map((l, c) => [l, predicted.filter((p) => p === c).length / n]));
  return {
    count: n, accuracy: correct / n, accuracyInterval: wilsonInterval(correct, n), macroF1: perClass.reduce((s, k) => s + k.f1, 0) / C, confusion, nll: nll / n, predictedRate,
    auc: C === 2 ? auc(gold, scores.map((s) => s[1] - s[0])) : oneVsRestAuc(gold, scores), perClass,
  };
}

/**
 * Macro one-vs-rest AUC: for each class, its log-odds against the other labels together (its score
 * less the log-sum-exp of theirs, a monotone function of its softmax probability) ranks its
 * examples above the rest's; the mean over classes. null if any class's AUC is undefined.
 */
export function oneVsRestAuc(gold: number[], scores: number[][]): number | null {
  const C = scores[0]?.length ?? 0;
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const margin = scores.map((row) => row[c] - logSumExp(row.filter((_, k) => k !== c)));
    const classAuc = auc(gold.map((g) => (g === c ? 1 : 0)), margin);
    if (classAuc === null) return null;
    sum += classAuc;
  }
  return C === 0 ? null : sum / C;
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  if (!Number.isFinite(max)) return max;
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/** Mann-Whitney estimate of P(margin of a positive > margin of a negative), ties counting half. */
export function auc(gold: number[], margin: number[]): number | null {
  // a NaN score (a diverged prompt, NaN weights) has no rank: there is no AUC to give
  if (margin.some(Number.isNaN)) return null;
  const order = margin.map((m, i) => ({ m, g: gold[i] })).sort((a, b) => a.m - b.m);
  let rankSumPositive = 0, positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i + 1;
    while (j < order.length && order[j].m === order[i].m) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (order[k].g === 1) { rankSumPositive += rank; positives++; }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Majority vote; ties go to the label with the larger summed probability. */
export function majorityVote(votes: number[], scoreRows: number[][]): number {
  const C = scoreRows[0].length;
  const counts = new Array<number>(C).fill(0);
  const mass = new Array<number>(C).fill(0);
  votes.forEach((v) => counts[v]++);
  for (const row of scoreRows) row.forEach((s, c) => (mass[c] += Math.exp(s)));
  let best = 0;
  for (let c = 1; c < C; c++) if (counts[c] > counts[best] || (counts[c] === counts[best] && mass[c] > mass[best])) best = c;
  return best;
}
