// ptune train / eval / demo / compare (a table, or two runs as a diff) / export-peft / import-peft.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../common/errors.js';
import { openModel } from '../models/load.js';
import { resolveModelFolder } from '../models/model-folder.js';
import { packageRoot } from '../common/paths.js';
import { setupMessage, type Job, type JobSummary, type TrainerEvent } from '../common/protocol.js';
import { exportAdapter, readSoftPromptSource, runsRootFor } from '../common/run-folder.js';
import { computeRunDiff, formatRunDiff, type RunDiffPrompts } from '../common/run-diff.js';
import { readSplit } from '../common/data.js';
import { Evaluator } from '../tuning/evaluate/evaluate.js';
import { evaluateMixed, type MixedTask } from '../tuning/evaluate/mixed.js';
import { comparisonRows, formatComparison } from '../tuning/reports/compare.js';
import { runJob } from '../tuning/jobs/index.js';
import { importAdapter } from '../tuning/jobs/import.js';
import { runScale } from '../tuning/jobs/scale.js';
import { loadSpec } from '../common/spec.js';
import { parseDevice, parsePrecision, parseThreads } from './options.js';
import { FAIL_UNDER_EXIT, parseThreshold, thresholdFailures } from './fail-under.js';
import { onStopSignals } from '../tuning/jobs/stop-signals.js';

/** Terminal output for job events: a progress bar on a TTY, plain lines otherwise. */
/**
 * Events as the terminal shows them: a bar on a terminal; in a log (stderr piped), one line per 25
 * steps and, while a long evaluation runs, one line every `everyMs` so it never looks hung.
 */
