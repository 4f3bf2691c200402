// Opens a model given as a folder or a hub id (downloaded into the Hugging Face cache).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DeviceChoice, SetupProgress } from '../engine/runtime.js';
import { InputError } from './errors.js';
import { downloadModel, HUB_ID, type HubOptions } from './hub.js';
import { buildModel } from './architectures.js';
import { readModelConfig, type ModelConfig } from './config.js';
import { LanguageModel, type LanguageModelOptions, type Precision } from './language-model.js';
import { Seq2SeqLanguageModel } from './seq2seq-lm.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import type { TunableModel } from './tunable.js';
import { CheckpointWeights, removeWidenedCopies, type WeightSource } from './weights.js';
import { cacheRoot } from '../engine/runtime.js';

export interface OpenModelOptions extends HubOptions {
  device?: DeviceChoice;
  precision?: Precision;
  threads?: number;
  log?: (message: string) => void;
  /** Setup progress (graph, then weights loading), for the CLI's and the extension's displays. */
  progress?: (p: SetupProgress) => void;
  /** Resolve relative folders against this directory (a spec file's folder). */
  baseDir?: string;
}

export async function resolveModelFolder(model: string, options: OpenModelOptions = {}): Promise<string> {
  const local = resolve(options.baseDir ?? process.cwd(), model);
  if (existsSync(local)) {
    if (!statSync(local).isDirectory()) throw new InputError(`${local}: a model is a folder (config.json, model.safetensors, tokenizer.json), not a file`);
    return local;
  }
  if (!HUB_ID.test(model) || model.startsWith('.')) throw new InputError(`model "${model}": no such folder (${local}), and not a hub id of the form org/name`);
  options.log?.(`downloading ${model} into the Hugging Face cache`);
  return downloadModel(model, options);
}

/** The model class for a config: causal language models, or T5's encoder-decoder. */
export function tunableFor(cfg: ModelConfig, weights: WeightSource, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}): TunableModel {
  return cfg.architecture === 't5' ? new Seq2SeqLanguageModel(cfg, weights, tokenizer, options) : new LanguageModel(buildModel(cfg, weights), tokenizer, options);
}

export async function openModel(model: string, options: OpenModelOptions = {}): Promise<TunableModel> {
  const folder = await resolveModelFolder(model, options);
  const cfg = readModelConfig(folder);
  const weights = new CheckpointWeights(folder);
  const freed = removeWidenedCopies(cacheRoot());
  if (freed > 0) options.log?.(`removed ${(freed / 2 ** 30).toFixed(2)} GiB of float32 weight copies an earlier version left in ${cacheRoot()}`);
  return tunableFor(cfg, weights, await loadTokenizer(folder), { device: options.device, precision: options.precision, threads: options.threads, log: options.log, progress: options.progress });
}
