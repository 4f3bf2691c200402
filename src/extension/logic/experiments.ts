// What the Experiments tree shows, computed from the files: each spec, its jobs waiting in the
// queue, its runs newest first, with a status, progress and best metric.
import { resolve } from 'node:path';
import { accuracyText } from '../../common/accuracy-text.js';
import { headlineText, headlineValue, improves, metricValueText } from '../../common/metric-titles.js';
import type { Job } from '../../common/protocol.js';
import { effectiveStatus, listRuns, RunDir, runsRootFor } from '../../common/run-folder.js';
import type { EvalFile, HeadlineMetric, PromptResult, RunRecord } from '../../common/run-files.js';
import type { QueuedJob } from './jobs.js';

export interface LiveProgress { runDir: string; step: number; steps: number; loss?: number }

export interface RunNode {
  kind: 'run';
  runDir: string;
  id: string;
  status: RunRecord['status'];
  label: string;
  description: string;
  tooltip: string;
  /** For `when` clauses of context-menu actions. */
  contextValue: string;
  icon: 'pass' | 'error' | 'circle-slash' | 'sync~spin' | 'history' | 'debug-pause';
}

/** A job waiting for the running one to end. */
export interface QueuedNode { kind: 'queued'; queueId: number; label: string; description: string; tooltip: string; contextValue: 'queued' }

export interface SpecNode { kind: 'spec'; file: string; label: string; description: string; queued: QueuedNode[]; runs: RunNode[] }

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** A running run's progress, short enough to lead its row: `step 11/160, loss 0.856`. */
function progressText(step: number, steps: number, loss?: number): string {
  return `step ${step}/${steps}${loss !== undefined ? `, loss ${loss.toFixed(3)}` : ''}`;
}
const twoDigits = (n: number) => String(n).padStart(2, '0');

/**
 * A run's name, then when it started (local time, to the minute). The full id is in the tooltip.
 */
export function runLabel(record: Pick<RunRecord, 'id' | 'name' | 'createdAt'>): string {
  const started = new Date(record.createdAt);
  if (Number.isNaN(started.getTime())) return record.id;
  const when = `${twoDigits(started.getMonth() + 1)}-${twoDigits(started.getDate())} ${twoDigits(started.getHours())}:${twoDigits(started.getMinutes())}`;
  return `${record.name || record.id} ${when}`;
}

/** Where a run that did not finish stopped: `interrupted at step 10/160`. */
export function stoppedAt(status: string, record: Pick<RunRecord, 'step' | 'steps'>): string {
  return `${status} at step ${record.step}/${record.steps}`;
}

/**
 * A run's row. `evaluation`: what eval.json says of the task; a text target's row leads with its
 * headline metric ("soft exact match 41.0%"), a label task's with accuracy.
 */
export function runNode(runDir: string, record: RunRecord, results: PromptResult[] | null, live?: LiveProgress, evaluation?: Pick<EvalFile, 'task' | 'metric'>): RunNode {
  const target = evaluation?.task === 'target';
  const metric: HeadlineMetric = evaluation?.metric ?? 'exactMatch';
  // a run whose process is gone is never shown as running
  const status = effectiveStatus(record);
  let label = runLabel(record);
  let description = '';
  // what matters most leads the label, as the side bar cuts a row's end, and the description first:
  // a running run's progress, a finished run's accuracy, how a run without results ended
  if (live && live.runDir === runDir && status === 'running') {
    label = `${progressText(live.step, live.steps, live.loss)} · ${label}`;
  } else if (results && results.length && target) {
    const soft = results.filter((r) => r.kind !== 'discrete');
    const bestOf = (rs: PromptResult[]) => rs.reduce((b, r) => (improves(metric, headlineValue(r, metric), headlineValue(b, metric)) ? r : b));
    const best = bestOf(soft.length ? soft : results);
    label = `${best.id} ${headlineText(metric, headlineValue(best, metric))} · ${label}`;
    const discrete = results.filter((r) => r.kind === 'discrete');
    description = discrete.length && soft.length ? `best discrete ${metricValueText(metric, headlineValue(bestOf(discrete), metric))}` : '';
  } else if (results && results.length) {
    const soft = results.filter((r) => r.kind !== 'discrete');
    const best = [...(soft.length ? soft : results)].sort((a, b) => b.accuracy - a.accuracy)[0];
    label = `${best.id} ${pct(best.accuracy)} · ${label}`;
    const discrete = results.filter((r) => r.kind === 'discrete');
    description = discrete.length && soft.length ? `best discrete ${pct(Math.max(...discrete.map((r) => r.accuracy)))}` : '';
  } else if (status === 'running') {
    // no live progress (a run this window did not start): the step of its last checkpoint
    label = `${progressText(record.step, record.steps)} · ${label}`;
  } else if (status === 'cancelled') label = `cancelled at step ${record.step} · ${label}`;
  else if (status === 'failed') label = `failed · ${label}`;
  else if (status === 'interrupted') label = `${stoppedAt(status, record)} · ${label}`;
  else description = record.kind === 'import' ? 'imported soft prompt' : record.kind === 'scale' ? `scaling ablation over ${record.models?.length ?? 0} models` : record.kind === 'sweep' ? `sweep (${status})` : status;
  const icon = status === 'completed' ? 'pass' : status === 'failed' ? 'error' : status === 'cancelled' ? 'circle-slash' : status === 'interrupted' ? 'debug-pause' : live?.runDir === runDir ? 'sync~spin' : 'history';
  // a text target's tooltip: each prompt's headline figure, then its exact match with its interval
  const accuracies = (results ?? []).map((r) => (target
    ? `${r.id}: ${metric === 'exactMatch' ? '' : `${headlineText(metric, headlineValue(r, metric))}, `}exact match ${accuracyText(r.accuracy, r.accuracyInterval)}`
    : `${r.id}: ${accuracyText(r.accuracy, r.accuracyInterval)}`));
  // where a resume would start: the row's end, which says so too, is the first a side bar cuts
  const resumesAt = status === 'interrupted' || status === 'cancelled' ? `last checkpoint: step ${record.step} of ${record.steps}` : '';
  const tooltip = [`${record.id}`, `status: ${status}`, resumesAt, `model: ${record.model?.id ?? ''}`, `device: ${record.device}`, record.error ? `error: ${record.error}` : '', ...(accuracies.length ? [target ? 'results (95% interval of exact match):' : 'accuracy (95% interval):', ...accuracies] : [])].filter(Boolean).join('\n');
  const evaluated = results !== null || record.kind === 'scale';
  return { kind: 'run', runDir, id: record.id, status, label, description, tooltip, contextValue: `run.${status}${evaluated ? '.evaluated' : ''}`, icon };
}