export function terminalReporter(json: boolean, options: { tty?: boolean; everyMs?: number; write?: (text: string) => void; now?: () => number } = {}): (e: TrainerEvent) => void {
  const tty = (options.tty ?? process.stderr.isTTY) && !json;
  const everyMs = options.everyMs ?? 30_000;
  const now = options.now ?? (() => Date.now());
  const write = options.write ?? ((text: string) => { process.stderr.write(text); });
  let lastEvalLine = now();
  let barShown = false;
  const clearBar = () => {
    if (barShown) write('\r\x1b[K');
    barShown = false;
  };
  return (e) => {
    switch (e.type) {
      case 'log': clearBar(); write(`${e.message}\n`); break;
      case 'run': clearBar(); write(`run folder: ${e.runDir}\n`); break;
      case 'progress': {
        const line = `step ${e.step}/${e.steps}  loss ${e.loss.toFixed(4)}  lr ${e.learningRate.toPrecision(3)}  ${e.examplesPerSecond >= 10 ? e.examplesPerSecond.toFixed(0) : e.examplesPerSecond.toPrecision(2)} ex/s  ETA ${Math.round(e.etaSeconds)}s`;
        if (tty) {
          const width = 24;
          const filled = Math.round((width * e.step) / e.steps);
          write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}`);
          barShown = true;
        } else if (!json && (e.step % 25 === 0 || e.step === e.steps)) write(`${line}\n`);
        break;
      }
      case 'eval': {
        clearBar();
        // a text target leads with its headline metric (exact match is its accuracy)
        // led by the NLL, a text target generates nothing during training: no exact match to show
        const headline = e.metric && !['exactMatch', 'nll'].includes(e.metric.name) ? `  dev ${e.metric.name} ${e.metric.value === null ? '-' : `${(100 * e.metric.value).toFixed(1)}%`}` : '';
        const accuracy = e.metric?.name === 'nll' ? '' : `dev ${e.metric ? 'exact match' : 'accuracy'} ${(100 * e.accuracy).toFixed(1)}%${headline}  `;
        write(`step ${e.step}: ${accuracy}dev NLL${e.metric ? '/token' : ''} ${e.nll.toFixed(3)}${e.best ? '  (best so far)' : ''}\n`);
        break;
      }
      case 'setup':
        if (tty) { write(`\r\x1b[K${setupMessage(e)}`); barShown = true; }
        else if (!json && (e.detail !== undefined || (e.seconds ?? 0) % 10 === 0)) write(`${setupMessage(e)}\n`);
        break;
      case 'evalProgress':
        if (tty) { write(`\r\x1b[Kevaluating ${e.promptId}: ${e.done}/${e.total}`); barShown = true; }
        else if (!json && now() - lastEvalLine >= everyMs) {
          lastEvalLine = now();
          write(`evaluating ${e.promptId}: ${e.done}/${e.total}\n`);
        }
        break;
      default: break;
    }
  };
}

/**
 * Runs a job that Ctrl-C, SIGTERM or SIGHUP cancels after its current step (a second one stops it
 * at once). With --json, a job that fails after its run folder exists still ends with its JSON line
 * (status failed, and the error), as run.json records it.
 */
async function runWithSignals(job: Job, json: boolean): Promise<JobSummary> {
  const controller = new AbortController();
  const stop = onStopSignals((signal) => {
    process.stderr.write(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling after the current step (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to stop at once)\n`);
    controller.abort();
  });
  const report = terminalReporter(json);
  let runDir: string | undefined;
  try {
    return await runJob(job, (e) => { if (e.type === 'run') runDir = e.runDir; report(e); }, controller.signal);
  } catch (e) {
    if (json && runDir) process.stdout.write(`${JSON.stringify({ runDir, split: null, status: 'failed', error: (e as Error).message, results: [] })}\n`);
    throw e;
  } finally {
    stop();
  }
}

function printSummary(summary: JobSummary, json: boolean): void {
  if (json) {
    const task = summary.task ? { task: summary.task, metric: summary.metric } : {};
    process.stdout.write(`${JSON.stringify({ runDir: summary.runDir, split: summary.split, status: summary.status, ...task, results: summary.results })}\n`);
    return;
  }
  if (summary.status === 'completed') {
    process.stdout.write(`\n${summary.split} results:\n${formatComparison(comparisonRows([summary.runDir]), 'md')}`);
  }
  process.stdout.write(`\nrun (${summary.status}): ${summary.runDir}\n`);
}

export async function jobCommand(kind: 'train' | 'eval' | 'model-tune', argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      device: { type: 'string' }, precision: { type: 'string' }, json: { type: 'boolean' }, resume: { type: 'string' }, 'runs-dir': { type: 'string' }, run: { type: 'string', multiple: true }, threads: { type: 'string' },
      seed: { type: 'string' }, steps: { type: 'string' }, length: { type: 'string' }, set: { type: 'string', multiple: true },
      'fail-under': { type: 'string', multiple: true }, force: { type: 'boolean' },
    },
  });
  // read before the job runs: a typo should not wait for training
  const thresholds = (values['fail-under'] ?? []).map(parseThreshold);
  if (thresholds.length && kind === 'model-tune') throw new InputError('tune-model: --fail-under is an option of train and eval');
  if (positionals.length !== 1) throw new InputError(`${kind}: give one spec file (*.ptune.json)`);
  const base = { specFile: resolve(positionals[0]), device: parseDevice(values.device), precision: parsePrecision(values.precision), runsDir: values['runs-dir'] ? resolve(values['runs-dir']) : undefined, threads: parseThreads(values.threads) };
  const overrides = [
    ...(values.set ?? []),
    ...(values.seed !== undefined ? [`training.seed=${values.seed}`] : []),
    ...(values.steps !== undefined ? [`training.steps=${values.steps}`] : []),
    ...(values.length !== undefined ? [`softPrompt.length=${values.length}`] : []),
  ];
  if (overrides.length && kind !== 'train') throw new InputError(`${kind}: --seed, --steps, --length and --set are options of train`);
  if (values.force && (kind !== 'train' || !values.resume)) throw new InputError(`${kind}: --force is an option of train --resume (to go on although the data or the model's files changed)`);
  const job: Job = kind === 'train'
    ? { kind, ...base, resume: values.resume ? resolve(values.resume) : undefined, ...(values.force ? { force: true } : {}), ...(overrides.length ? { overrides } : {}) }
    : kind === 'eval' ? { kind, ...base, runs: (values.run ?? []).map((r) => resolve(r)) } : { kind, ...base };
  const summary = await runWithSignals(job, values.json ?? false);
  printSummary(summary, values.json ?? false);
  if (summary.status === 'cancelled') process.exitCode = 130;
  if (summary.status !== 'completed') return;
  const failures = thresholdFailures(summary.results, thresholds);
  if (failures.length) {
    process.stderr.write(`${failures.map((f) => `below threshold: ${f}`).join('\n')}\n`);
    process.exitCode = FAIL_UNDER_EXIT;
  }
}

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { device: { type: 'string' }, json: { type: 'boolean' } } });
  const spec = join(packageRoot(), 'examples', 'mood', 'mood.ptune.json');
  process.stderr.write(`Prompt Tuning Studio demo: learning a 20-token soft prompt for the bundled stories260K model\non a task of its own domain (is a short story happy or sad?), then comparing it with three\ndiscrete prompts on the held-out test split. Spec: ${spec}\n\n`);
  const started = Date.now();
  const summary = await runWithSignals({ kind: 'train', specFile: spec, device: parseDevice(values.device), runsDir: runsRootFor(process.cwd()) }, values.json ?? false);
  printSummary(summary, values.json ?? false);
  if (!values.json) process.stdout.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

