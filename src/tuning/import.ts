// A PEFT PROMPT_TUNING adapter in as a run folder (so evaluation and ensembles can use it), its
// shape checked against the model's config. The way out is exportAdapter (common/run-folder.ts).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from '../models/config.js';
import { ADAPTER_FILES, RunDir } from '../common/run-folder.js';
import { readPeftAdapter } from '../common/peft-adapter.js';

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
