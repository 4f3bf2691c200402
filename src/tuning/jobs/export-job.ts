// An experiment exported as a Hugging Face Accelerate job for a multi-GPU host or a Slurm cluster:
// train.py (PyTorch + transformers + PEFT) with the records already read and templated here, the
// initial soft prompt our init makes and the batch order our sampler draws, so the job is the same
// experiment and writes a run folder that `ptune import-job` brings back.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../common/errors.js';
import type { JobSummary } from '../../common/protocol.js';
import { packageRoot } from '../../common/paths.js';
import { encodeSafetensors } from '../../common/safetensors.js';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { readSplit, type Example, type Split } from '../../common/data.js';
import { loadSpec, type LoadedSpec } from '../../common/spec.js';
import { Adafactor } from '../train/optimizers.js';
import { openModel } from '../../models/load.js';
import { familyFor } from '../../models/families/registry.js';
import { resolveModelFolder } from '../../models/model-folder.js';
import { snapshotCommit } from '../../models/hub.js';
import type { TunableModel } from '../../models/tunable.js';
import { Evaluator } from '../evaluate/evaluate.js';
import { initSoftPrompt } from '../prompts/prompt-init.js';
import { BatchSampler } from '../train/sampler.js';
import type { Emit } from './prepare.js';

/** The files under templates/accelerate/ copied into every export, as they are. */
export const ACCELERATE_TEMPLATE_FILES = ['train.py', 'requirements.txt', 'accelerate_config.yaml', 'launch.sh', 'job.sbatch'];

/** transformers' Adafactor as the paper runs it (Lester et al. 2021, appendix A). */
export const PAPER_ADAFACTOR = { scale_parameter: false, relative_step: false, warmup_init: false, clip_threshold: 1.0, decay_rate: -0.8, eps: [1e-30, 1e-3] };

/** Our Adafactor keeps the second moment whole below this size of either dimension (optimizers.ts). */

export interface JobRecord { index: number; line: number; label: string; text: string; discrete?: Record<string, string> }

export interface JobFile {
  format: 'ptune-accelerate-job';
  version: 1;
  name: string;
  specFile: string;
  spec: LoadedSpec['spec'];
  model: { id: string; path: string | null; revision: string | null; architecture: string; hiddenSize: number; numAttentionHeads: number; numLayers: number; contextLength: number; bosTokenId: number | null };
  softPrompt: { id: string; length: number; init: string; initFile: 'init_prompt.safetensors' };
  labels: string[];
  verbalizer: Record<string, string>;
  labelSeparator: string;
  evaluation: { split: 'test' | 'dev'; rankScoring: 'sum' | 'mean'; generation: boolean; metric: 'rank' | 'generate'; discretePrompts: { id: string; shots: number }[] };
  training: {
    optimizer: 'adafactor' | 'adam'; adafactor: typeof PAPER_ADAFACTOR & { factored: boolean }; adam: { betas: [number, number]; eps: number };
    learningRate: number; schedule: string; warmupSteps: number; weightDecay: number; clipNorm: number | null;
    globalBatchSize: number; steps: number; seed: number; evalEvery: number; checkpointEvery: number; patience: number | null; sampling: string;
    batchesFile: 'batches.json';
  };
  data: { train: { file: string; records: JobRecord[] }; dev: { file: string; records: JobRecord[] } | null; test: { file: string; records: JobRecord[] } | null };
}

function refuse(loaded: LoadedSpec, path: (string | number)[], why: string): never {
  const line = loaded.lineOf(path);
  throw new InputError(`${loaded.file}:${line ?? 1}: ${path.join('.')}: ${why}`, { file: loaded.file, line, field: path.join('.') });
}

/** What the exported job does not do yet, refused before anything is written. */
function checkExportable(loaded: LoadedSpec, lm: TunableModel): void {
  const { spec } = loaded;
  const family = familyFor(lm.cfg.modelType);
  if (family.exportRefusal) refuse(loaded, ['model'], family.exportRefusal);
  // the job's train.py scores a fixed label set by rank; it has no generation, stop strings or text metrics
  if (spec.data.target !== undefined) refuse(loaded, ['data', 'target'], 'text-target tasks are not exported yet: the job scores labels by rank classification and has no generation or text metrics; train and evaluate this task locally (ptune train)');
  if (spec.pipelines.length) refuse(loaded, ['pipelines'], 'pipelines are not exported; remove them for the cluster job');
  if (spec.softPrompt.stage1 || spec.softPrompt.stageOneOf) refuse(loaded, ['softPrompt'], 'pipeline stages are not exported');
  if (spec.evaluation.ensembles.length) refuse(loaded, ['evaluation', 'ensembles'], 'ensembles are not exported; evaluate them locally after import-job');
  // the job scores every label after one data.labelSeparator; a chat prompt's reply has none
  if (spec.softPrompt.messages) refuse(loaded, ['softPrompt', 'messages'], 'chat prompts are not exported yet; use softPrompt.template for the cluster job');
  const chat = spec.discretePrompts.findIndex((p) => p.messages);
  if (chat >= 0) refuse(loaded, ['discretePrompts', chat, 'messages'], 'chat prompts are not exported yet; evaluate them locally');
}

function records(split: Split, text: (e: Example) => string, discrete?: (e: Example) => Record<string, string>): JobRecord[] {
  return split.examples.map((e) => ({ index: e.index, line: e.line, label: e.label, text: text(e), ...(discrete ? { discrete: discrete(e) } : {}) }));
}

