// A run's folder, .ptune/runs/<run-id>/: run.json, metrics.jsonl, eval.json, predictions.jsonl
// (and inspect.json, sweep.json, scale.json where made), the soft prompt as a PEFT adapter
// (adapter_config.json + adapter_model.safetensors) and checkpoints; each file has its reader and
// writer here, typed by run-files.ts. Every write goes to a temporary file first and is then
// renamed, so a reader (or a run killed at any moment) never sees a half-written file.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileSystemError, InputError } from './errors.js';
import { encodeSafetensors, readSafetensorsHeader, readTensorF32 } from './safetensors.js';
import { AtomicFileWriter, writeFileAtomic } from './atomic-file.js';
import { readPeftAdapter, writePeftAdapter, type SoftPromptTensor } from './peft-adapter.js';
import { SCHEMA_VERSIONS, type EvalFile, type InspectReport, type MetricRow, type Prediction, type RunJsonFiles, type RunRecord, type RunStatus, type ScaleFile, type SweepFile, type TrainedRunRecord, type Unversioned } from './run-files.js';

export interface CheckpointState {
  step: number;
  prompt: Float32Array;
  optimizer: { step: number; tensors: Record<string, Float32Array> };
  training: Record<string, unknown>;
}

export function runsRootFor(specDir: string): string { return join(specDir, '.ptune', 'runs'); }

