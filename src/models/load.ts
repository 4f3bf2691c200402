// Opens a model given as a folder or a hub id (downloaded into the Hugging Face cache).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DeviceChoice } from '../engine/runtime.js';
import { InputError } from './errors.js';
import { downloadModel, HUB_ID, type HubOptions } from './hub.js';
import { LanguageModel } from './language-model.js';

export interface OpenModelOptions extends HubOptions {
  device?: DeviceChoice;
  threads?: number;
  log?: (message: string) => void;
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

export async function openModel(model: string, options: OpenModelOptions = {}): Promise<LanguageModel> {
  const folder = await resolveModelFolder(model, options);
  return LanguageModel.fromFolder(folder, { device: options.device, threads: options.threads, log: options.log });
}
