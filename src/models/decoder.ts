// The decoder of the Llama kind, which every causal family but GPT-2 is: token embeddings, layers
// of attention (RoPE, grouped-query heads) and a gated MLP around RMSNorms, a final norm and the
// LM head. What the families change are options of its config (config-types.ts: q/k norms, (1+w)
// norms, scaled embeddings, per-layer RoPE and windows, partial rotary, GeGLU, soft-capped
// logits) and the names of their weights, which each family declares once as a DecoderLayout.
// Written from the architectures' definitions in Hugging Face transformers (modeling_llama.py and
// the modeling files of each family).
import type { Graph, Tensor } from '../engine/graph.js';
import { add, mul, scale, silu, tanh } from '../engine/ops/elementwise.js';
import { gather } from '../engine/ops/indexing.js';
import { linear } from '../engine/ops/matmul.js';
import { concat, split } from '../engine/ops/shape.js';
import { InputError } from '../common/errors.js';
import { attend, splitHeads, type AttentionMask } from './attention.js';
import type { CausalLM, KvCache } from './causal-lm.js';
import type { DecoderConfig } from './config-types.js';
import { geluTanh, rmsNorm } from './layers.js';
import { applyRope, MAX_ROPE_TABLE, ropeContext, ropeTables, type RopeSpec } from './rope.js';
import { vocabLogits, vocabTable } from './vocab.js';
import type { WeightSource } from './weights.js';

/**
 * Where a family's checkpoint keeps each weight: module paths as in its state dict, ".weight" and
 * ".bias" left out of the per-layer ones. A norm a family does not have is left out; the layer
 * applies the norms it is given, where they are given.
 */
export interface DecoderLayout {
  embed: string;
  /** The untied head (a tied one is the embedding table). */
  head: string;
  finalNorm: string;
  /** A layer's prefix: "model.layers.3". */
  layer(i: number): string;
  norms: {
    /** On the layer's input, before attention (Llama's input_layernorm). */
    beforeAttention?: string;
    /** On attention's output, before the residual add (Gemma, OLMo 2). */
    afterAttention?: string;
    /** Before the MLP (Llama's post_attention_layernorm). */
    beforeMlp?: string;
    /** On the MLP's output, before the residual add (Gemma, OLMo 2). */
    afterMlp?: string;
  };
  /** Separate projections, or one fused q|k|v projection (Phi-3). */
  attention: { q: string; k: string; v: string } | { qkv: string };
  o: string;
  /** Norms of queries and keys (their shape from the config's qkNorm). */
  qkNorms?: { q: string; k: string };
  /** Separate gate and up projections, or one fused gate|up projection (Phi-3). */
  mlp: { gate: string; up: string } | { gateUp: string };
  down: string;
}

