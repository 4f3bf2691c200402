// Hugging Face PEFT's prompt-tuning adapter format, so PeftModel.from_pretrained loads our soft
// prompts and we load theirs: adapter_model.safetensors with one F32 tensor "prompt_embeddings"
// [num_virtual_tokens * num_transformer_submodules, token_dim], and adapter_config.json.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { join } from 'node:path';
import { InputError } from './errors.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorF32 } from './safetensors.js';

export interface AdapterConfig {
  peft_type: 'PROMPT_TUNING';
  task_type: 'CAUSAL_LM' | 'SEQ_2_SEQ_LM';
  base_model_name_or_path: string | null;
  revision: string | null;
  num_virtual_tokens: number;
  token_dim: number;
  num_transformer_submodules: number;
  num_attention_heads: number;
  num_layers: number;
  prompt_tuning_init: 'RANDOM' | 'SAMPLE_VOCAB' | 'TEXT';
  prompt_tuning_init_text: string | null;
  tokenizer_name_or_path: string | null;
  tokenizer_kwargs: null;
  inference_mode: boolean;
  modules_to_save: null;
}

export interface SoftPromptTensor { length: number; dim: number; data: Float32Array }

export function writePeftAdapter(folder: string, prompt: SoftPromptTensor, config: Omit<AdapterConfig, 'peft_type' | 'num_virtual_tokens' | 'token_dim' | 'inference_mode' | 'modules_to_save' | 'tokenizer_kwargs' | 'revision'> & { revision?: string | null }): void {
  mkdirSync(folder, { recursive: true });
  const submodules = config.num_transformer_submodules;
  // PEFT's seq2seq layout repeats the table per submodule; the decoder's rows are unused.
  const rows = new Float32Array(prompt.length * prompt.dim * submodules);
  for (let s = 0; s < submodules; s++) rows.set(prompt.data, s * prompt.data.length);
  const full: AdapterConfig = {
    peft_type: 'PROMPT_TUNING',
    num_virtual_tokens: prompt.length,
    token_dim: prompt.dim,
    inference_mode: true,
    modules_to_save: null,
    tokenizer_kwargs: null,
    revision: config.revision ?? null,
    ...config,
  };
  writeFileAtomic(join(folder, 'adapter_model.safetensors'), encodeSafetensors([{ name: 'prompt_embeddings', shape: [prompt.length * submodules, prompt.dim], data: rows }]));
  writeFileAtomic(join(folder, 'adapter_config.json'), `${JSON.stringify(full, null, 2)}\n`);
}

export function readPeftAdapter(folder: string, expectedDim?: number): { prompt: SoftPromptTensor; config: AdapterConfig } {
  const configPath = join(folder, 'adapter_config.json');
  const weightsPath = join(folder, 'adapter_model.safetensors');
  if (!existsSync(configPath)) throw new InputError(`${folder}: no adapter_config.json; a soft prompt is a PEFT adapter folder`);
  if (!existsSync(weightsPath)) throw new InputError(`${folder}: no adapter_model.safetensors (PEFT adapters saved as .bin are not supported; save with safe_serialization=True)`);
  let config: AdapterConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new InputError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  if (config.peft_type !== 'PROMPT_TUNING') throw new InputError(`${configPath}: peft_type is ${JSON.stringify(config.peft_type)}; only PROMPT_TUNING adapters are soft prompts`);
  const file = readSafetensorsHeader(weightsPath);
  const entry = file.tensors.get('prompt_embeddings');
  if (!entry) throw new InputError(`${weightsPath}: no tensor "prompt_embeddings" (found: ${[...file.tensors.keys()].join(', ') || 'none'})`);
  if (entry.shape.length !== 2) throw new InputError(`${weightsPath}: prompt_embeddings has shape [${entry.shape}], expected [num_virtual_tokens * submodules, token_dim]`);
  const n = config.num_virtual_tokens;
  const dim = entry.shape[1];
  // PEFT saves num_virtual_tokens rows per transformer submodule (two for SEQ_2_SEQ_LM unless set)
  const submodules = config.num_transformer_submodules ?? (config.task_type === 'SEQ_2_SEQ_LM' ? 2 : 1);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`${configPath}: num_virtual_tokens is ${JSON.stringify(n)}; it must be a positive whole number`);
  if (!Number.isInteger(submodules) || submodules <= 0 || entry.shape[0] !== n * submodules) {
    throw new InputError(`${configPath}: num_virtual_tokens is ${n} with ${submodules} transformer submodule(s), so prompt_embeddings should have ${n * submodules} rows, but ${weightsPath} has ${entry.shape[0]}; the config and the weights come from different adapters`);
  }
  if (config.token_dim != null && config.token_dim !== dim) throw new InputError(`${configPath}: token_dim ${config.token_dim} but prompt_embeddings has ${dim} columns`);
  if (expectedDim !== undefined && dim !== expectedDim) throw new InputError(`${folder}: the soft prompt has token_dim ${dim} but the model's hidden size is ${expectedDim}; it was trained for another model`);
  const all = readTensorF32(entry);
  const data = Float32Array.from(all.subarray(0, n * dim));
  // a NaN or infinite entry makes every score NaN: refuse it here, where the file can be named
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${weightsPath}: prompt_embeddings holds ${data[bad]} (virtual token ${Math.floor(bad / dim)}, column ${bad % dim}); the adapter comes from a run that diverged: retrain it, with a lower learning rate`);
  return { prompt: { length: n, dim, data }, config };
}
