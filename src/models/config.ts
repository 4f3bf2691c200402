// config.json of a Hugging Face model, read by its family (families/registry.ts) into the
// engine's terms (config-types.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../common/errors.js';
import type { ModelConfig } from './config-types.js';
import { ConfigFields } from './families/family.js';
import { familyFor, SUPPORTED_MODEL_TYPES } from './families/registry.js';

export type { BaseConfig, DecoderConfig, DecoderLayerKind, Gpt2Config, LlamaConfig, ModelConfig, RopeScaling, T5Config } from './config-types.js';
export { ropeInverseFrequencies } from './rope.js';
export { SUPPORTED_MODEL_TYPES } from './families/registry.js';

export function readModelConfig(folder: string): ModelConfig {
  const file = join(folder, 'config.json');
  if (!existsSync(file)) throw new InputError(`${folder}: no config.json; a model folder needs the Hugging Face config.json next to its weights`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseModelConfig(raw, file);
}

export function parseModelConfig(raw: Record<string, unknown>, file = 'config.json'): ModelConfig {
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') throw new InputError(`${file}: field "model_type" is missing; it names the architecture (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  return familyFor(modelType, file).parse(new ConfigFields(raw, file));
}
