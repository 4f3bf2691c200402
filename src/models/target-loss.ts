// The tail every train and score graph shares: the LM head on the rows that predict a target
// token, their log-probabilities, and (training) the weighted loss and its gradient with
// respect to the soft prompts. The head runs on target rows only: the [rows, vocab] tensors
// dominate activation memory otherwise.
import { gradients } from '../engine/autodiff.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { mul, neg } from '../engine/ops/elementwise.js';
import { gather, gatherLast } from '../engine/ops/indexing.js';
import { linear } from '../engine/ops/matmul.js';
import { reduceSum } from '../engine/ops/reduce.js';
import { reshape, zerosLike } from '../engine/ops/shape.js';
import { logSoftmax } from '../engine/ops/softmax.js';

/**
 * `hidden` [B, S, d] (S as named in the graph), `head` [V, d]. Training graphs differentiate the
 * loss with respect to the soft prompts, or (model tuning) to every weight `wrt` lists: each
 * gradient is the output "grad.<name>". `train` may be a bool scalar input: the gradient is then
 * computed only when it is true (zeros otherwise), so one graph serves training and scoring.
 */
export function targetOutputs(g: Graph, hidden: Tensor, head: Tensor, train: boolean | Tensor, softPrompts: Tensor, wrt?: () => Map<string, Tensor>): void {
  const [B, S, d] = hidden.shape;
  const targetRows = g.input('target_rows', 'int64', ['N']);
  const targetIds = g.input('target_ids', 'int64', ['N']);
  const rows = gather(reshape(hidden, [`${B}*${S}`, d]), targetRows);
  const logProbs = logSoftmax(linear(rows, head));
  const picked = gatherLast(logProbs, g.node('Unsqueeze', [targetIds, g.ints([1])], {}, [{ dtype: 'int64', shape: ['N', 1] }])[0]);
  const tokenLogProbs = reshape(picked, ['N']);
  g.output(tokenLogProbs, 'token_logprobs');
  if (!train) return;
  const weights = g.input('target_weights', g.floatType, ['N']);
  const loss = neg(reduceSum(mul(tokenLogProbs, weights), [0], false));
  g.output(loss, 'loss');
  if (typeof train !== 'boolean') {
    const [grad] = g.branch(train, () => gradients(loss, [softPrompts]), () => [zerosLike(softPrompts)]);
    g.output(grad, 'grad_soft_prompt');
    return;
  }
  if (!wrt) {
    g.output(gradients(loss, [softPrompts])[0], 'grad_soft_prompt');
    return;
  }
  const trainable = wrt();
  const grads = gradients(loss, [...trainable.values()]);
  [...trainable.keys()].forEach((name, i) => g.output(grads[i], `grad.${name}`));
}

/** Sums per-token log-probabilities into each example's total. */
export function sumPerExample(tokenLogProbs: ArrayLike<number>, counts: number[]): { logProb: number; count: number }[] {
  let k = 0;
  return counts.map((count) => {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += tokenLogProbs[k++];
    return { logProb: sum, count };
  });
}