export function newRunId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${name}`;
}

/** The longest folder name most file systems take, in bytes. */
const MAX_FOLDER_NAME = 255;

/** A runs folder that cannot be made or written, said with the folder, the cause and the way out. */
function runsFolderError(root: string, e: unknown): InputError {
  const fs = fileSystemError(e);
  if (!fs) return e as InputError;
  const err = e as NodeJS.ErrnoException;
  // "could not access" says little: access(W_OK) failing means the folder cannot be written
  const message = err.syscall === 'access' ? `${root}: cannot write into the runs folder (${fs.message.slice(fs.message.lastIndexOf('(') + 1, -1)})` : fs.message;
  return new InputError(`${message}; run folders go there: choose a writable folder with --runs-dir`, { file: root });
}

/** Run names, as the spec's schema allows them. */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Removes the *.tmp files of atomic writes whose writer is gone (killed mid-write). A live writer's
 * file (the trainer's, while a panel opens the run) is left alone: its rename is still to come.
 */
function removeAbandonedTemporaries(folder: string): void {
  if (!existsSync(folder)) return;
  for (const name of readdirSync(folder)) {
    if (!name.endsWith('.tmp')) continue;
    const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && processIsAlive(pid)) continue;
    rmSync(join(folder, name), { force: true });
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How often a running run's process refreshes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/**
 * A running run whose process cannot be checked (another host, or no pid recorded) counts as
 * interrupted after this long without a heartbeat: generous, since a blocked event loop (a long
 * synchronous load) delays beats.
 */
export const HEARTBEAT_STALE_MS = 15 * 60_000;

type LivenessFields = Pick<RunRecord, 'status' | 'pid' | 'host' | 'heartbeat' | 'updatedAt'>;

/**
 * A run's status as it is now: `interrupted` where run.json says running but the process is gone
 * (its pid is not alive on this host, or, where the pid cannot be checked, its heartbeat is stale).
 * A live pid with a stale heartbeat is taken as a reused pid: the run's own process beats on a timer.
 */
export function effectiveStatus(record: LivenessFields, now = Date.now()): RunStatus {
  if (record.status !== 'running') return record.status;
  const last = Date.parse(record.heartbeat ?? record.updatedAt);
  const stale = !Number.isFinite(last) || now - last > HEARTBEAT_STALE_MS;
  if (record.pid && (!record.host || record.host === hostname())) return processIsAlive(record.pid) && !stale ? 'running' : 'interrupted';
  return stale ? 'interrupted' : 'running';
}

/** Why a run is interrupted, for run.json's error and the messages that report it. */
export function interruptionReason(record: LivenessFields): string {
  if (record.pid && (!record.host || record.host === hostname())) return `its process (pid ${record.pid}) ended before the run finished`;
  return `no heartbeat since ${record.heartbeat ?? record.updatedAt}${record.host ? ` from ${record.host}` : ''}`;
}

/**
 * The command that continues a stopped run: a prompt-tuning run resumes from its last checkpoint
 * (or from step 0 before its first); an evaluation or model-tuning run is run again.
 */
export function continueCommand(record: Pick<RunRecord, 'kind' | 'specFile' | 'evaluatedRuns'>, dir: string): string {
  const spec = record.specFile ?? 'SPEC';
  if (record.kind === 'eval') return `run it again with ptune eval ${spec}${(record.evaluatedRuns ?? []).map((r) => ` --run ${r}`).join('')}`;
  if (record.kind === 'model-tuning') return `run it again with ptune tune-model ${spec}`;
  if (record.kind) return 'run the command that made it again';
  return `resume it with ptune train ${spec} --resume ${dir}`;
}

/** Heartbeat timers of the running runs of this process, by folder. */
const heartbeats = new Map<string, NodeJS.Timeout>();

export class RunDir {
  constructor(readonly dir: string) {}

  /**
   * A new run folder. The folder is claimed by mkdir itself (which fails if the name exists), so two
   * runs started in the same second never share one.
   */
  static create(root: string, name: string): RunDir {
    RunDir.checkCreatable(root, name);
    try {
      mkdirSync(root, { recursive: true });
    } catch (e) {
      throw runsFolderError(root, e);
    }
    const id = newRunId(name);
    for (let k = 1; ; k++) {
      const dir = join(root, k === 1 ? id : `${id}-${k}`);
      try {
        mkdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw runsFolderError(root, e);
      }
      try {
        mkdirSync(join(dir, 'checkpoints'));
      } catch (e) {
        throw runsFolderError(root, e);
      }
      return new RunDir(dir);
    }
  }

  /**
   * Refuses, before any work, a run that could not get its folder: a name that is no folder name or
   * too long for one, a runs folder that is a file, or one that cannot be created or written.
   */
  static checkCreatable(root: string, name: string): void {
    // the name becomes part of a folder name: a path in it would put the run elsewhere
    if (!RUN_NAME.test(name)) throw new InputError(`name ${JSON.stringify(name)} is not a valid run name: use letters, digits, ".", "_" and "-", starting with a letter or digit (it becomes a folder in ${root})`, { file: root, field: 'name' });
    // a folder name holds at most 255 bytes; the run id adds a time stamp and, for a second run in
    // the same second, a suffix
    const longest = Buffer.byteLength(newRunId(name)) + 4;
    if (longest > MAX_FOLDER_NAME) throw new InputError(`name is ${name.length} characters: the run folder's name (${newRunId(name).slice(0, 24)}...) would be ${longest} bytes, more than a folder name may have (${MAX_FOLDER_NAME}); shorten the name to ${name.length - (longest - MAX_FOLDER_NAME)} characters or fewer`, { file: root, field: 'name' });
    // nothing is created here: a job refused later must leave no empty runs folder behind
    let existing = resolve(root);
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    if (!statSync(existing).isDirectory()) {
      throw new InputError(`${existing}: is a file, not a folder; the runs folder${existing === resolve(root) ? '' : ` ${root} would be inside it`} (--runs-dir) must be a folder`, { file: existing });
    }
    try {
      accessSync(existing, constants.W_OK);
    } catch (e) {
      throw runsFolderError(root, e);
    }
  }

  /** An existing run; temporary files a killed writer left behind are removed. */
  static open(dir: string): RunDir {
    const abs = resolve(dir);
    if (!existsSync(join(abs, 'run.json'))) throw new InputError(`${abs}: not a run folder (no run.json)`, { file: abs });
    // a run written by a newer version is refused whatever reads it next (its eval.json may be older)
    readRunJson(join(abs, 'run.json'), 'run.json');
    for (const folder of [abs, join(abs, 'checkpoints')]) removeAbandonedTemporaries(folder);
    return new RunDir(abs);
  }

  get id(): string { return basename(this.dir); }
  path(name: string): string { return join(this.dir, name); }

  has(name: string): boolean { return existsSync(this.path(name)); }

  /** Writes a JSON-object file, stamped with the schema version this code writes (whatever version it was read as). */
  private writeJson<K extends keyof RunJsonFiles>(name: K, fields: Unversioned<RunJsonFiles[K]>): RunJsonFiles[K] {
    const { schemaVersion: _, ...rest } = fields as Partial<RunJsonFiles[K]>;
    const value = { schemaVersion: SCHEMA_VERSIONS[name], ...rest } as RunJsonFiles[K];
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
    return value;
  }

  private readJson<K extends keyof RunJsonFiles>(name: K): RunJsonFiles[K] {
    return readRunJson(this.path(name), name) as RunJsonFiles[K];
  }

  readEval(): EvalFile { return this.readJson('eval.json'); }
  writeEval(fields: Unversioned<EvalFile>): EvalFile { return this.writeJson('eval.json', fields); }
  readInspect(): InspectReport { return this.readJson('inspect.json'); }
  writeInspect(fields: Unversioned<InspectReport>): InspectReport { return this.writeJson('inspect.json', fields); }
  readSweep(): SweepFile { return this.readJson('sweep.json'); }
  writeSweep(fields: Unversioned<SweepFile>): SweepFile { return this.writeJson('sweep.json', fields); }
  readScale(): ScaleFile { return this.readJson('scale.json'); }
  writeScale(fields: Unversioned<ScaleFile>): ScaleFile { return this.writeJson('scale.json', fields); }

  /** metrics.jsonl; none yet (a run before its first step) is no rows. */
  readMetrics(): MetricRow[] { return this.readJsonLines('metrics.jsonl'); }
  writeMetrics(rows: MetricRow[]): void { this.writeJsonLines('metrics.jsonl', rows); }
  /** predictions.jsonl; none yet (a run not evaluated) is no rows. */
  readPredictions(): Prediction[] { return this.readJsonLines('predictions.jsonl'); }
  /**
   * predictions.jsonl written as evaluation goes, a prompt's rows at a time (a large split's rows
   * for every prompt never sit in memory together); it appears whole at `commit`.
   */
  predictionsWriter(): { add(rows: Prediction[]): void; commit(): void; abort(): void } {
    const file = new AtomicFileWriter(this.path('predictions.jsonl'));
    return {
      add: (rows) => { for (const r of rows) file.write(`${JSON.stringify(r)}\n`); },
      commit: () => file.commit(),
      abort: () => file.abort(),
    };
  }

  /** run.json. */
  get record(): RunRecord { return this.readJson('run.json'); }
  updateRecord(change: Partial<Unversioned<RunRecord>>): RunRecord {
    return this.writeRecord({ ...this.record, ...change, updatedAt: new Date().toISOString() });
  }

  /**
   * Writes run.json. A running record is stamped with this process's pid, host and a heartbeat,
   * refreshed on a timer until this process writes another status, so others can tell a run whose
   * process is gone (effectiveStatus). `claim: false` writes a record copied from elsewhere as it
   * is: its process, if any, is not this one.
   */
  writeRecord(record: Unversioned<RunRecord>, { claim = true } = {}): RunRecord {
    if (!claim) return this.writeRunJson(record);
    const running = record.status === 'running';
    // stopped before the write: a final status that cannot be written (a full disk) must not leave
    // a heartbeat saying the run is alive; without one it reads as interrupted
    this.stopHeartbeat();
    const next = this.writeRunJson(running ? { ...record, pid: process.pid, host: hostname(), heartbeat: new Date().toISOString() } : record);
    if (running) {
      const timer = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
      // the timer never keeps a finished CLI or test process alive
      timer.unref();
      heartbeats.set(this.dir, timer);
    }
    return next;
  }

  /**
   * Marks the run failed with the message. False where run.json cannot be written (a full disk):
   * the run then reads as interrupted once this process ends, and the caller's error stands.
   */
  recordFailure(message: string): boolean {
    try {
      this.updateRecord({ status: 'failed', error: message });
      return true;
    } catch {
      this.stopHeartbeat();
      return false;
    }
  }

  /**
   * run.json. A folder whose first run.json cannot be written (a full disk) is removed if it holds
   * nothing else: a run folder without its record is no run, and only litters the runs folder.
   */
  private writeRunJson(record: Unversioned<RunRecord>): RunRecord {
    const first = !this.has('run.json');
    try {
      return this.writeJson('run.json', record);
    } catch (e) {
      if (first) this.removeIfEmpty();
      throw e;
    }
  }

  private removeIfEmpty(): void {
    try {
      const entries = readdirSync(this.dir);
      const empty = entries.every((name) => name === 'checkpoints') && (!entries.length || readdirSync(this.path('checkpoints')).length === 0);
      if (empty) rmSync(this.dir, { recursive: true, force: true });
    } catch { /* left as it is: the write's error is the one to report */ }
  }

  private stopHeartbeat(): void {
    clearInterval(heartbeats.get(this.dir));
    heartbeats.delete(this.dir);
  }

  /**
   * Refreshes the heartbeat of a run this process is running. A run another process has taken over
   * (a resume elsewhere) or that was deleted stops the timer; one marked interrupted by a reader
   * that found the heartbeat stale (this process's event loop was blocked) is running again.
   */
  private beat(): void {
    let record: RunRecord;
    try {
      record = this.record;
    } catch {
      this.stopHeartbeat();
      return;
    }
    if (record.pid !== process.pid || (record.status !== 'running' && record.status !== 'interrupted')) {
      this.stopHeartbeat();
      return;
    }
    const next: RunRecord = { ...record, status: 'running', heartbeat: new Date().toISOString() };
    if (record.status === 'interrupted') delete next.error;
    try {
      this.writeJson('run.json', next);
    } catch {
      // a disk full now may have room at the next beat; stopping would show a live run interrupted
    }
  }

  /**
   * The record with its effective status; a running run whose process is gone is rewritten as
   * interrupted first (the extension does this on finding one; the CLI only reports).
   */
  recordInterruption(): RunRecord {
    const record = this.record;
    if (record.status !== 'running' || effectiveStatus(record) === 'running') return record;
    return this.updateRecord({ status: 'interrupted', error: `${interruptionReason(record)}; resume it to continue from its last checkpoint` });
  }

  /** JSON lines, rewritten whole (atomically) so no reader sees a torn last line. */
  private writeJsonLines(name: string, rows: object[]): void {
    writeFileAtomic(this.path(name), rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  }
  private readJsonLines<T>(name: string): T[] {
    return readJsonLinesFile(this.path(name)).map((row) => row.value as T);
  }

  writeCheckpoint(file: string, state: CheckpointState): void {
    const tensors = [{ name: 'prompt', shape: [state.prompt.length], data: state.prompt }];
    for (const [k, v] of Object.entries(state.optimizer.tensors)) tensors.push({ name: `optimizer.${k}`, shape: [v.length], data: v });
    const metadata = { format: 'pt', ptune: JSON.stringify({ step: state.step, optimizerStep: state.optimizer.step, training: state.training }) };
    writeFileAtomic(this.path(join('checkpoints', file)), encodeSafetensors(tensors, metadata));
  }

  readCheckpoint(file = 'last.safetensors'): CheckpointState | null {
    const path = this.path(join('checkpoints', file));
    if (!existsSync(path)) return null;
    const header = readSafetensorsHeader(path);
    const meta = JSON.parse(header.metadata.ptune ?? '{}');
    const optimizer: Record<string, Float32Array> = {};
    let prompt: Float32Array = new Float32Array(0);
    for (const [name, entry] of header.tensors) {
      if (name === 'prompt') prompt = readTensorF32(entry);
      else if (name.startsWith('optimizer.')) optimizer[name.slice('optimizer.'.length)] = readTensorF32(entry);
    }
    return { step: meta.step, prompt, optimizer: { step: meta.optimizerStep, tensors: optimizer }, training: meta.training };
  }

  writeAdapter(prompt: SoftPromptTensor, record: Pick<TrainedRunRecord, 'spec' | 'model'>, modelInfo: { numAttentionHeads: number; numLayers: number; taskType?: 'CAUSAL_LM' | 'SEQ_2_SEQ_LM'; submodules?: number }): void {
    const init = record.spec.softPrompt.init;
    writePeftAdapter(this.dir, prompt, {
      task_type: modelInfo.taskType ?? 'CAUSAL_LM',
      base_model_name_or_path: record.model.id,
      revision: record.model.revision,
      num_transformer_submodules: modelInfo.submodules ?? 1,
      num_attention_heads: modelInfo.numAttentionHeads,
      num_layers: modelInfo.numLayers,
      prompt_tuning_init: init === 'text' ? 'TEXT' : init === 'random-uniform' ? 'RANDOM' : 'SAMPLE_VOCAB',
      prompt_tuning_init_text: init === 'text' ? (record.spec.softPrompt.initText ?? null) : null,
      tokenizer_name_or_path: init === 'text' ? record.model.id : null,
    });
  }
}

