// What every job that runs a model does first: load the spec (with overrides), the data (every
// bad input reported before anything is loaded), the model, and plan the memory; and the run
// record those jobs start from.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, sep } from 'node:path';
import type { DeviceChoice } from '../../engine/runtime.js';
import type { Precision } from '../../models/one-graph-model.js';
import { fileSystemError, InputError } from '../../common/errors.js';
import { snapshotCommit } from '../../models/hub.js';
import type { TunableModel } from '../../models/tunable.js';
import { openModel, type OpenModelOptions } from '../../models/load.js';
import { resolveModelFolder } from '../../models/model-folder.js';
import type { TrainerEvent } from '../../common/protocol.js';
import { modelFileHashes, RunDir } from '../../common/run-folder.js';
import { describeSplit, readSplit, type Example, type ReadProgress, type Split } from '../../common/data.js';
import type { ChatMessage, LoadedSpec } from '../../common/spec.js';
import { loadSpecWithOverrides } from '../../common/spec-overrides.js';
import { isSpanCorruptionT5, T5_CHECKPOINT_ADVICE } from '../../common/t5-checkpoints.js';
import { configParameters, CPU_ROWS_PER_PASS, nvidiaGpuMemory, planMemory, type MemoryPlan } from '../train/memory-plan.js';
import { encoderFor } from '../prompts/encoding.js';
import { targetGenerationLength } from '../evaluate/evaluate.js';
import { fillTemplate } from '../../common/template.js';
import { checkChatTemplates, renderChatPrompt } from '../prompts/chat.js';
import { chatConversation } from '../../common/prompt-render.js';
import { readModelConfig, type ModelConfig } from '../../models/config.js';
import type { TrainedRunRecord, Unversioned } from '../../common/run-files.js';
import { specFieldWarnings } from '../../common/spec-problems.js';

export type Emit = (event: TrainerEvent) => void;

export interface Prepared {
  loaded: LoadedSpec;
  lm: TunableModel;
  modelFolder: string;
  /** The model as the user named it (the spec's, or the override). */
  modelId: string;
  splits: { train: Split; dev?: Split; test?: Split };
  /** Micro-batch and evaluation batch, planned from memory before the weights are loaded. */
  memory: MemoryPlan;
  /** Closes the model, unless it belongs to an `OpenModels` that outlives the job. */
  release(): Promise<void>;
}

/**
 * Models kept open across the runs of one sweep: every run of a model on one device and precision
 * shares one opened model (its graph, session and tokenizer) instead of loading it again; the
 * sweep closes them all at its end. Prompts of any length run on one session, so a sweep over
 * softPrompt.length shares it too.
 */
export class OpenModels {
  private readonly models = new Map<string, Promise<TunableModel>>();

  open(folder: string, options: OpenModelOptions & { precision: Precision }): Promise<TunableModel> {
    const key = JSON.stringify([folder, options.device, options.precision, options.threads ?? null]);
    let model = this.models.get(key);
    if (!model) {
      model = openModel(folder, options);
      // a failed open is not kept: the next run tries again and reports its own error
      model.catch(() => this.models.delete(key));
      this.models.set(key, model);
    }
    return model;
  }

  /** How many models are open. */
  get size(): number { return this.models.size; }

  async closeAll(): Promise<void> {
    const models = await Promise.allSettled(this.models.values());
    this.models.clear();
    for (const m of models) if (m.status === 'fulfilled') await m.value.dispose();
  }
}

/**
 * `options.model` replaces the spec's model (the scaling ablation runs one spec on several);
 * `options.overrides` (`path=value`) change its fields (a sweep's points, `ptune train --seed`).
 */
/** What a job knows before the model loads: the spec, the data, and the model's folder. */
export interface PreparedInputs { loaded: LoadedSpec; splits: { train: Split; dev?: Split; test?: Split }; modelFolder: string }

/**
 * `options.softPrompt`: the job trains the spec's soft prompt, whose length must fit the model's
 * context with an input token and the longest answer.
 * `options.beforeModel` checks what the job has read before the model loads (a resume compares
 * the data and the model's files with its run's), so a refusal never waits for the weights.
 */