/** Llama's names, which most families keep. */
export const LLAMA_LAYOUT: DecoderLayout = {
  embed: 'model.embed_tokens.weight',
  head: 'lm_head.weight',
  finalNorm: 'model.norm.weight',
  layer: (i) => `model.layers.${i}`,
  norms: { beforeAttention: 'input_layernorm', beforeMlp: 'post_attention_layernorm' },
  attention: { q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj' },
  o: 'self_attn.o_proj',
  mlp: { gate: 'mlp.gate_proj', up: 'mlp.up_proj' },
  down: 'mlp.down_proj',
};

interface Projection { weight: string; bias?: string }

interface LayerWeights {
  norms: { beforeAttention?: string; afterAttention?: string; beforeMlp?: string; afterMlp?: string };
  q?: Projection; k?: Projection; v?: Projection; qkv?: Projection;
  o: Projection;
  qNorm?: string; kNorm?: string;
  gate?: Projection; up?: Projection; gateUp?: Projection;
  down: Projection;
}

/** Every weight a config's checkpoint holds, named from the layout and shaped from the config. */
export interface DecoderWeights {
  shapes: Map<string, number[]>;
  embed: string;
  head: string;
  finalNorm: string;
  layers: LayerWeights[];
}

export function decoderWeights(cfg: DecoderConfig, layout: DecoderLayout): DecoderWeights {
  const { hiddenSize: d, headDim: hd, numHeads: h, numKvHeads: kv, intermediateSize: f } = cfg;
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]) => (shapes.set(name, shape), name);
  const projection = (path: string, out: number, input: number, bias: boolean): Projection =>
    ({ weight: add(`${path}.weight`, [out, input]), ...(bias ? { bias: `${path}.bias` } : {}) });
  const biases = (list: Projection[]) => list.forEach((p) => p.bias && shapes.set(p.bias, [shapes.get(p.weight)![0]]));
  const embed = add(layout.embed, [cfg.vocabSize, d]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = layout.layer(i);
    const norms: LayerWeights['norms'] = {};
    for (const role of ['beforeAttention', 'afterAttention', 'beforeMlp', 'afterMlp'] as const) {
      const name = layout.norms[role];
      if (name) norms[role] = add(`${p}.${name}.weight`, [d]);
    }
    const a = layout.attention;
    const attention = 'qkv' in a
      ? { qkv: projection(`${p}.${a.qkv}`, (h + 2 * kv) * hd, d, cfg.qkvBias) }
      : { q: projection(`${p}.${a.q}`, h * hd, d, cfg.qkvBias), k: projection(`${p}.${a.k}`, kv * hd, d, cfg.qkvBias), v: projection(`${p}.${a.v}`, kv * hd, d, cfg.qkvBias) };
    const o = projection(`${p}.${layout.o}`, d, h * hd, cfg.oBias);
    // biases after the weights, as Llama's checkpoints list them
    biases([...Object.values(attention), o]);
    let qkNorms = {};
    if (cfg.qkNorm !== 'none') {
      if (!layout.qkNorms) throw new Error(`${cfg.modelType}: q/k norms configured but not named in the layout`);
      qkNorms = {
        qNorm: add(`${p}.${layout.qkNorms.q}.weight`, [cfg.qkNorm === 'head' ? hd : h * hd]),
        kNorm: add(`${p}.${layout.qkNorms.k}.weight`, [cfg.qkNorm === 'head' ? hd : kv * hd]),
      };
    }
    const m = layout.mlp;
    const mlp = 'gateUp' in m
      ? { gateUp: projection(`${p}.${m.gateUp}`, 2 * f, d, cfg.mlpBias) }
      : { gate: projection(`${p}.${m.gate}`, f, d, cfg.mlpBias), up: projection(`${p}.${m.up}`, f, d, cfg.mlpBias) };
    const down = projection(`${p}.${layout.down}`, d, f, cfg.mlpBias);
    biases([...Object.values(mlp), down]);
    const w: LayerWeights = { norms, ...attention, o, ...qkNorms, ...mlp, down };
    layers.push(w);
  }
  const finalNorm = add(layout.finalNorm, [d]);
  const head = cfg.tieWordEmbeddings ? embed : add(layout.head, [cfg.vocabSize, d]);
  return { shapes, embed, head, finalNorm, layers };
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

export class DecoderModel implements CausalLM {
  readonly names: DecoderWeights;
  readonly embeddingWeightName: string;
  readonly embeddingScale: number;
  readonly contextLength: number;
  private ropes: { global: RopeSpec; local: RopeSpec };

  constructor(readonly cfg: DecoderConfig, readonly weights: WeightSource, layout: DecoderLayout) {
    this.names = decoderWeights(cfg, layout);
    validateWeights(weights, this.names.shapes, cfg.modelType);
    this.embeddingWeightName = this.names.embed;
    this.embeddingScale = cfg.embeddingScale;
    this.ropes = {
      global: { theta: cfg.ropeTheta, scaling: cfg.ropeScaling, rotaryDim: cfg.rotaryDim },
      local: { theta: cfg.localRopeTheta, scaling: null, rotaryDim: cfg.rotaryDim },
    };
    this.contextLength = Math.min(cfg.maxPositions, MAX_ROPE_TABLE, cfg.slidingWindow ?? Infinity, ropeContext(this.ropes.global));
  }

  private w(g: Graph, name: string): Tensor { return this.weights.tensor(g, name, this.names.shapes.get(name)!); }

