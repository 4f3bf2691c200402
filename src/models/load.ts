// Opens a model given as a folder or a hub id (downloaded into the Hugging Face cache) on a device:
// `openModel` is the way to open a model from a folder; `modelFromWeights` builds one from weights
// already at hand (random, tuned, or widened to float64), picking the class by architecture.
import type { DeviceChoice, SetupProgress } from '../engine/runtime.js';
import type { HubOptions } from './hub.js';
import { InputError } from '../common/errors.js';
import { buildModel, checkLayerCount } from './architectures.js';
import { readModelConfig } from './config.js';
import type { ModelConfig } from './config-types.js';
import { familyOf } from './families/registry.js';
import { LanguageModel } from './language-model.js';
import type { LanguageModelOptions, OneGraphModel, Precision } from './one-graph-model.js';
import { Seq2SeqLanguageModel } from './seq2seq-lm.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { CheckpointWeights, removeWidenedCopies, type WeightSource } from './weights.js';
import { cacheRoot } from '../common/paths.js';
import { resolveModelFolder } from './model-folder.js';

export interface OpenModelOptions extends HubOptions {
  device?: DeviceChoice;
  precision?: Precision;
  threads?: number;
  log?: (message: string) => void;
  /** Setup progress (graph, then weights loading), for the CLI's and the extension's displays. */
  progress?: (p: SetupProgress) => void;
  /** Resolve relative folders against this directory (a spec file's folder). */
  baseDir?: string;
  /** The kind of model the caller needs (refused otherwise), for the calls only that kind has. */
  kind?: 'causal' | 'seq2seq';
}

/** The model class for a config: causal language models, or T5's encoder-decoder. */
export function modelFromWeights(cfg: ModelConfig, weights: WeightSource, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}): LanguageModel | Seq2SeqLanguageModel {
  if (cfg.architecture !== 't5') return new LanguageModel(buildModel(cfg, weights), tokenizer, options);
  // T5 is the one encoder-decoder family
  if (weights instanceof CheckpointWeights) checkLayerCount(cfg, weights);
  return new Seq2SeqLanguageModel(cfg, weights, tokenizer, options);
}

export async function openModel(model: string, options: OpenModelOptions & { kind: 'causal' }): Promise<LanguageModel>;
export async function openModel(model: string, options: OpenModelOptions & { kind: 'seq2seq' }): Promise<Seq2SeqLanguageModel>;
export async function openModel(model: string, options?: OpenModelOptions): Promise<OneGraphModel>;
export async function openModel(model: string, options: OpenModelOptions = {}): Promise<OneGraphModel> {
  const folder = await resolveModelFolder(model, options);
  const cfg = readModelConfig(folder);
  if (options.kind === 'causal' && cfg.architecture === 't5') throw new InputError(`${folder}: a T5 model is encoder-decoder, not a causal language model`);
  if (options.kind === 'seq2seq' && cfg.architecture !== 't5') throw new InputError(`${folder}: a ${cfg.architecture} model is a causal language model, not an encoder-decoder`);
  const weights = new CheckpointWeights(folder);
  const freed = removeWidenedCopies(cacheRoot());
  if (freed > 0) options.log?.(`removed ${(freed / 2 ** 30).toFixed(2)} GiB of float32 weight copies an earlier version left in ${cacheRoot()}`);
  return modelFromWeights(cfg, weights, await loadTokenizer(folder, { chatTemplateOptions: familyOf(cfg).chatTemplateOptions }), { device: options.device, precision: options.precision, threads: options.threads, log: options.log, progress: options.progress });
}