export async function prepare(specFile: string, options: { device: DeviceChoice; precision?: Precision; threads?: number; model?: string; overrides?: string[]; beforeModel?: (inputs: PreparedInputs) => void; softPrompt?: boolean }, emit: Emit, models?: OpenModels): Promise<Prepared> {
  checkThreads(options.threads, 'threads');
  const loaded = loadSpecWithOverrides(specFile, options.overrides ?? []);
  const { spec } = loaded;
  // data before the model: a typo in a data file should not wait for a download
  const started = performance.now();
  const onProgress = (r: ReadProgress) => emit({
    type: 'setup', phase: 'data', seconds: Math.round((performance.now() - started) / 1000),
    detail: `${basename(r.file)}: ${(r.bytesRead / 2 ** 20).toFixed(0)} of ${(r.totalBytes / 2 ** 20).toFixed(0)} MB, ${r.records.toLocaleString('en-US')} records`,
  });
  const train = await readSplit(loaded, 'train', { onProgress });
  const dev = spec.data.dev ? await readSplit(loaded, 'dev', { onProgress }) : undefined;
  const test = spec.data.test ? await readSplit(loaded, 'test', { onProgress }) : undefined;
  for (const s of [train, dev, test]) if (s) emit({ type: 'log', message: describeSplit(s) });
  for (const warning of inputWarnings(loaded, { train, dev, test })) emit({ type: 'log', message: warning });
  let modelFolder: string;
  try {
    modelFolder = await resolveModelFolder(options.model ?? spec.model, { baseDir: options.model ? process.cwd() : loaded.dir, revision: options.model ? undefined : spec.revision, log: (m) => emit({ type: 'log', message: m }) });
  } catch (e) {
    if (e instanceof InputError) {
      const line = loaded.lineOf(['model']);
      throw new InputError(`${loaded.file}:${line}: model: ${e.message}`, { file: loaded.file, line, field: 'model' });
    }
    throw e;
  }
  // what can be told from the model's files is said before its weights load
  const cfg = checkModelFolder(loaded, modelFolder);
  checkContextBeforeLoading(loaded, cfg, options.softPrompt ?? false);
  options.beforeModel?.({ loaded, splits: { train, dev, test }, modelFolder });
  const openOptions: OpenModelOptions & { precision: Precision } = {
    device: options.device, precision: options.precision ?? 'auto', threads: options.threads, log: (m) => emit({ type: 'log', message: m }),
    progress: (p) => emit({ type: 'setup', phase: p.phase, detail: p.detail, seconds: p.seconds }),
  };
  const lm = models ? await models.open(modelFolder, openOptions) : await openModel(modelFolder, openOptions);
  const release = () => (models ? Promise.resolve() : lm.dispose());
  try {
    return { ...prepareWithModel(loaded, lm, modelFolder, options, emit, { train, dev, test }), release };
  } catch (e) {
    await release();
    throw e;
  }
}

function prepareWithModel(loaded: LoadedSpec, lm: TunableModel, modelFolder: string, options: { device: DeviceChoice; precision?: Precision; model?: string; softPrompt?: boolean }, emit: Emit, splits: { train: Split; dev?: Split; test?: Split }): Omit<Prepared, 'release'> {
  const { spec } = loaded;
  const { train, dev, test } = splits;
  checkChatTemplates(loaded, lm.tokenizer, modelFolder);
  checkAnswerLengths(loaded, lm, splits, options.softPrompt ? spec.softPrompt.length : 0);
  const memory = planJobMemory(loaded, lm, { train, dev, test }, options.device, options.precision ?? 'auto');
  emit({ type: 'log', message: memory.detail });
  const lengths = labelLengthWarning(loaded, lm);
  if (lengths) emit({ type: 'log', message: lengths });
  const t5 = t5CheckpointWarning(loaded, { id: options.model ?? spec.model, folder: modelFolder, modelType: lm.cfg.modelType });
  if (t5) emit({ type: 'log', message: t5 });
  return { loaded, lm, modelFolder, modelId: options.model ?? spec.model, splits: { train, dev, test }, memory };
}

/**
 * A warning when label texts differ a lot in token count under summed rank scoring: a label of
 * 9 tokens scores about 9 times lower than one of 1 whatever the prompt (seen: such labels were
 * never predicted).
 */
