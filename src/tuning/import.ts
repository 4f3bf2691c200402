// A run's soft prompt out as a PEFT adapter folder, and a PEFT PROMPT_TUNING adapter in as a run
// folder (so evaluation and ensembles can use it). A run folder already is a PEFT adapter: both
// directions check the adapter, then copy its two files.
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from '../models/config.js';
import { RunDir } from './artifacts.js';
import { readPeftAdapter, writeFileAtomic, type SoftPromptTensor } from './peft.js';

export function importAdapter(adapterDir: string, options: { modelFolder: string; runsDir: string; name?: string; specFile?: string }): { run: RunDir; length: number; dim: number } {
  const cfg = readModelConfig(options.modelFolder);
  const { prompt, config } = readPeftAdapter(adapterDir, cfg.hiddenSize);
  const name = options.name ?? 'imported';
  const run = RunDir.create(options.runsDir, name);
  const now = new Date().toISOString();
  run.writeJson('run.json', {
    id: run.id, name, kind: 'import', importedFrom: adapterDir, specFile: options.specFile ?? null, spec: null,
    model: { id: config.base_model_name_or_path ?? options.modelFolder, folder: options.modelFolder, revision: config.revision ?? null, files: {} },
    seed: null, device: 'none', status: 'completed', createdAt: now, updatedAt: now, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null,
  });
  for (const f of ADAPTER_FILES) cpSync(join(adapterDir, f), run.path(f));
  return { run, length: prompt.length, dim: prompt.dim };
}

const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

/** Writes a run's soft prompt as a PEFT adapter folder; returns the prompt that was written. */
export function exportAdapter(runDir: string, out: string): SoftPromptTensor {
  const run = RunDir.open(runDir);
  const { prompt } = readPeftAdapter(run.dir);
  mkdirSync(out, { recursive: true });
  for (const f of ADAPTER_FILES) writeFileAtomic(join(out, f), readFileSync(run.path(f)));
  return prompt;
}