export async function compare(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string' }, diff: { type: 'boolean' }, prompt: { type: 'string' }, prompts: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.diff) return compareAsDiff(positionals, values);
  if (values.prompt !== undefined || values.prompts !== undefined || values.json) throw new InputError('compare: --prompt, --prompts and --json are options of --diff (the table takes --format)');
  const format = (values.format ?? 'md') as 'md' | 'csv' | 'json';
  if (!['md', 'csv', 'json'].includes(format)) throw new InputError(`--format ${values.format}: expected md, csv or json`);
  if (positionals.length === 0) throw new InputError('compare: give one or more run folders');
  process.stdout.write(formatComparison(comparisonRows(positionals.map((p) => resolve(p))), format));
}

/** ptune compare A B --diff: one prompt of run B against one of run A on the same examples. */
function compareAsDiff(positionals: string[], values: { format?: string; prompt?: string; prompts?: string; json?: boolean }): void {
  if (positionals.length !== 2) throw new InputError(`compare --diff: give exactly two run folders, A then B (got ${positionals.length})`);
  if (values.format !== undefined) throw new InputError('compare --diff: --format is an option of the table; use --json for the diff as JSON');
  if (values.prompt !== undefined && values.prompts !== undefined) throw new InputError('compare --diff: give --prompt ID (the same prompt in both runs) or --prompts IDA,IDB, not both');
  let prompts: RunDiffPrompts = {};
  if (values.prompt !== undefined) prompts = { a: values.prompt, b: values.prompt };
  if (values.prompts !== undefined) {
    const ids = values.prompts.split(',').map((id) => id.trim());
    if (ids.length !== 2 || ids.some((id) => !id)) throw new InputError(`--prompts ${values.prompts}: expected two prompt ids, IDA,IDB`);
    prompts = { a: ids[0], b: ids[1] };
  }
  const diff = computeRunDiff(resolve(positionals[0]), resolve(positionals[1]), prompts);
  process.stdout.write(values.json ? `${JSON.stringify(diff, null, 2)}\n` : formatRunDiff(diff));
}

export async function exportPeft(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new InputError('export-peft: give a run folder and an output folder');
  const out = resolve(positionals[1]);
  exportAdapter(positionals[0], out);
  process.stdout.write(`${out}\n`);
}

export async function importPeft(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { spec: { type: 'string' }, model: { type: 'string' }, name: { type: 'string' }, 'runs-dir': { type: 'string' } } });
  if (positionals.length !== 1) throw new InputError('import-peft: give one adapter folder');
  const adapter = resolve(positionals[0]);
  let modelFolder: string;
  let runsDir = values['runs-dir'] ? resolve(values['runs-dir']) : runsRootFor(process.cwd());
  if (values.spec) {
    const loaded = loadSpec(values.spec);
    modelFolder = await resolveModelFolder(loaded.spec.model, { baseDir: loaded.dir, revision: loaded.spec.revision });
    if (!values['runs-dir']) runsDir = runsRootFor(loaded.dir);
  } else if (values.model) modelFolder = await resolveModelFolder(values.model);
  else throw new InputError('import-peft: give --spec or --model, so the soft prompt can be checked against the model');
  const { run, length, dim } = importAdapter(adapter, { modelFolder, runsDir, name: values.name, specFile: values.spec ? resolve(values.spec) : undefined });
  process.stdout.write(`imported ${length} virtual tokens x ${dim} as ${run.dir}\n`);
}

