// A config's model and weights, from its family (families/registry.ts).
import { join } from 'node:path';
import type { CausalLM } from './causal-lm.js';
import { InputError } from '../common/errors.js';
import type { ModelConfig } from './config-types.js';
import { familyOf } from './families/registry.js';
import { CheckpointWeights, type WeightSource } from './weights.js';

export function buildModel(cfg: ModelConfig, weights: WeightSource): CausalLM {
  const family = familyOf(cfg);
  // a tied head may be stored under the head's name only (config.json says the two are one)
  if (cfg.architecture === 'decoder' && cfg.tieWordEmbeddings && weights instanceof CheckpointWeights) weights.alias('model.embed_tokens.weight', 'lm_head.weight');
  if (weights instanceof CheckpointWeights) checkLayerCount(cfg, weights);
  const model = family.build(cfg, weights);
  if (model === 'seq2seq') throw new Error(`${cfg.modelType} is encoder-decoder: open it with modelFromWeights (load.ts)`);
  return model;
}

/** "model.layers.3.mlp.up_proj.weight" is layer 3 of the stack "model.layers". */
function layerOf(name: string): { stack: string; layer: number } | null {
  const m = /^(.*?)\.(\d+)\./.exec(name);
  // GPT-2 checkpoints name their blocks h.N or transformer.h.N
  return m ? { stack: m[1].replace(/^transformer\./, ''), layer: Number(m[2]) } : null;
}

/**
 * Layers in the checkpoint that config.json does not count would be left out of the model without
 * a word (a config saying fewer layers); a config saying more would fail late, at one tensor.
 */
export function checkLayerCount(cfg: ModelConfig, weights: CheckpointWeights): void {
  const configured = new Map<string, number>();
  for (const name of weightShapes(cfg).keys()) {
    const at = layerOf(name);
    if (at) configured.set(at.stack, Math.max(configured.get(at.stack) ?? 0, at.layer + 1));
  }
  const held = new Map<string, { count: number; tensor: string }>();
  for (const name of weights.entries.keys()) {
    const at = layerOf(name);
    if (!at || !configured.has(at.stack)) continue;
    if (at.layer + 1 > (held.get(at.stack)?.count ?? 0)) held.set(at.stack, { count: at.layer + 1, tensor: name });
  }
  const configFile = join(weights.origin, 'config.json');
  for (const [stack, count] of configured) {
    const inCheckpoint = held.get(stack);
    if (!inCheckpoint || inCheckpoint.count === count) continue;
    const key = familyOf(cfg).layerCountField(stack);
    const found = `the weights hold ${inCheckpoint.count} (up to tensor "${inCheckpoint.tensor}" in ${weights.describe(inCheckpoint.tensor)})`;
    throw new InputError(inCheckpoint.count > count
      ? `${configFile}: ${key} is ${count} but ${found}; the extra layers would be left out: set ${key} to ${inCheckpoint.count} or use the config that came with the weights`
      : `${configFile}: ${key} is ${count} but ${found}, so layer ${inCheckpoint.count} is missing; set ${key} to ${inCheckpoint.count} or use the config that came with the weights`, { file: configFile, field: key });
  }
}

/** Every weight's name and shape, as a checkpoint of this config holds them. */
export function weightShapes(cfg: ModelConfig): Map<string, number[]> {
  return familyOf(cfg).weightShapes(cfg);
}