/** Each step's batch as indices into the train split, as trainSoftPrompt draws them. */
export function batchIndices(train: Split, batchSize: number, seed: number, sampling: 'random' | 'balanced', steps: number): number[][] {
  const sampler = new BatchSampler(train.examples, batchSize, seed, sampling);
  return Array.from({ length: steps }, (_, step) => sampler.batch(step).map((e) => e.index));
}

export interface ExportResult { outDir: string; files: string[] }

export async function exportAccelerateJob(specFile: string, outDir: string, options: { model?: string; log?: (m: string) => void } = {}): Promise<ExportResult> {
  const loaded = loadSpec(specFile);
  const { spec } = loaded;
  const train = await readSplit(loaded, 'train');
  const dev = spec.data.dev ? await readSplit(loaded, 'dev') : undefined;
  const test = spec.data.test ? await readSplit(loaded, 'test') : undefined;
  const modelId = options.model ?? spec.model;
  const modelFolder = await resolveModelFolder(modelId, { baseDir: options.model ? process.cwd() : loaded.dir, revision: options.model ? undefined : spec.revision, log: options.log });
  // embeddings and the tokenizer only: no graph is built, no session opened
  const lm = await openModel(modelFolder);
  checkExportable(loaded, lm);
  const evaluator = new Evaluator(lm, spec, train);
  const t = spec.training;
  const n = spec.softPrompt.length;
  const d = lm.cfg.hiddenSize;
  const heldOut = test ?? dev;
  if (!heldOut) refuse(loaded, ['data', 'test'], 'data.test or data.dev is needed for the comparison');
  const softText = evaluator.prompts.softInput().text;
  const discrete = spec.discretePrompts.map((p) => evaluator.prompts.discrete(p, t.seed));
  const withDiscrete = (e: Example) => Object.fromEntries(discrete.map((p) => [p.id, p.text(e)]));
  const localModel = existsSync(resolve(options.model ? process.cwd() : loaded.dir, modelId));

  const job: JobFile = {
    format: 'ptune-accelerate-job',
    version: 1,
    name: spec.name,
    specFile: loaded.file,
    spec,
    model: {
      id: modelId, path: localModel ? modelFolder : null, revision: snapshotCommit(modelFolder) ?? spec.revision ?? null,
      architecture: lm.cfg.modelType, hiddenSize: d, numAttentionHeads: lm.cfg.numHeads, numLayers: lm.cfg.numLayers,
      contextLength: lm.contextLength, bosTokenId: lm.tokenizer!.bosTokenId,
    },
    softPrompt: { id: spec.softPrompt.id, length: n, init: spec.softPrompt.init, initFile: 'init_prompt.safetensors' },
    labels: Object.keys(spec.data.verbalizer),
    verbalizer: spec.data.verbalizer,
    labelSeparator: spec.data.labelSeparator,
    evaluation: {
      split: test ? 'test' : 'dev', rankScoring: spec.evaluation.rankScoring, generation: spec.evaluation.generation, metric: spec.evaluation.metric as JobFile['evaluation']['metric'],
      discretePrompts: spec.discretePrompts.map((p) => ({ id: p.id, shots: p.shots ?? 0 })),
    },
    training: {
      optimizer: t.optimizer,
      adafactor: { ...PAPER_ADAFACTOR, factored: new Adafactor(n, d).factored },
      adam: { betas: [0.9, 0.999], eps: 1e-8 },
      learningRate: t.learningRate, schedule: t.schedule, warmupSteps: t.warmupSteps, weightDecay: t.weightDecay, clipNorm: t.clipNorm ?? null,
      globalBatchSize: t.batchSize, steps: t.steps, seed: t.seed, evalEvery: t.evalEvery, checkpointEvery: t.checkpointEvery,
      patience: t.patience ?? null, sampling: t.sampling, batchesFile: 'batches.json',
    },
    data: {
      train: { file: train.file, records: records(train, softText) },
      // without a test split the comparison is on dev, which then carries the discrete prompts' texts
      dev: dev ? { file: dev.file, records: records(dev, softText, test ? undefined : withDiscrete) } : null,
      test: test ? { file: test.file, records: records(test, softText, withDiscrete) } : null,
    },
  };
  // dev is the held-out split when there is no test: its records then carry the discrete texts too

  const initial = initSoftPrompt(lm, loaded, t.seed, train.examples);
  mkdirSync(outDir, { recursive: true });
  const templates = join(packageRoot(), 'templates', 'accelerate');
  for (const name of ACCELERATE_TEMPLATE_FILES) copyFileSync(join(templates, name), join(outDir, name));
  for (const script of ['launch.sh', 'job.sbatch']) chmodSync(join(outDir, script), 0o755);
  writeFileAtomic(join(outDir, 'job.json'), `${JSON.stringify(job, null, 1)}\n`);
  writeFileAtomic(join(outDir, 'batches.json'), `${JSON.stringify(batchIndices(train, t.batchSize, t.seed, t.sampling, t.steps))}\n`);
  writeFileAtomic(join(outDir, 'init_prompt.safetensors'), encodeSafetensors([{ name: 'prompt_embeddings', shape: [n, d], data: Float32Array.from(initial.data) }]));
  return { outDir: resolve(outDir), files: readdirSync(outDir).sort() };
}

/** The export as a trainer job, for the extension (which cannot load a model itself). */
export async function runExportJob(job: { specFile: string; outDir: string; model?: string }, emit: Emit): Promise<JobSummary> {
  const result = await exportAccelerateJob(job.specFile, job.outDir, { model: job.model, log: (message) => emit({ type: 'log', message }) });
  emit({ type: 'log', message: `wrote the Accelerate job to ${result.outDir}: ${result.files.join(', ')}` });
  return { runDir: result.outDir, split: 'test', status: 'completed', results: [] };
}
