// Where a model named in a spec lives: a local folder, or a hub id downloaded into the Hugging Face
// cache. No runtime here: the extension host resolves models without loading onnxruntime.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import { downloadModel, HUB_ID, type HubOptions } from './hub.js';

export interface ModelFolderOptions extends HubOptions {
  log?: (message: string) => void;
  /** Resolve relative folders against this directory (a spec file's folder). */
  baseDir?: string;
}

export async function resolveModelFolder(model: string, options: ModelFolderOptions = {}): Promise<string> {
  const local = resolve(options.baseDir ?? process.cwd(), model);
  if (existsSync(local)) {
    if (!statSync(local).isDirectory()) throw new InputError(`${local}: a model is a folder (config.json, model.safetensors, tokenizer.json), not a file`);
    return local;
  }
  if (!HUB_ID.test(model) || model.startsWith('.')) throw new InputError(`model "${model}": no such folder (${local}), and not a hub id of the form org/name`);
  options.log?.(`downloading ${model} into the Hugging Face cache`);
  return downloadModel(model, options);
}