export function labelLengthWarning(loaded: LoadedSpec, lm: TunableModel): string | null {
  const { spec } = loaded;
  if (spec.evaluation.rankScoring !== 'sum' || !lm.tokenizer || spec.data.target !== undefined) return null;
  const encoder = encoderFor(lm, spec);
  const counts = Object.entries(spec.data.verbalizer).map(([label, text]) => ({ label, tokens: encoder.targetIds(spec.data.labelSeparator + text).length }));
  const min = Math.min(...counts.map((c) => c.tokens));
  const max = Math.max(...counts.map((c) => c.tokens));
  if (max < 2 * min || max - min < 2) return null;
  return `warning: label texts have ${min} to ${max} tokens (${counts.map((c) => `${c.label} ${c.tokens}`).join(', ')}); rank classification sums log-probabilities, which favours short labels: set evaluation.rankScoring to "mean" in ${loaded.file} to compare them per token`;
}

/**
 * A warning when the model is a T5 whose names (as the user gave it, its folder, and the hub
 * cache's models--org--name folder) say neither lm-adapt nor flan: by name only, since nothing in
 * config.json tells a span-corruption checkpoint from an LM-adapted one.
 */
export function t5CheckpointWarning(loaded: LoadedSpec, model: { id: string; folder: string; modelType: string }): string | null {
  if (model.modelType !== 't5') return null;
  const names = [model.id, basename(model.folder), ...model.folder.split(sep).filter((s) => s.startsWith('models--'))];
  if (!isSpanCorruptionT5(names)) return null;
  return `warning: ${loaded.file}:${loaded.lineOf(['model'])}: model: "${model.id}" is a T5 whose name says neither lm-adapt nor flan; ${T5_CHECKPOINT_ADVICE}`;
}

/**
 * The memory plan of a job: its longest training sequence and longest evaluated prompt (k-shot
 * prompts hold their demonstrations) estimated from the longest texts, before anything is loaded.
 */
function planJobMemory(loaded: LoadedSpec, lm: TunableModel, splits: { train: Split; dev?: Split; test?: Split }, device: DeviceChoice, precision: Precision): MemoryPlan {
  const { spec } = loaded;
  const encoder = encoderFor(lm, spec);
  const longestLabel = Object.values(spec.data.verbalizer).reduce((a, b) => (b.length > a.length ? b : a), '');
  const longestTokens = (template: string, messages?: ChatMessage[]) => {
    // a template naming a field filled later (a pipeline's {stage1}) is measured without it;
    // a text target is measured with its own answer after it
    const fill = (e: Example) => {
      const answer = e.target !== undefined ? spec.data.labelSeparator + e.target : '';
      try { return (messages ? renderChatPrompt(lm.tokenizer!, chatConversation(messages, e.fields), 'memory plan') : fillTemplate(template, e.fields)) + answer; } catch { return template + answer; }
    };
    // the 32 longest texts, kept as they come: a large split's texts are never all in memory at once
    const longest: string[] = [];
    for (const s of [splits.train, splits.dev, splits.test]) {
      for (const e of s?.examples ?? []) {
        const text = fill(e);
        if (longest.length === 32 && text.length <= longest[31].length) continue;
        const at = longest.findIndex((t) => t.length < text.length);
        longest.splice(at < 0 ? longest.length : at, 0, text);
        if (longest.length > 32) longest.pop();
      }
    }
    return Math.max(1, ...longest.map((t) => encoder.withTarget(t, spec.data.labelSeparator + longestLabel, 0).ids.length));
  };
  const n = spec.softPrompt.length;
  const trainTokens = Math.min(lm.contextLength, n + longestTokens(spec.softPrompt.template, spec.softPrompt.messages));
  // a text target's outputs are generated after the prompt, as many tokens as evaluation will
  const generated = spec.data.target !== undefined ? targetGenerationLength(spec, encoder, splits.train.examples, lm.contextLength) : 0;
  const evalTokens = Math.min(lm.contextLength, generated + Math.max(trainTokens, ...spec.discretePrompts.map((d) => longestTokens(d.template ?? '', d.messages) * (1 + (d.shots ?? 0)))));
  const common = {
    batchSize: spec.training.batchSize, evalBatchSize: spec.training.evalBatchSize, tokens: trainTokens, evalTokens,
    microBatchSize: spec.training.microBatchSize, file: loaded.file,
  };
  // auto is planned as the CPU, since the plan precedes loading
  if (device === 'cpu' || device === 'auto') return planMemory(lm.cfg as ModelConfig, configParameters(lm.cfg as ModelConfig), { ...common, rowsPerPass: CPU_ROWS_PER_PASS });
  // on an NVIDIA GPU the budget is its free memory (nvidia-smi), less a tenth for the runtime's
  // own buffers; elsewhere the batch runs whole unless training.microBatchSize says otherwise
  const gpu = nvidiaGpuMemory();
  return planMemory(lm.cfg as ModelConfig, configParameters(lm.cfg as ModelConfig), gpu
    ? { ...common, budgetBytes: gpu.freeBytes * 0.9, budgetSource: `90% of the free memory of the ${gpu.name}`, halfWeights: precision !== 'fp32' }
    : { ...common, budgetBytes: Infinity, budgetSource: 'GPU memory unknown: whole batches unless training.microBatchSize says otherwise', halfWeights: precision !== 'fp32' });
}

