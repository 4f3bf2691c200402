// The Llama family (Llama incl. llama3 RoPE scaling, Mistral, Qwen2, SmolLM): RMSNorm, rotary
// position embeddings, grouped-query attention, SwiGLU MLP. Written from the architecture's
// definition in Hugging Face transformers (modeling_llama.py, modeling_qwen2.py).
import type { Graph, Tensor } from '../engine/graph.js';
import { add, mul, neg, silu } from '../engine/ops/elementwise.js';
import { rmsNorm } from './layers.js';
import { linear } from '../engine/ops/matmul.js';
import { concat, split } from '../engine/ops/shape.js';
import { attend, splitHeads } from './attention.js';
import { ropeInverseFrequencies, type LlamaConfig } from './config.js';
import type { WeightSource } from './weights.js';
import type { CausalLM, KvCache } from './causal-lm.js';
import { gather } from '../engine/ops/indexing.js';
import { InputError } from '../common/errors.js';


export function llamaWeightShapes(cfg: LlamaConfig): Map<string, number[]> {
  const { hiddenSize: d, headDim: hd, numHeads: h, numKvHeads: kv, intermediateSize: f } = cfg;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, d]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [d]);
    m.set(`${p}.post_attention_layernorm.weight`, [d]);
    m.set(`${p}.self_attn.q_proj.weight`, [h * hd, d]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv * hd, d]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv * hd, d]);
    m.set(`${p}.self_attn.o_proj.weight`, [d, h * hd]);
    if (cfg.qkvBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [h * hd]);
      m.set(`${p}.self_attn.k_proj.bias`, [kv * hd]);
      m.set(`${p}.self_attn.v_proj.bias`, [kv * hd]);
    }
    if (cfg.oBias) m.set(`${p}.self_attn.o_proj.bias`, [d]);
    m.set(`${p}.mlp.gate_proj.weight`, [f, d]);
    m.set(`${p}.mlp.up_proj.weight`, [f, d]);
    m.set(`${p}.mlp.down_proj.weight`, [d, f]);
    if (cfg.mlpBias) {
      m.set(`${p}.mlp.gate_proj.bias`, [f]);
      m.set(`${p}.mlp.up_proj.bias`, [f]);
      m.set(`${p}.mlp.down_proj.bias`, [d]);
    }
  }
  m.set('model.norm.weight', [d]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, d]);
  return m;
}

/** Positions past this need a longer table; contexts this long are beyond a CPU-sized tuning job. */
export const MAX_ROPE_TABLE = 16384;

export class LlamaModel implements CausalLM {
  private shapes: Map<string, number[]>;
  readonly embeddingWeightName = 'model.embed_tokens.weight';
  constructor(readonly cfg: LlamaConfig, readonly weights: WeightSource) {
    this.shapes = llamaWeightShapes(cfg);
    validateWeights(weights, this.shapes, cfg.modelType);
  }

  w(g: Graph, name: string): Tensor { return this.weights.tensor(g, name, this.shapes.get(name)!); }
  bias(g: Graph, name: string): Tensor | undefined { return this.shapes.has(name) ? this.w(g, name) : undefined; }

  embedTokens(g: Graph, inputIds: Tensor): Tensor {
    return gather(this.w(g, 'model.embed_tokens.weight'), inputIds);
  }

