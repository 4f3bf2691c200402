// GPT-2: learned positions, LayerNorm, the Conv1D layout (the graph: ../gpt2.ts).
import type { Gpt2Config } from '../config-types.js';
import { Gpt2Model, gpt2WeightShapes } from '../gpt2.js';
import type { ModelFamily } from './family.js';

export const gpt2: ModelFamily<Gpt2Config> = {
  modelType: 'gpt2',
  examples: ['openai-community/gpt2', 'openai-community/gpt2-medium'],
  parse(f) {
    const hiddenSize = f.int('n_embd');
    const numHeads = f.int('n_head');
    if (hiddenSize % numHeads !== 0) f.fail(`n_embd (${hiddenSize}) must be a multiple of n_head (${numHeads})`);
    const act = f.raw.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') f.fail(`activation_function "${String(act)}" is not supported for gpt2 (gelu_new, gelu_pytorch_tanh)`);
    if (f.raw.scale_attn_by_inverse_layer_idx === true || f.raw.reorder_and_upcast_attn === true) f.fail('scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn are not supported');
    return {
      architecture: 'gpt2', modelType: 'gpt2', hiddenSize, numHeads, numKvHeads: numHeads, headDim: hiddenSize / numHeads,
      numLayers: f.int('n_layer'), vocabSize: f.int('vocab_size'), maxPositions: f.int('n_positions', 1024),
      innerSize: f.raw.n_inner == null ? 4 * hiddenSize : f.int('n_inner'), layerNormEps: f.num('layer_norm_epsilon', 1e-5),
      scaleAttnWeights: f.raw.scale_attn_weights !== false, bosTokenId: f.tokenId('bos_token_id'), eosTokenId: f.tokenId('eos_token_id'), eosTokenIds: f.tokenIds('eos_token_id'),
    };
  },
  weightShapes: (cfg) => gpt2WeightShapes(cfg),
  layerCountField: () => 'n_layer',
  build: (cfg, weights) => new Gpt2Model(cfg, weights),
  activationSizes: (cfg) => ({ d: cfg.hiddenSize, ffn: cfg.innerSize, layers: cfg.numLayers }),
};
