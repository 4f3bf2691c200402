// Opens a model given as a folder or a hub id (downloaded into the Hugging Face cache) on a device.
import type { DeviceChoice, SetupProgress } from '../engine/runtime.js';
import type { HubOptions } from './hub.js';
import { buildModel, checkLayerCount } from './architectures.js';
import { readModelConfig, type ModelConfig } from './config.js';
import { LanguageModel, type LanguageModelOptions, type Precision } from './language-model.js';
import { Seq2SeqLanguageModel } from './seq2seq-lm.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import type { TunableModel } from './tunable.js';
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
}

/** The model class for a config: causal language models, or T5's encoder-decoder. */
export function tunableFor(cfg: ModelConfig, weights: WeightSource, tokenizer: Tokenizer | null, options: LanguageModelOptions = {}): TunableModel {
  if (cfg.architecture !== 't5') return new LanguageModel(buildModel(cfg, weights), tokenizer, options);
  if (weights instanceof CheckpointWeights) checkLayerCount(cfg, weights);
  return new Seq2SeqLanguageModel(cfg, weights, tokenizer, options);
}

export async function openModel(model: string, options: OpenModelOptions = {}): Promise<TunableModel> {
  const folder = await resolveModelFolder(model, options);
  const cfg = readModelConfig(folder);
  const weights = new CheckpointWeights(folder);
  const freed = removeWidenedCopies(cacheRoot());
  if (freed > 0) options.log?.(`removed ${(freed / 2 ** 30).toFixed(2)} GiB of float32 weight copies an earlier version left in ${cacheRoot()}`);
  return tunableFor(cfg, weights, await loadTokenizer(folder), { device: options.device, precision: options.precision, threads: options.threads, log: options.log, progress: options.progress });
}
