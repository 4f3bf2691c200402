// The tail every train and score graph shares: the LM head on the rows that predict a target
// token, their log-probabilities, and (training) the weighted loss and its gradient with
// respect to the soft prompts. The head runs on target rows only: the [rows, vocab] tensors
// dominate activation memory otherwise.
import { gradients } from '../engine/autodiff.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { mul, neg } from '../engine/ops/elementwise.js';
import { gather, gatherLast } from '../engine/ops/indexing.js';
import { reduceSum } from '../engine/ops/reduce.js';
import { reshape, zerosLike } from '../engine/ops/shape.js';
import { logSoftmax } from '../engine/ops/softmax.js';

/**
 * `hidden` [B, S, d] (S as named in the graph), `head` the model's logits of hidden rows. Training graphs differentiate the
 * loss with respect to the soft prompts, or (model tuning) to every weight `wrt` lists: each
 * gradient is the output "grad.<name>". (The one graph a job uses is `oneGraphOutputs`.)
 */
export function targetOutputs(g: Graph, hidden: Tensor, head: (rows: Tensor) => Tensor, train: boolean, softPrompts: Tensor, wrt?: () => Map<string, Tensor>): void {
  const targets = targetInputs(g);
  const { tokenLogProbs, loss } = targetLoss(g, hidden, head, targets);
  g.output(tokenLogProbs, 'token_logprobs');
  if (!train) return;
  g.output(loss, 'loss');
  if (!wrt) {
    g.output(gradients(loss, [softPrompts])[0], 'grad_soft_prompt');
    return;
  }
  const trainable = wrt();
  const grads = gradients(loss, [...trainable.values()]);
  [...trainable.keys()].forEach((name, i) => g.output(grads[i], `grad.${name}`));
}

interface TargetInputs { rows: Tensor; ids: Tensor; weights: Tensor }

function targetInputs(g: Graph): TargetInputs {
  return { rows: g.input('target_rows', 'int64', ['N']), ids: g.input('target_ids', 'int64', ['N']), weights: g.input('target_weights', g.floatType, ['N']) };
}

/** Each target token's log-probability (from its row of `hidden`), and the weighted loss. */
function targetLoss(g: Graph, hidden: Tensor, head: (rows: Tensor) => Tensor, targets: TargetInputs): { tokenLogProbs: Tensor; loss: Tensor } {
  const [B, S, d] = hidden.shape;
  const rows = gather(reshape(hidden, [`${B}*${S}`, d]), targets.rows);
  const logProbs = logSoftmax(head(rows));
  const picked = gatherLast(logProbs, g.node('Unsqueeze', [targets.ids, g.ints([1])], {}, [{ dtype: 'int64', shape: ['N', 1] }])[0]);
  const tokenLogProbs = reshape(picked, ['N']);
  return { tokenLogProbs, loss: neg(reduceSum(mul(tokenLogProbs, targets.weights), [0], false)) };
}

/**
 * The one graph's outputs (a prompt-tuning job's training, scoring and generation in one session,
 * so one copy of the weights), as two branches of an If on the input `compute_gradient`. Both run
 * `forward`, built once in each: the training branch keeps what the backward needs and returns
 * the gradient with respect to the soft prompts; the other frees each layer's values as it goes.
 * (With the backward alone behind the If, every forward value stayed alive for it: scoring 24
 * examples of 140 positions took 10.3 GiB on Qwen2.5-0.5B, against 0.3 GiB for a forward alone.)
 * `forward` returns the last hidden states, the LM head (logits of hidden rows) and its other outputs by name.
 */
export function oneGraphOutputs(g: Graph, softPrompts: Tensor, forward: () => { hidden: Tensor; head: (rows: Tensor) => Tensor; outputs: [string, Tensor][] }): void {
  const computeGradient = g.input('compute_gradient', 'bool', []);
  const targets = targetInputs(g);
  let names: string[] = [];
  const branch = (train: boolean) => (): Tensor[] => {
    const { hidden, head, outputs } = forward();
    const { tokenLogProbs, loss } = targetLoss(g, hidden, head, targets);
    const grad = train ? gradients(loss, [softPrompts])[0] : zerosLike(softPrompts);
    names = [...outputs.map(([name]) => name), 'token_logprobs', 'loss', 'grad_soft_prompt'];
    return [...outputs.map(([, t]) => t), tokenLogProbs, loss, grad];
  };
  g.branch(computeGradient, branch(true), branch(false)).forEach((t, i) => g.output(t, names[i]));
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
