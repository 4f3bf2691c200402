// T5 (encoder-decoder, the paper's model; the graph: ../t5.ts, opened by ../seq2seq-lm.ts).
import type { T5Config } from '../config-types.js';
import { t5WeightShapes } from '../t5.js';
import type { ModelFamily } from './family.js';

export const t5: ModelFamily<T5Config> = {
  modelType: 't5',
  examples: ['google/flan-t5-small', 'google/flan-t5-base', 'google/t5-base-lm-adapt'],
  parse(f) {
    const proj = String(f.raw.feed_forward_proj ?? 'relu');
    const gated = proj.startsWith('gated-');
    const act = gated ? proj.slice('gated-'.length) : proj;
    // transformers maps "gated-gelu" to the tanh approximation (gelu_new), as T5.1.1 was trained
    const activation = act === 'gelu' || act === 'gelu_new' ? 'gelu_new' : act === 'relu' ? 'relu' : act === 'silu' ? 'silu' : null;
    if (!activation) return f.fail(`feed_forward_proj "${proj}" is not supported for t5 (relu, gated-gelu, gated-silu)`);
    const numHeads = f.int('num_heads');
    const raw = f.raw;
    return {
      architecture: 't5', modelType: 't5', hiddenSize: f.int('d_model'), headDim: f.int('d_kv'), numHeads, numKvHeads: numHeads,
      feedForwardSize: f.int('d_ff'), numLayers: f.int('num_layers'), numDecoderLayers: f.int('num_decoder_layers', raw.num_layers as number),
      vocabSize: f.int('vocab_size'), maxPositions: f.int('n_positions', 512), relativeBuckets: f.int('relative_attention_num_buckets', 32),
      relativeMaxDistance: f.int('relative_attention_max_distance', 128), layerNormEps: f.num('layer_norm_epsilon', 1e-6), gated, activation,
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
      // transformers 5 names the rescale; 4.x applied it exactly when the head was tied
      scaleDecoderOutputs: typeof raw.scale_decoder_outputs === 'boolean' ? raw.scale_decoder_outputs : raw.tie_word_embeddings !== false,
      decoderStartTokenId: typeof raw.decoder_start_token_id === 'number' ? raw.decoder_start_token_id : 0,
      padTokenId: typeof raw.pad_token_id === 'number' ? raw.pad_token_id : 0, bosTokenId: null, eosTokenId: f.tokenId('eos_token_id') ?? 1,
      eosTokenIds: f.has('eos_token_id') ? f.tokenIds('eos_token_id') : [1],
    };
  },
  weightShapes: (cfg) => t5WeightShapes(cfg),
  layerCountField: (stack) => (stack.startsWith('decoder') ? 'num_decoder_layers' : 'num_layers'),
  build: () => 'seq2seq',
  activationSizes: (cfg) => ({ d: cfg.hiddenSize, ffn: cfg.feedForwardSize, layers: cfg.numLayers + cfg.numDecoderLayers }),
  exportRefusal: 'the Accelerate export covers causal language models; T5 runs locally',
};
