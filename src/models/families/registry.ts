// The model families the engine builds, by config.json's model_type: adding a family is its
// module and a line here.
import { InputError } from '../../common/errors.js';
import type { ModelConfig } from '../config-types.js';
import type { ModelFamily } from './family.js';
import { gemma2 } from './gemma2.js';
import { gemma3 } from './gemma3.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { olmo2 } from './olmo2.js';
import { phi3 } from './phi3.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';
import { smollm3 } from './smollm3.js';
import { t5 } from './t5.js';

export const FAMILIES: readonly ModelFamily[] = [llama, mistral, qwen2, gpt2, t5, qwen3, gemma3, gemma2, smollm3, olmo2, phi3] as ModelFamily[];

export const SUPPORTED_MODEL_TYPES = FAMILIES.map((f) => f.modelType);

/** The family of a model_type; an unknown one is refused naming the supported ones and the nearest. */
export function familyFor(modelType: string, file = 'config.json'): ModelFamily {
  const family = FAMILIES.find((f) => f.modelType === modelType);
  if (family) return family;
  const near = nearestModelType(modelType);
  throw new InputError(`${file}: model_type "${modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})${near ? `; the nearest is "${near}"` : ''}`, { file, field: 'model_type' });
}

/** The family a parsed config came from. */
export function familyOf(cfg: ModelConfig): ModelFamily {
  return familyFor(cfg.modelType);
}

/**
 * The supported model_type closest in spelling ("qwen3_moe" -> "qwen3", "gemma3" -> "gemma3_text"),
 * where one is close enough to be a hint: sharing a prefix of 4 letters, or within a third of the name's edits.
 */
export function nearestModelType(modelType: string): string | null {
  const name = modelType.toLowerCase();
  let best: { type: string; score: number } | null = null;
  for (const type of SUPPORTED_MODEL_TYPES) {
    const prefix = commonPrefix(name, type);
    const score = prefix >= 4 ? -prefix : editDistance(name, type);
    if (prefix < 4 && score > Math.max(name.length, type.length) / 3) continue;
    if (!best || score < best.score) best = { type, score };
  }
  return best?.type ?? null;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length];
}
