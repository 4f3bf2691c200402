// Which class builds which config, and which weights each expects.
import type { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { Gpt2Model, gpt2WeightShapes } from './gpt2.js';
import { LlamaModel, llamaWeightShapes } from './llama.js';
import { t5WeightShapes } from './t5.js';
import { CheckpointWeights, type WeightSource } from './weights.js';

export function buildModel(cfg: ModelConfig, weights: WeightSource): CausalLM {
  if (cfg.architecture === 't5') throw new Error('T5 is encoder-decoder: build it with T5Model');
  // a tied head may be stored under the head's name only (config.json says the two are one)
  if (cfg.architecture === 'llama' && cfg.tieWordEmbeddings && weights instanceof CheckpointWeights) weights.alias('model.embed_tokens.weight', 'lm_head.weight');
  return cfg.architecture === 'gpt2' ? new Gpt2Model(cfg, weights) : new LlamaModel(cfg, weights);
}

/** Every weight's name and shape, as a checkpoint of this config holds them. */
export function weightShapes(cfg: ModelConfig): Map<string, number[]> {
  if (cfg.architecture === 't5') return t5WeightShapes(cfg);
  return cfg.architecture === 'gpt2' ? gpt2WeightShapes(cfg) : llamaWeightShapes(cfg);
}