  private project(g: Graph, x: Tensor, p: Projection): Tensor {
    return linear(x, this.w(g, p.weight), p.bias ? this.w(g, p.bias) : undefined);
  }

  private norm(g: Graph, x: Tensor, name: string): Tensor {
    return rmsNorm(x, this.w(g, name), this.cfg.rmsNormEps, this.cfg.normOffset);
  }

  private table(g: Graph, name: string): Tensor {
    return vocabTable(g, this.weights, name, this.names.shapes.get(name)!);
  }

  embedTokens(g: Graph, inputIds: Tensor): Tensor {
    const rows = gather(this.table(g, this.names.embed), inputIds);
    return this.embeddingScale === 1 ? rows : scale(rows, this.embeddingScale);
  }

  logits(g: Graph, rows: Tensor): Tensor {
    const logits = vocabLogits(rows, this.table(g, this.names.head));
    const cap = this.cfg.finalLogitSoftcap;
    return cap === null ? logits : scale(tanh(scale(logits, 1 / cap)), cap);
  }

  /**
   * Final hidden states [B, S, d] for input embeddings x [B, S, d]. `mask` holds the additive
   * attention masks over K = past + S keys; with a cache, each layer's keys and values are
   * appended to the past ones and returned.
   */
  forward(g: Graph, x: Tensor, positionIds: Tensor, mask: AttentionMask, past?: KvCache): { hidden: Tensor; present: KvCache } {
    const c = this.cfg;
    const rows = Math.min(c.maxPositions, MAX_ROPE_TABLE);
    const rope = (kind: 'global' | 'local') => ropeTables(g, this.ropes[kind], rows, positionIds);
    const present: KvCache = { keys: [], values: [] };
    if (c.inputScale !== 1) x = scale(x, c.inputScale);
    this.names.layers.forEach((w, i) => {
      const kind = c.layers[i];
      const h = w.norms.beforeAttention ? this.norm(g, x, w.norms.beforeAttention) : x;
      let [q, k, v] = w.qkv
        ? split(this.project(g, h, w.qkv), -1, [c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.numKvHeads * c.headDim])
        : [this.project(g, h, w.q!), this.project(g, h, w.k!), this.project(g, h, w.v!)];
      if (c.qkNorm === 'projection') {
        q = this.norm(g, q, w.qNorm!);
        k = this.norm(g, k, w.kNorm!);
      }
      q = splitHeads(q, c.numHeads, c.headDim);
      k = splitHeads(k, c.numKvHeads, c.headDim);
      v = splitHeads(v, c.numKvHeads, c.headDim);
      if (c.qkNorm === 'head') {
        q = this.norm(g, q, w.qNorm!);
        k = this.norm(g, k, w.kNorm!);
      }
      if (kind.rope) {
        const { cos, sin } = rope(kind.rope);
        q = applyRope(q, cos, sin, c.rotaryDim);
        k = applyRope(k, cos, sin, c.rotaryDim);
      }
      if (past) {
        k = concat([past.keys[i], k], 2);
        v = concat([past.values[i], v], 2);
      }
      present.keys.push(k);
      present.values.push(v);
      const bias = kind.window === null ? mask.full : mask.window(kind.window);
      let attended = this.project(g, attend(q, k, v, bias, c.numHeads, c.numKvHeads, c.headDim, c.queryScale, c.attnLogitSoftcap), w.o);
      if (w.norms.afterAttention) attended = this.norm(g, attended, w.norms.afterAttention);
      x = add(x, attended);
      const h2 = w.norms.beforeMlp ? this.norm(g, x, w.norms.beforeMlp) : x;
      const [gate, up] = w.gateUp ? split(this.project(g, h2, w.gateUp), -1, [c.intermediateSize, c.intermediateSize]) : [this.project(g, h2, w.gate!), this.project(g, h2, w.up!)];
      let out = this.project(g, mul(c.activation === 'silu' ? silu(gate) : geluTanh(gate), up), w.down);
      if (w.norms.afterMlp) out = this.norm(g, out, w.norms.afterMlp);
      x = add(x, out);
    });
    return { hidden: this.norm(g, x, this.names.finalNorm), present };
  }
}