export function baseRecord(p: Prepared, run: RunDir, device: string): Unversioned<TrainedRunRecord> {
  const { spec } = p.loaded;
  const now = new Date().toISOString();
  const { train, dev, test } = p.splits;
  const skipped = [train, dev, test].flatMap((s) => s?.skipped ?? []);
  return {
    ...(skipped.length ? { skipped } : {}),
    id: run.id, name: spec.name, specFile: p.loaded.file, spec,
    model: { id: p.modelId, folder: p.modelFolder, revision: snapshotCommit(p.modelFolder) ?? spec.revision ?? null, files: modelFileHashes(p.modelFolder) },
    dataFiles: splitHashes(p.splits),
    seed: spec.training.seed, device, status: 'running', createdAt: now, updatedAt: now,
    step: 0, steps: spec.training.steps, bestStep: null, bestDevAccuracy: null,
  };
}


/** Each split's file and sha256, as run.json records them. */
export function splitHashes(splits: { train: Split; dev?: Split; test?: Split }): NonNullable<TrainedRunRecord['dataFiles']> {
  const out: NonNullable<TrainedRunRecord['dataFiles']> = {};
  for (const s of [splits.train, splits.dev, splits.test]) if (s?.sha256) out[s.name] = { file: s.file, sha256: s.sha256 };
  return out;
}

/**
 * Refuses, before the model loads, a run whose folder could not be made: a name too long for a
 * folder (said at the spec's name line), a runs folder that is a file, read-only or not creatable.
 */
export function checkRunFolder(loaded: LoadedSpec, root: string, name: string): void {
  try {
    RunDir.checkCreatable(root, name);
  } catch (e) {
    if (!(e instanceof InputError) || e.location?.field !== 'name') throw e;
    const line = loaded.lineOf(['name']);
    throw new InputError(`${loaded.file}:${line ?? 1}: ${e.message}`, { file: loaded.file, line, field: 'name' });
  }
}

/** Model files a job reads: a folder or an unreadable file in their place is said before loading. */
const MODEL_FILES = /^(config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|.*\.safetensors|model\.safetensors\.index\.json)$/;

/**
 * The model folder's files checked readable (a permission, a folder in a file's place), and its
 * tokenizer's ids against the embedding's rows (config.json's vocab_size): a tokenizer of another
 * checkpoint would load, then crash inside the runtime on the first record holding such a token.
 * Returns the model's config.
 */
function checkModelFolder(loaded: LoadedSpec, folder: string): ModelConfig {
  const where = `${loaded.file}:${loaded.lineOf(['model']) ?? 1}: model`;
  for (const name of readdirSync(folder)) {
    if (!MODEL_FILES.test(name)) continue;
    const file = join(folder, name);
    if (statSync(file).isDirectory()) throw new InputError(`${where}: ${file}: is a folder, not a file; the model folder is damaged: re-download it`, { file });
    try {
      closeSync(openSync(file, 'r'));
    } catch (e) {
      const error = fileSystemError(e);
      if (error) throw new InputError(`${where}: ${error.message}`, { file });
      throw e;
    }
  }
  const cfg = readModelConfig(folder);
  const tokenizerFile = join(folder, 'tokenizer.json');
  if (existsSync(tokenizerFile)) {
    const highest = highestTokenId(tokenizerFile);
    if (highest && highest.id >= cfg.vocabSize) {
      throw new InputError(`${tokenizerFile}: token ${JSON.stringify(highest.token)} has id ${highest.id}, but the model's embedding has ${cfg.vocabSize} rows (vocab_size in ${join(folder, 'config.json')}), ids 0 to ${cfg.vocabSize - 1}; the tokenizer is not this checkpoint's: use the tokenizer files that came with the weights`, { file: tokenizerFile });
    }
  }
  return cfg;
}