  headWeight(g: Graph): Tensor {
    return this.w(g, this.cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  }

  private rmsNorm(g: Graph, x: Tensor, weightName: string): Tensor {
    return rmsNorm(x, this.w(g, weightName), this.cfg.rmsNormEps);
  }

  /**
   * cos and sin [B, 1, S, headDim] for position ids [B, S], gathered from tables computed here
   * in float64: GPU sin/cos are less precise than the CPU's and moved WebGPU logits by ~1e-3.
   */
  private rope(g: Graph, positionIds: Tensor): { cos: Tensor; sin: Tensor } {
    const inv = ropeInverseFrequencies(this.cfg);
    const hd = this.cfg.headDim;
    const rows = Math.min(this.cfg.maxPositions, MAX_ROPE_TABLE);
    const cosTable = new Array<number>(rows * hd);
    const sinTable = new Array<number>(rows * hd);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < hd; i++) {
        const angle = p * inv[i % (hd / 2)];
        cosTable[p * hd + i] = Math.cos(angle);
        sinTable[p * hd + i] = Math.sin(angle);
      }
    }
    const [B, S] = positionIds.shape;
    const table = (values: number[]) => {
      const rowsOut = g.node('Gather', [g.constant(values, g.floatType, [rows, hd]), positionIds], { axis: 0 }, [{ dtype: g.floatType, shape: [B, S, hd] }])[0];
      return g.node('Unsqueeze', [rowsOut, g.ints([1])], {}, [{ dtype: g.floatType, shape: [B, 1, S, hd] }])[0];
    };
    return { cos: table(cosTable), sin: table(sinTable) };
  }

  private applyRope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
    const half = this.cfg.headDim / 2;
    const [x1, x2] = split(x, -1, [half, half]);
    const rotated = concat([neg(x2), x1], -1);
    return add(mul(x, cos), mul(rotated, sin));
  }

  /**
   * Final hidden states [B, S, d] for input embeddings x [B, S, d]. `bias` [B, 1, S, K] is the
   * additive attention mask over K = past + S keys; with a cache, each layer's keys and values
   * are appended to the past ones and returned.
   */
  forward(g: Graph, x: Tensor, positionIds: Tensor, bias: Tensor, past?: KvCache): { hidden: Tensor; present: KvCache } {
    const c = this.cfg;
    const { cos, sin } = this.rope(g, positionIds);
    const present: KvCache = { keys: [], values: [] };
    for (let i = 0; i < c.numLayers; i++) {
      const p = `model.layers.${i}`;
      const h = this.rmsNorm(g, x, `${p}.input_layernorm.weight`);
      const heads = (name: string, n: number) => splitHeads(linear(h, this.w(g, `${p}.self_attn.${name}.weight`), this.bias(g, `${p}.self_attn.${name}.bias`)), n, c.headDim);
      const q = this.applyRope(heads('q_proj', c.numHeads), cos, sin);
      let k = this.applyRope(heads('k_proj', c.numKvHeads), cos, sin);
      let v = heads('v_proj', c.numKvHeads);
      if (past) {
        k = concat([past.keys[i], k], 2);
        v = concat([past.values[i], v], 2);
      }
      present.keys.push(k);
      present.values.push(v);
      const merged = attend(q, k, v, bias, c.numHeads, c.numKvHeads, c.headDim, 1 / Math.sqrt(c.headDim));
      x = add(x, linear(merged, this.w(g, `${p}.self_attn.o_proj.weight`), this.bias(g, `${p}.self_attn.o_proj.bias`)));
      const h2 = this.rmsNorm(g, x, `${p}.post_attention_layernorm.weight`);
      const gate = silu(linear(h2, this.w(g, `${p}.mlp.gate_proj.weight`), this.bias(g, `${p}.mlp.gate_proj.bias`)));
      const up = linear(h2, this.w(g, `${p}.mlp.up_proj.weight`), this.bias(g, `${p}.mlp.up_proj.bias`));
      x = add(x, linear(mul(gate, up), this.w(g, `${p}.mlp.down_proj.weight`), this.bias(g, `${p}.mlp.down_proj.bias`)));
    }
    return { hidden: this.rmsNorm(g, x, 'model.norm.weight'), present };
  }
}

/** Every expected tensor present with the shape config.json implies: checked before any graph is built. */
export function validateWeights(weights: WeightSource, shapes: Map<string, number[]>, modelType: string): void {
  for (const [name, expected] of shapes) {
    if (!weights.has(name)) throw new InputError(`${weights.origin}: tensor "${name}" is missing; config.json (model_type ${modelType}) expects it`);
    const actual = weights.shape(name);
    if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
      throw new InputError(`${weights.describe(name)}: tensor "${name}" has shape [${actual}] but config.json implies [${expected}]`);
    }
  }
}
