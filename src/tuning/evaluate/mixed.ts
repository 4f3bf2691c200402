// Mixed-task batches: one frozen model serves several tasks at once, each example with its own
// task's soft prompt inside the same batch (the serving argument of prompt tuning).
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import type { Split } from '../../common/data.js';
import { scoreInBatches, Evaluator } from './evaluate.js';
import type { LabelPromptResult, ScoredPrediction } from '../../common/run-files.js';

export interface MixedTask { id: string; evaluator: Evaluator; split: Split; prompt: SoftPrompt }

export async function evaluateMixed(lm: TunableModel, tasks: MixedTask[], batchSize: number, signal?: AbortSignal): Promise<{ results: { task: string; result: LabelPromptResult; predictions: ScoredPrediction[] }[]; seconds: number }> {
  const lengths = new Set(tasks.map((t) => t.prompt.length));
  if (lengths.size > 1) throw new Error(`mixed batches need soft prompts of one length (got ${[...lengths].join(', ')})`);
  const perTask = tasks.map((t, k) => t.evaluator.labelSequences(t.evaluator.prompts.soft(t.id, t.prompt), t.split.examples, k));
  const all = perTask.flat();
  const offsets = perTask.map((_, k) => perTask.slice(0, k).reduce((s, q) => s + q.length, 0));
  // round-robin over the tasks, so every batch holds several of them
  const order: number[] = [];
  for (let i = 0; order.length < all.length; i++) perTask.forEach((q, k) => { if (i < q.length) order.push(offsets[k] + i); });
  const t0 = performance.now();
  const labels = Math.max(...tasks.map((t) => t.evaluator.labels.length));
  const scores = await scoreInBatches(lm, all, tasks.map((t) => t.prompt), batchSize * labels, { order, signal });
  const seconds = (performance.now() - t0) / 1000;
  const results = tasks.map((t, k) => {
    const C = t.evaluator.labels.length;
    const mine = scores.slice(offsets[k], offsets[k] + perTask[k].length);
    const rows = t.split.examples.map((_, e) => [mine.slice(e * C, (e + 1) * C)]);
    const { result, predictions } = t.evaluator.summarize(t.evaluator.prompts.soft(t.id, t.prompt), t.split.examples, rows);
    return { task: t.id, result, predictions };
  });
  return { results, seconds };
}