/** The highest id a tokenizer.json gives a token (its vocabulary and its added tokens), or null where it cannot tell. */
function highestTokenId(file: string): { id: number; token: string } | null {
  let json: { model?: { vocab?: unknown }; added_tokens?: { id?: unknown; content?: unknown }[] };
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null; // the tokenizer's own loading says what is wrong with the file
  }
  let best: { id: number; token: string } | null = null;
  const offer = (id: unknown, token: unknown) => {
    if (typeof id === 'number' && Number.isInteger(id) && (!best || id > best.id)) best = { id, token: String(token) };
  };
  const vocab = json?.model?.vocab;
  // Unigram: a list of [token, score], its ids the positions; the others: token -> id
  if (Array.isArray(vocab)) { if (vocab.length) offer(vocab.length - 1, (vocab[vocab.length - 1] as unknown[])?.[0]); }
  else if (vocab && typeof vocab === 'object') for (const [token, id] of Object.entries(vocab)) offer(id, token);
  for (const t of Array.isArray(json?.added_tokens) ? json.added_tokens : []) offer(t?.id, t?.content);
  return best;
}

/**
 * The soft prompt against the model's context before anything loads: it needs room for at least
 * one input token and one answer token (a closer check, with the answers' tokens, follows loading).
 */
function checkContextBeforeLoading(loaded: LoadedSpec, cfg: ModelConfig, softPrompt: boolean): void {
  const n = loaded.spec.softPrompt.length;
  if (!softPrompt || n + 2 <= cfg.maxPositions) return;
  const line = loaded.lineOf(['softPrompt', 'length']);
  throw new InputError(`${loaded.file}:${line ?? 1}: softPrompt.length is ${n}, but the model's context holds only ${cfg.maxPositions} positions, which must take the soft prompt, the input's last token (and BOS) and the answer's tokens; shorten the soft prompt well below ${cfg.maxPositions}`, { file: loaded.file, line, field: 'softPrompt.length' });
}

/**
 * Every answer (each label's text, or each record's target) after the soft prompt and one input
 * token must fit the model's context: the input is cut from the left to fit, but an answer is never
 * cut, so a longer one would reach past the model's positions. Said with the field or record.
 */
