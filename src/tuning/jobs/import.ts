// A PEFT PROMPT_TUNING adapter in as a run folder (so evaluation and ensembles can use it), its
// shape checked against the model's config. The way out is exportAdapter (common/run-folder.ts).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from '../../models/config.js';
import { ADAPTER_FILES, RunDir } from '../../common/run-folder.js';
import { readPeftAdapter } from '../../common/peft-adapter.js';
import { InputError } from '../../common/errors.js';

export function importAdapter(adapterDir: string, options: { modelFolder: string; runsDir: string; name?: string; specFile?: string }): { run: RunDir; length: number; dim: number } {
  const cfg = readModelConfig(options.modelFolder);
  const { prompt, config } = readPeftAdapter(adapterDir, cfg.hiddenSize);
  checkAdapterTaskType(adapterDir, config.task_type, { seq2seq: cfg.architecture === 't5', modelType: cfg.modelType }, options.modelFolder, 'import');
  const name = options.name ?? 'imported';
  const run = RunDir.create(options.runsDir, name);
  const now = new Date().toISOString();
  run.writeRecord({
    id: run.id, name, kind: 'import', importedFrom: adapterDir, specFile: options.specFile ?? null, spec: null,
    model: { id: config.base_model_name_or_path ?? options.modelFolder, folder: options.modelFolder, revision: config.revision ?? null, files: {} },
    seed: null, device: 'none', status: 'completed', createdAt: now, updatedAt: now, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null,
  });
  for (const f of ADAPTER_FILES) cpSync(join(adapterDir, f), run.path(f));
  return { run, length: prompt.length, dim: prompt.dim };
}

/**
 * A prompt for an encoder-decoder model's encoder means nothing in front of a decoder-only model,
 * and back: the adapter's task_type must be the model's.
 */
export function checkAdapterTaskType(adapterDir: string, taskType: string, model: { seq2seq: boolean; modelType: string }, modelFolder: string, verb: string): void {
  const needed = model.seq2seq ? 'SEQ_2_SEQ_LM' : 'CAUSAL_LM';
  if (taskType === needed) return;
  const configFile = join(adapterDir, 'adapter_config.json');
  const kind = needed === 'CAUSAL_LM' ? `a causal language model (${model.modelType})` : `an encoder-decoder model (${model.modelType})`;
  throw new InputError(`${configFile}: task_type is ${JSON.stringify(taskType)}, but ${modelFolder} is ${kind}, which needs ${needed}; ${verb} the adapter with the model it was trained on`, { file: configFile, field: 'task_type' });
}
