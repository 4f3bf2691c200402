// GPT-2: learned absolute positions, LayerNorm with bias, GELU (tanh), the Conv1D weight layout
// of Hugging Face checkpoints ([in, out]), a fused q/k/v projection, tied head. Written from
// transformers' modeling_gpt2.py.
import type { Graph, Tensor } from '../engine/graph.js';
import { add } from '../engine/ops/elementwise.js';
import { gather } from '../engine/ops/indexing.js';
import { affine, linear } from '../engine/ops/matmul.js';
import { concat, split } from '../engine/ops/shape.js';
import { attend, splitHeads, type AttentionMask } from './attention.js';
import type { CausalLM, KvCache } from './causal-lm.js';
import type { Gpt2Config } from './config-types.js';
import { geluTanh, layerNorm } from './layers.js';
import { validateWeights } from './decoder.js';
import type { WeightSource } from './weights.js';

/** Checkpoints of GPT2LMHeadModel name weights "transformer.*"; those of GPT2Model do not. */
export function gpt2Prefix(weights: { has(name: string): boolean }): string {
  return weights.has('transformer.wte.weight') ? 'transformer.' : '';
}

export function gpt2WeightShapes(cfg: Gpt2Config, prefix = 'transformer.'): Map<string, number[]> {
  const d = cfg.hiddenSize, f = cfg.innerSize;
  const m = new Map<string, number[]>();
  m.set(`${prefix}wte.weight`, [cfg.vocabSize, d]);
  m.set(`${prefix}wpe.weight`, [cfg.maxPositions, d]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `${prefix}h.${i}`;
    for (const ln of ['ln_1', 'ln_2']) { m.set(`${p}.${ln}.weight`, [d]); m.set(`${p}.${ln}.bias`, [d]); }
    m.set(`${p}.attn.c_attn.weight`, [d, 3 * d]); m.set(`${p}.attn.c_attn.bias`, [3 * d]);
    m.set(`${p}.attn.c_proj.weight`, [d, d]); m.set(`${p}.attn.c_proj.bias`, [d]);
    m.set(`${p}.mlp.c_fc.weight`, [d, f]); m.set(`${p}.mlp.c_fc.bias`, [f]);
    m.set(`${p}.mlp.c_proj.weight`, [f, d]); m.set(`${p}.mlp.c_proj.bias`, [d]);
  }
  m.set(`${prefix}ln_f.weight`, [d]);
  m.set(`${prefix}ln_f.bias`, [d]);
  return m;
}

export class Gpt2Model implements CausalLM {
  private shapes: Map<string, number[]>;
  private prefix: string;
  readonly embeddingWeightName: string;
  readonly embeddingScale = 1;
  readonly contextLength: number;

  constructor(readonly cfg: Gpt2Config, readonly weights: WeightSource) {
    this.contextLength = cfg.maxPositions;
    this.prefix = gpt2Prefix(weights);
    this.shapes = gpt2WeightShapes(cfg, this.prefix);
    this.embeddingWeightName = `${this.prefix}wte.weight`;
    validateWeights(weights, this.shapes, 'gpt2');
  }

  private w(g: Graph, name: string): Tensor { return this.weights.tensor(g, `${this.prefix}${name}`, this.shapes.get(`${this.prefix}${name}`)!); }

  embedTokens(g: Graph, inputIds: Tensor): Tensor { return gather(this.w(g, 'wte.weight'), inputIds); }

  logits(g: Graph, rows: Tensor): Tensor { return linear(rows, this.w(g, 'wte.weight')); }

  forward(g: Graph, input: Tensor, positionIds: Tensor, mask: AttentionMask, past?: KvCache): { hidden: Tensor; present: KvCache } {
    const c = this.cfg;
    const d = c.hiddenSize;
    // positions are added to every row, the soft prompt's included (as PEFT does)
    let x = add(input, gather(this.w(g, 'wpe.weight'), positionIds));
    const present: KvCache = { keys: [], values: [] };
    for (let i = 0; i < c.numLayers; i++) {
      const p = `h.${i}`;
      const h = layerNorm(x, this.w(g, `${p}.ln_1.weight`), this.w(g, `${p}.ln_1.bias`), c.layerNormEps);
      const [qx, kx, vx] = split(affine(h, this.w(g, `${p}.attn.c_attn.weight`), this.w(g, `${p}.attn.c_attn.bias`)), -1, [d, d, d]);
      const q = splitHeads(qx, c.numHeads, c.headDim);
      let k = splitHeads(kx, c.numHeads, c.headDim);
      let v = splitHeads(vx, c.numHeads, c.headDim);
      if (past) {
        k = concat([past.keys[i], k], 2);
        v = concat([past.values[i], v], 2);
      }
      present.keys.push(k);
      present.values.push(v);
      const merged = attend(q, k, v, mask.full, c.numHeads, c.numHeads, c.headDim, c.scaleAttnWeights ? 1 / Math.sqrt(c.headDim) : 1);
      x = add(x, affine(merged, this.w(g, `${p}.attn.c_proj.weight`), this.w(g, `${p}.attn.c_proj.bias`)));
      const h2 = layerNorm(x, this.w(g, `${p}.ln_2.weight`), this.w(g, `${p}.ln_2.bias`), c.layerNormEps);
      const inner = geluTanh(affine(h2, this.w(g, `${p}.mlp.c_fc.weight`), this.w(g, `${p}.mlp.c_fc.bias`)));
      x = add(x, affine(inner, this.w(g, `${p}.mlp.c_proj.weight`), this.w(g, `${p}.mlp.c_proj.bias`)));
    }
    return { hidden: layerNorm(x, this.w(g, 'ln_f.weight'), this.w(g, 'ln_f.bias'), c.layerNormEps), present };
  }
}
