// The three graphs every causal language model offers, all with a soft prompt [n, d] placed in
// front of the input embeddings (n may be 0), batch and length symbolic, and position ids as an
// input so left and right padding both work:
//   train:    loss over target tokens and its gradient with respect to the soft prompts
//   score:    the log-probability of each target token (summed per example by the caller)
//   generate: next-token logits of the last position, with a key/value cache
//   all:      one graph for everything a prompt-tuning job does (one session, so one copy of
//             the weights): a key/value cache in and out, log-probabilities of target tokens,
//             logits of chosen rows, and the loss's gradient, computed only when asked for
import { Graph, type FloatType, type Tensor } from '../engine/graph.js';
import { gather } from '../engine/ops/indexing.js';
import { concat, reshape, shapeOf } from '../engine/ops/shape.js';
import type { ModelConfig } from './config-types.js';
import { oneGraphOutputs, targetOutputs } from './target-loss.js';
import { attentionMask, causalBias, paddingBias, type AttentionMask } from './attention.js';
import type { WeightSource } from './weights.js';

export interface KvCache { keys: Tensor[]; values: Tensor[] }

export interface CausalLM {
  readonly cfg: ModelConfig;
  readonly weights: WeightSource;
  /** The input embedding table's tensor name (for prompt initialisation from token embeddings). */
  readonly embeddingWeightName: string;
  /** Token embeddings are the table's rows times this (Gemma's sqrt(hidden)); 1 elsewhere. */
  readonly embeddingScale: number;
  /** The longest sequence (soft prompt + tokens) the model takes. */
  readonly contextLength: number;
  embedTokens(g: Graph, inputIds: Tensor): Tensor;
  /** Logits [N, vocab] of final hidden rows [N, d]. */
  logits(g: Graph, rows: Tensor): Tensor;
  forward(g: Graph, x: Tensor, positionIds: Tensor, mask: AttentionMask, past?: KvCache): { hidden: Tensor; present: KvCache };
}

export type GraphKind = 'train' | 'score' | 'generate' | 'all';

/**
 * Additive attention bias [B, 1, S, K] from a key mask [B, K] (1 = attend, 0 = padding) for the
 * last S of K positions: causal by sequence index, padding keys excluded.
 */
export function attentionBias(g: Graph, keyMask: Tensor, positionIds: Tensor): Tensor {
  const [B, K] = keyMask.shape;
  return g.node('Add', [causalBias(g, positionIds, keyMask), paddingBias(g, keyMask)], {}, [{ dtype: g.floatType, shape: [B, 1, positionIds.shape[1], K] }])[0];
}

export interface CacheLayout { numLayers: number; numKvHeads: number; headDim: number }

export function cacheLayout(cfg: ModelConfig): CacheLayout {
  return { numLayers: cfg.numLayers, numKvHeads: cfg.numKvHeads, headDim: cfg.headDim };
}

/** The positions of a layer's keys (or values) [B, H, P + S, hd] after the P of its past. */
function afterPast(present: Tensor, past: Tensor): Tensor {
  const g = present.graph;
  return g.node('Slice', [present, shapeOf(past, 2), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([2])], {}, [{ dtype: present.dtype, shape: [present.shape[0], present.shape[1], 'n+T', present.shape[3]] }])[0];
}

export function buildCausalGraph(model: CausalLM, kind: GraphKind, floatType: FloatType, options: { weightGradients?: () => Map<string, Tensor>; weightType?: FloatType | 'float16' } = {}): Graph {
  const { weightGradients } = options;
  const g = new Graph(floatType, options.weightType ?? floatType);
  const d = model.cfg.hiddenSize;
  // M soft prompts of n rows each; example b uses prompt prompt_index[b] (one frozen model, a
  // different prompt per example: ensembles and mixed-task batches)
  const soft = g.input('soft_prompt', floatType, ['M', 'n', d], { requiresGrad: kind === 'train' || kind === 'all' });
  const promptIndex = g.input('prompt_index', 'int64', ['B']);
  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  const S = 'n+T';
  const cached = kind === 'generate' || kind === 'all';
  const K = cached ? 'P+n+T' : S;
  const keyMask = g.input('attention_mask', floatType, ['B', K]);
  const positionIds = g.input('position_ids', 'int64', ['B', S]);

  const tokens = model.embedTokens(g, inputIds);
  const prompt = gather(soft, promptIndex);
  const x = concat([prompt, tokens], 1);
  const mask = attentionMask(g, attentionBias(g, keyMask, positionIds), keyMask, positionIds);

  let past: KvCache | undefined;
  if (cached) {
    const layout = cacheLayout(model.cfg);
    past = { keys: [], values: [] };
    for (let i = 0; i < layout.numLayers; i++) {
      past.keys.push(g.input(`past_key_${i}`, floatType, ['B', layout.numKvHeads, 'P', layout.headDim]));
      past.values.push(g.input(`past_value_${i}`, floatType, ['B', layout.numKvHeads, 'P', layout.headDim]));
    }
  }
  if (kind === 'all') {
    // logits of the rows asked for (flat indices into [B * (n+T)]): generation's last positions
    const logitRows = g.input('logit_rows', 'int64', ['R']);
    oneGraphOutputs(g, soft, () => {
      const { hidden, present } = model.forward(g, x, positionIds, mask, past);
      const head = (rows: Tensor) => model.logits(g, rows);
      return {
        hidden, head,
        outputs: [
          ['logits', head(gather(reshape(hidden, [`B*${S}`, d]), logitRows))],
          ...present.keys.map((k, i): [string, Tensor] => [`present_key_${i}`, k]),
          ...present.values.map((v, i): [string, Tensor] => [`present_value_${i}`, v]),
          // this pass's own keys and values: a decoding step fetches these few rows and appends
          // them to a cache the caller keeps, instead of fetching the whole cache back every step
          ...present.keys.map((k, i): [string, Tensor] => [`new_key_${i}`, afterPast(k, past!.keys[i])]),
          ...present.values.map((v, i): [string, Tensor] => [`new_value_${i}`, afterPast(v, past!.values[i])]),
        ],
      };
    });
    return g;
  }
  if (kind === 'generate') {
    const { hidden, present } = model.forward(g, x, positionIds, mask, past);
    const last = g.node('Slice', [hidden, g.ints([-1]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])], {}, [{ dtype: floatType, shape: ['B', 1, d] }])[0];
    const lastRow = g.node('Reshape', [last, g.ints([0, d])], {}, [{ dtype: floatType, shape: ['B', d] }])[0];
    g.output(model.logits(g, lastRow), 'logits');
    present.keys.forEach((k, i) => g.output(k, `present_key_${i}`));
    present.values.forEach((v, i) => g.output(v, `present_value_${i}`));
    return g;
  }

  const { hidden } = model.forward(g, x, positionIds, mask);
  targetOutputs(g, hidden, (rows) => model.logits(g, rows), kind === 'train', soft, weightGradients);
  return g;
}