/**
 * A run file's parsed JSON with its schema version, checked to be an object of a version this code
 * knows (none written: version 1, as every file from before versions were recorded).
 */
/**
 * A run folder's JSON-object file (run.json, eval.json, ...), unchecked beyond its version: one
 * without a schema version is version 1, a newer one than this code knows is refused.
 */
export function readRunJson(file: string, name: keyof RunJsonFiles): unknown {
  if (!existsSync(file)) throw new InputError(`${file}: missing; a run folder needs it`, { file });
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`, { file });
  }
  return withKnownVersion(file, value, SCHEMA_VERSIONS[name]);
}

/** A JSON-lines file's rows with their 1-based lines (none when the file is absent); a bad line is named. */
export function readJsonLinesFile(file: string): { line: number; value: unknown }[] {
  if (!existsSync(file)) return [];
  const rows: { line: number; value: unknown }[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    if (!text.trim()) return;
    try {
      rows.push({ line: i + 1, value: JSON.parse(text) });
    } catch (e) {
      throw new InputError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`, { file, line: i + 1 });
    }
  });
  return rows;
}

export function withKnownVersion(file: string, value: unknown, known: number): { schemaVersion: number } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${file}: expected a JSON object`, { file });
  const version = 'schemaVersion' in value ? value.schemaVersion : 1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new InputError(`${file}: schemaVersion is ${JSON.stringify(version)}; expected a whole number of at least 1`, { file, field: 'schemaVersion' });
  }
  if (version > known) {
    throw new InputError(`${file}: schemaVersion ${version} is newer than this version of Prompt Tuning Studio reads (${known}); update Prompt Tuning Studio to open this run`, { file, field: 'schemaVersion' });
  }
  return { ...value, schemaVersion: version };
}

/**
 * A record of a run trained from a spec on one model, for what needs its spec and model (resuming,
 * writing its adapter); a sweep, a scale run or an imported adapter records neither.
 */
export function trainedRecord(record: RunRecord, file: string): TrainedRunRecord {
  if (record.spec && record.specFile !== null && record.model && typeof record.seed === 'number') return record as TrainedRunRecord;
  throw new InputError(`${file}: the run (kind ${record.kind ?? 'unknown'}) records no spec, model and seed of its own; only a run trained from a spec can be resumed or saved as an adapter`, { file });
}

/** A soft prompt from a run folder or a PEFT adapter folder. */
export function readSoftPromptSource(path: string, expectedDim?: number): SoftPromptTensor {
  checkSoftPromptSource(path);
  return readPeftAdapter(path, expectedDim).prompt;
}

/**
 * Refuses, before any model is loaded, a folder that holds no soft prompt to read, saying why: no
 * such folder, a run still training, stopped before writing one, of a kind that has none, or
 * completed with its adapter files since removed.
 */
export function checkSoftPromptSource(path: string): void {
  if (!existsSync(path)) throw new InputError(`${path}: no such run or adapter folder`, { file: path });
  if (!statSync(path).isDirectory()) throw new InputError(`${path}: is a file, not a run or adapter folder`, { file: path });
  const file = join(path, 'run.json');
  if (!existsSync(file)) return;
  // a run of a newer version is refused even where its adapter is there to read
  const record = readRunJson(file, 'run.json') as RunRecord;
  if (ADAPTER_FILES.every((f) => existsSync(join(path, f)))) return;
  const missing = ADAPTER_FILES.filter((f) => !existsSync(join(path, f))).join(' and ');
  const status = effectiveStatus(record);
  let why: string;
  if (record.kind && record.kind !== 'import' && record.kind !== 'model-tuning') why = `it is ${record.kind === 'eval' ? 'an evaluation' : `a ${record.kind}`} run, which has no soft prompt of its own; give a run it made or evaluated`;
  else if (record.kind === 'model-tuning') why = 'it is a model-tuning run, which tunes the weights (run/model/), not a soft prompt';
  else if (status === 'running') why = `it is still training (step ${record.step} of ${record.steps}; process ${record.pid ?? 'unknown'}); its soft prompt is written when training ends or is cancelled`;
  else if (status === 'completed') why = `it completed, but ${missing} ${missing.includes(' and ') ? 'are' : 'is'} missing from the folder (deleted or moved); export it again from a copy, or retrain it`;
  else if (status === 'interrupted') why = `it was interrupted (${interruptionReason(record)}) before writing its soft prompt; ${continueCommand(record, path)}`;
  else why = `it ended ${status}${record.error ? ` (${record.error})` : ''} at step ${record.step} before writing its soft prompt; ${continueCommand(record, path)}`;
  throw new InputError(`${path}: the run has no soft prompt: ${why}`, { file });
}

/** Identifies the model's files: hub blobs are named by their sha256; local files up to 256 MB are hashed. */
export function modelFileHashes(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(folder).sort()) {
    const file = join(folder, name);
    const st = statSync(file);
    if (!st.isFile()) continue;
    if (st.size > 256 * 1024 * 1024) {
      out[name] = `size:${st.size}`;
      continue;
    }
    const hash = createHash('sha256');
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(1 << 20);
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    out[name] = `sha256:${hash.digest('hex')}`;
  }
  return out;
}

/** The runs under a runs folder, newest first, with the runs a sweep keeps inside its own folder. */
export function listRuns(root: string): RunDir[] {
  if (!existsSync(root)) return [];
  const isRun = (dir: string) => existsSync(join(dir, 'run.json'));
  const dirs = readdirSync(root).map((d) => join(root, d)).filter(isRun);
  const nested = dirs.flatMap((dir) => readdirSync(dir).map((d) => join(dir, d)).filter(isRun));
  return [...dirs, ...nested].sort((a, b) => basename(b).localeCompare(basename(a))).map((d) => new RunDir(d));
}

/** The two files of a PEFT adapter, which a run folder holds as they are. */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

/** Writes a run's soft prompt as a PEFT adapter folder; returns the prompt that was written. */
export function exportAdapter(runDir: string, out: string): SoftPromptTensor {
  const run = RunDir.open(runDir);
  checkSoftPromptSource(run.dir);
  const { prompt } = readPeftAdapter(run.dir);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`${out}: is a file; an adapter is a folder (adapter_config.json and adapter_model.safetensors): give a folder name`, { file: out });
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw fileSystemError(e) ?? e;
  }
  for (const f of ADAPTER_FILES) writeFileAtomic(join(out, f), readFileSync(run.path(f)));
  return prompt;
}