export interface ResumableRun { label: string; description: string; detail: string; runDir: string }

/**
 * Runs Resume Run can take from the palette: prompt-tuning runs (no kind) of the specs' folders,
 * interrupted or cancelled, with a checkpoint to start from; newest first.
 */
export function resumableRuns(specFiles: string[]): ResumableRun[] {
  const roots = [...new Set(specFiles.map((f) => runsRootFor(resolve(f, '..'))))];
  const found = roots.flatMap((root) => listRuns(root).flatMap((run) => {
    try {
      const record = run.record;
      const status = effectiveStatus(record);
      return !record.kind && (status === 'interrupted' || status === 'cancelled') && run.has('checkpoints/last.safetensors') ? [{ run, record, status }] : [];
    } catch {
      return [];
    }
  }));
  return found.sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt))
    .map(({ run, record, status }) => ({ label: runLabel(record), description: stoppedAt(status, record), detail: run.dir, runDir: run.dir }));
}

/** The spec file a job belongs to: its own, or, for a job on a run folder, the run's. */
export function jobSpecFile(job: Job): string | null {
  if ('specFile' in job) return resolve(job.specFile);
  try {
    const specFile = new RunDir(job.runDir).record.specFile;
    return specFile ? resolve(specFile) : null;
  } catch {
    return null;
  }
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;

export function queuedNode(entry: QueuedJob, position: number): QueuedNode {
  const what = entry.job.kind === 'train' && entry.job.resume ? `resume ${entry.job.resume.split(/[\\/]/).pop()}` : entry.job.kind;
  return {
    kind: 'queued', queueId: entry.id, label: `queued: ${what}`, description: `${ordinal(position)} in the queue`,
    tooltip: `Starts when the running job${position > 1 ? ' and the jobs before it end' : ' ends'}.`, contextValue: 'queued',
  };
}

/**
 * A spec with its queued jobs and its runs. A run recorded as running whose process is gone is
 * rewritten as interrupted on the way (the extension owns its trainers; nobody else will).
 */
export function specNode(file: string, live?: LiveProgress, queue: QueuedJob[] = []): SpecNode {
  const abs = resolve(file);
  const runs = listRuns(runsRootFor(resolve(abs, '..')))
    .flatMap((run) => {
      try {
        const record = run.recordInterruption();
        if (record.specFile && resolve(record.specFile) !== abs) return [];
        const evaluation = run.has('eval.json') ? run.readEval() : null;
        return [runNode(run.dir, record, evaluation?.results ?? null, live, evaluation ?? undefined)];
      } catch {
        return [];
      }
    });
  const queued = queue.flatMap((entry, k) => (jobSpecFile(entry.job) === abs ? [queuedNode(entry, k + 1)] : []));
  const name = abs.split(/[\\/]/).pop()!.replace(/\.ptune\.json$/, '');
  const counts = [runs.length ? `${runs.length} run${runs.length > 1 ? 's' : ''}` : 'no runs yet', queued.length ? `${queued.length} queued` : ''].filter(Boolean).join(', ');
  return { kind: 'spec', file: abs, label: name, description: counts, queued, runs };
}