export async function scale(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { models: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' }, 'runs-dir': { type: 'string' }, 'no-model-tuning': { type: 'boolean' } } });
  if (positionals.length !== 1) throw new InputError('scale: give one spec file');
  const models = (values.models ?? '').split(',').map((m) => m.trim()).filter(Boolean).map((m) => (existsSync(m) ? resolve(m) : m));
  const controller = new AbortController();
  const stop = onStopSignals(() => controller.abort());
  const result = await runScale(resolve(positionals[0]), models, { device: parseDevice(values.device), runsDir: values['runs-dir'] ? resolve(values['runs-dir']) : undefined, modelTuning: !values['no-model-tuning'] }, terminalReporter(values.json ?? false), controller.signal).finally(stop);
  if (result.status === 'cancelled') process.exitCode = 130;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runDir: result.runDir, status: result.status, points: result.points })}\n`);
    return;
  }
  if (result.status === 'cancelled') {
    process.stdout.write(`\ncancelled in ${result.runDir}; ${result.points.length} of ${models.length} models finished\n`);
    return;
  }
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(1)}%`);
  process.stdout.write(`\n| model | parameters | prompt design | prompt tuning | model tuning |\n|---|---:|---:|---:|---:|\n`);
  for (const p of result.points) process.stdout.write(`| ${p.model} | ${p.params.toLocaleString('en-US')} | ${pct(p.promptDesign)} | ${pct(p.promptTuning)} | ${pct(p.modelTuning)} |\n`);
  process.stdout.write(`\nchart: ${join(result.runDir, 'scale.svg')}\n`);
}

/** `ptune eval-mixed --task SPEC=RUN ...`: several tasks' soft prompts scored in shared batches. */
export async function evalMixed(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { task: { type: 'string', multiple: true }, device: { type: 'string' }, json: { type: 'boolean' } } });
  const pairs = (values.task ?? []).map((t) => {
    const i = t.lastIndexOf('=');
    if (i < 0) throw new InputError(`--task ${t}: expected SPEC=RUN_DIR`);
    return { spec: resolve(t.slice(0, i)), run: resolve(t.slice(i + 1)) };
  });
  if (pairs.length < 2) throw new InputError('eval-mixed: give two or more --task SPEC=RUN_DIR');
  const specs = pairs.map((p) => loadSpec(p.spec));
  const text = specs.find((s) => s.spec.data.target !== undefined);
  if (text) throw new InputError(`${text.file}: eval-mixed scores label tasks in shared batches; this spec is a text-target task (data.target): evaluate it with ptune eval`, { file: text.file, field: 'data.target' });
  const folders = await Promise.all(specs.map((s) => resolveModelFolder(s.spec.model, { baseDir: s.dir, revision: s.spec.revision })));
  if (new Set(folders).size > 1) throw new InputError(`eval-mixed: the tasks use different models (${[...new Set(folders)].join(', ')}); mixed batches serve one frozen model`);
  const lm = await openModel(folders[0], { device: parseDevice(values.device) });
  try {
    const tasks: MixedTask[] = [];
    for (const [k, loaded] of specs.entries()) {
      const split = await readSplit(loaded, loaded.spec.data.test ? 'test' : 'dev');
      tasks.push({ id: loaded.spec.name, evaluator: new Evaluator(lm, loaded.spec), split, prompt: readSoftPromptSource(pairs[k].run, lm.cfg.hiddenSize) });
    }
    const { results, seconds } = await evaluateMixed(lm, tasks, specs[0].spec.training.evalBatchSize);
    const rows = results.map((r, k) => ({ task: r.task, spec: pairs[k].spec, run: pairs[k].run, split: tasks[k].split.name, accuracy: r.result.accuracy, macroF1: r.result.macroF1, nll: r.result.nll }));
    if (values.json) process.stdout.write(`${JSON.stringify({ tasks: rows, seconds })}\n`);
    else for (const r of rows) process.stdout.write(`${r.task} (${r.split}): accuracy ${(100 * r.accuracy).toFixed(1)}%, macro-F1 ${r.macroF1.toFixed(3)}, NLL ${r.nll.toFixed(3)}\n`);
  } finally {
    await lm.dispose();
  }
}