export function checkAnswerLengths(loaded: LoadedSpec, lm: Pick<TunableModel, 'kind' | 'cfg' | 'tokenizer' | 'contextLength'>, splits: { train: Split; dev?: Split; test?: Split }, softLength: number): void {
  const { spec } = loaded;
  if (!lm.tokenizer) return;
  const ctx = lm.contextLength;
  const n = softLength;
  const encoder = encoderFor(lm, spec);
  // truncation keeps the input's last token, and its BOS where the tokenizer adds one
  const input = encoder.encode('a')[0] === lm.tokenizer.bosTokenId && lm.tokenizer.bosTokenId !== null ? 2 : 1;
  // an encoder-decoder's answer is the decoder's own text: only its input counts against the context
  const answerRoom = lm.kind === 'seq2seq' ? 0 : 1;
  const room = ctx - n - input;
  if (room < answerRoom) {
    const line = loaded.lineOf(['softPrompt', 'length']);
    throw new InputError(`${loaded.file}:${line ?? 1}: softPrompt.length is ${n}, but the model's context is ${ctx} positions, which must take the soft prompt, ${input === 2 ? 'the input\'s BOS and last token' : 'at least one input token'}${answerRoom ? ' and the answer' : ''}; use at most ${ctx - input - answerRoom}${answerRoom ? ' (less with longer answers)' : ''}`, { file: loaded.file, line, field: 'softPrompt.length' });
  }
  if (lm.kind === 'seq2seq') return;
  const soft = n > 0 ? ` with the ${n}-token soft prompt (softPrompt.length)` : '';
  const inputWords = input === 2 ? 'the input\'s BOS and last token' : 'one input token';
  const asked = spec.evaluation.maxNewTokens;
  if (asked !== undefined && asked > room && (spec.data.target !== undefined || spec.evaluation.generation)) {
    const line = loaded.lineOf(['evaluation', 'maxNewTokens']);
    throw new InputError(`${loaded.file}:${line ?? 1}: evaluation.maxNewTokens is ${asked}; after ${inputWords}${soft} the model's context of ${ctx} positions leaves room for ${room} generated tokens: lower it to ${room} or less`, { file: loaded.file, line, field: 'evaluation.maxNewTokens' });
  }
  if (spec.data.target === undefined) {
    for (const [label, text] of Object.entries(spec.data.verbalizer)) {
      const tokens = encoder.targetIds(spec.data.labelSeparator + text).length;
      if (tokens <= room) continue;
      const path = ['data', 'verbalizer', label];
      const line = loaded.lineOf(path);
      throw new InputError(`${loaded.file}:${line ?? 1}: data.verbalizer.${label} is ${tokens} tokens; after ${inputWords}${soft} the model's context of ${ctx} positions leaves room for ${room}: shorten the label's text${n > 0 ? ' or the soft prompt' : ''}`, { file: loaded.file, line, field: path.join('.') });
    }
    return;
  }
  for (const s of [splits.train, splits.dev, splits.test]) {
    for (const e of s?.examples ?? []) {
      const answer = spec.data.labelSeparator + e.target!;
      // a text of b bytes has at most b tokens (and the end of sequence): most are short enough to skip
      if (Buffer.byteLength(answer, 'utf8') + 1 <= room) continue;
      const tokens = encoder.targetIds(answer).length;
      if (tokens <= room) continue;
      throw new InputError(`${s!.file}:${e.line}: the target (data.target ${JSON.stringify(spec.data.target)}) is ${tokens} tokens with its end of sequence; after ${inputWords}${soft} the model's context of ${ctx} positions leaves room for ${room}: shorten the target${n > 0 ? ' or the soft prompt' : ''}`, { file: s!.file, line: e.line, field: 'data.target' });
    }
  }
}

/**
 * A CPU thread count as given (`--threads`, the promptTuning.threads setting): a whole number from 1
 * to the threads this machine offers. 0 would leave the choice to the runtime unasked, and a huge
 * count made the runtime allocate a pool of that many threads (gigabytes, minutes, no progress).
 */
export function checkThreads(threads: number | undefined, what = '--threads', given: string = String(threads)): number | undefined {
  if (threads === undefined) return undefined;
  const most = availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > most) {
    throw new InputError(`${what} ${given}: expected a whole number from 1 to ${most} (the CPU threads this machine offers)${threads === 0 ? '; leave it out to use them all' : ''}`);
  }
  return threads;
}

/**
 * Warnings before a job starts: spec fields that do nothing or mislead (specFieldWarnings), and
 * verbalizer labels no record of the splits uses (each one lowers macro-F1 and shifts AUC).
 */
export function inputWarnings(loaded: LoadedSpec, splits: { train: Split; dev?: Split; test?: Split }): string[] {
  const at = (path: (string | number)[]) => `${loaded.file}:${loaded.lineOf(path) ?? 1}`;
  const warnings = specFieldWarnings(loaded.spec).map((w) => `warning: ${at(w.path)}: ${w.message}`);
  const read = [splits.train, splits.dev, splits.test].filter((s): s is Split => s !== undefined);
  for (const label of Object.keys(loaded.spec.data.verbalizer)) {
    if (read.some((s) => (s.counts[label] ?? 0) > 0)) continue;
    const capped = loaded.spec.data.maxExamples !== undefined ? ` (of the first ${loaded.spec.data.maxExamples} read, data.maxExamples)` : '';
    warnings.push(`warning: ${at(['data', 'verbalizer', label])}: data.verbalizer.${label}: no record of ${read.map((s) => s.file).join(', ')}${capped} has the label "${label}"; it is scored as a class anyway, which lowers every macro-F1 and changes AUC: remove it, or add records with it`);
  }
  return warnings;
}
