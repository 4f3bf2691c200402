// Normalisations and activations composed from differentiable ops (their gradients follow).
import type { Tensor } from '../engine/graph.js';
import { add, div, mul, scale, sqrt, sub, tanh } from '../engine/ops/elementwise.js';
import { reduceMean } from '../engine/ops/reduce.js';

/** x / sqrt(mean(x^2) + eps) * (offset + weight): Llama and T5 (offset 0), Gemma (1). */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number, offset = 0): Tensor {
  const g = x.graph;
  const ms = reduceMean(mul(x, x), [-1]);
  const inv = div(g.scalar(1), sqrt(add(ms, g.scalar(eps))));
  return mul(mul(x, inv), offset === 0 ? weight : add(weight, g.scalar(offset, weight.dtype)));
}

/** (x - mean) / sqrt(var + eps) * weight + bias (GPT-2). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const g = x.graph;
  const centred = sub(x, reduceMean(x, [-1]));
  const variance = reduceMean(mul(centred, centred), [-1]);
  return add(mul(div(centred, sqrt(add(variance, g.scalar(eps)))), weight), bias);
}

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2's gelu_new, T5.1.1's gelu_new). */
export function geluTanh(x: Tensor): Tensor {
  const g = x.graph;
  const cube = mul(mul(x, x), x);
  const inner = scale(add(x, scale(cube, 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(scale(x, 0.5), add(tanh(inner), g.scalar(1)));
}
