// The extension's jobs: one trainer process at a time, the jobs waiting for it (first in, first
// out, in memory only), its live state for the views, and its outcome. Plain Node (the VS Code layer
// subscribes to `onEvent` and `onQueueChange`), so it is tested without VS Code.
import { EventEmitter } from 'node:events';
import type { InputLocation } from '../../common/errors.js';
import { headlineValue, metricTitle, metricValueText } from '../../common/metric-titles.js';
import { jobSubject, type Job, type JobSummary, type TrainerEvent } from '../../common/protocol.js';
import type { HeadlineMetric } from '../../common/run-files.js';
import { TrainerError, TrainerProcess, type TrainerOptions } from '../../trainer/client.js';

export interface LiveJob {
  job: Job;
  runDir: string | null;
  runId: string | null;
  step: number;
  steps: number;
  loss: [number, number][];
  /** The dev figure by step: accuracy, or a text target's headline metric (devMetric names it). */
  devAccuracy: [number, number][];
  devMetric?: HeadlineMetric;
  etaSeconds: number;
  status: 'starting' | 'running' | 'evaluating' | 'cancelling';
}

/** `removed`: taken out of the queue before it started. */
export interface JobOutcome { job: Job; summary?: JobSummary; error?: { message: string; location?: InputLocation; stderrTail?: string }; removed?: true }

export interface QueuedJob { id: number; job: Job }

/** The job that ended last, as the Run view shows it until the next one starts: its curves and how it ended. */
export interface FinishedJob { live: LiveJob; outcome: JobOutcome }

/**
 * One line for how a job ended: each prompt's accuracy (a text target's exact match: its rows carry
 * token F1, which a label task's never do), the run's status, or the error's first line.
 */
export function outcomeLine(outcome: JobOutcome): string {
  if (outcome.error) return `failed: ${outcome.error.message.split('\n')[0]}`;
  const s = outcome.summary;
  if (!s) return 'removed from the queue';
  if (s.status !== 'completed') return s.status;
  // a text target's rows carry token F1, which a label task's never do (a summary before task was recorded)
  const target = s.task === 'target' || s.results.some((r) => r.tokenF1 !== undefined);
  return resultsLine(s.split, s.results, target ? s.metric ?? 'exactMatch' : undefined);
}

/**
 * A completed job's accuracy per prompt on its split ("test: zero-shot 66.7%, soft 93.3%"), or a
 * text target's headline metric, named once ("test, exact match: zero-shot 30.0%, soft 41.0%");
 * just `completed` where it evaluated none.
 */
export function resultsLine(split: string, results: (Parameters<typeof headlineValue>[0] & { id: string })[], metric?: HeadlineMetric): string {
  if (results.length === 0) return 'completed';
  if (metric) return `${split}, ${metricTitle(metric)}: ${results.map((r) => `${r.id} ${metricValueText(metric, headlineValue(r, metric)) || 'n/a'}`).join(', ')}`;
  return `${split}: ${results.map((r) => `${r.id} ${(100 * r.accuracy).toFixed(1)}%`).join(', ')}`;
}

/** A submitted job: whether it had to wait, when it starts (false: removed first), how it ends. */
export interface JobTicket { id: number; queued: boolean; started: Promise<boolean>; outcome: Promise<JobOutcome> }

interface Waiting extends QueuedJob { env?: NodeJS.ProcessEnv; start: (started: boolean) => void; finish: (outcome: JobOutcome) => void }

export class JobManager {
  private emitter = new EventEmitter();
  private process: TrainerProcess | null = null;
  private waiting: Waiting[] = [];
  private lastId = 0;
  live: LiveJob | null = null;
  lastFinished: FinishedJob | null = null;

  constructor(private options: Omit<TrainerOptions, 'onEvent'> = {}) {}

  get busy(): boolean { return this.process !== null; }

  /** The jobs waiting, in the order they will run. */
  get queued(): QueuedJob[] { return this.waiting.map(({ id, job }) => ({ id, job })); }

  onEvent(listener: (event: TrainerEvent, live: LiveJob | null) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
  onLog(listener: (line: string) => void): () => void {
    this.emitter.on('log', listener);
    return () => this.emitter.off('log', listener);
  }
  onQueueChange(listener: (queued: QueuedJob[]) => void): () => void {
    this.emitter.on('queue', listener);
    return () => this.emitter.off('queue', listener);
  }

  /** Runs a job to its end, after the jobs before it. */
  run(job: Job, env?: NodeJS.ProcessEnv): Promise<JobOutcome> { return this.submit(job, env).outcome; }

  /** Starts a job now, or queues it behind the running job and the jobs already waiting. */
  submit(job: Job, env?: NodeJS.ProcessEnv): JobTicket {
    const id = ++this.lastId;
    let start!: (started: boolean) => void;
    let finish!: (outcome: JobOutcome) => void;
    const started = new Promise<boolean>((resolve) => { start = resolve; });
    const outcome = new Promise<JobOutcome>((resolve) => { finish = resolve; });
    const entry = { id, job, env, start, finish };
    const queued = this.busy || this.waiting.length > 0;
    if (queued) {
      this.waiting.push(entry);
      this.emitter.emit('log', `queued: ${job.kind} ${jobSubject(job)}`);
      this.emitter.emit('queue', this.queued);
    } else this.launch(entry);
    return { id, queued, started, outcome };
  }

  /** Takes a waiting job out of the queue; false if it is not waiting (it started, or ended). */
  removeQueued(id: number): boolean {
    const k = this.waiting.findIndex((w) => w.id === id);
    if (k < 0) return false;
    const [entry] = this.waiting.splice(k, 1);
    this.emitter.emit('log', `removed from the queue: ${entry.job.kind} ${jobSubject(entry.job)}`);
    this.emitter.emit('queue', this.queued);
    entry.start(false);
    entry.finish({ job: entry.job, removed: true });
    return true;
  }

  private startNext(): void {
    if (this.process) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.emitter.emit('queue', this.queued);
    this.launch(next);
  }

  private launch(next: Waiting): void {
    next.start(true);
    // execute catches every failure into the outcome; the next job starts once this one's is delivered
    void this.execute(next.job, next.env).then((outcome) => {
      next.finish(outcome);
      this.startNext();
    });
  }

  private async execute(job: Job, env?: NodeJS.ProcessEnv): Promise<JobOutcome> {
    const live: LiveJob = { job, runDir: null, runId: null, step: 0, steps: 0, loss: [], devAccuracy: [], etaSeconds: 0, status: 'starting' };
    this.live = live;
    this.emitter.emit('log', `${job.kind} ${jobSubject(job)}`);
    let outcome: JobOutcome = { job };
    try {
      const trainer = new TrainerProcess(job, { ...this.options, ...(env ? { env } : {}), onEvent: (e) => this.handle(e) });
      this.process = trainer;
      outcome = { job, summary: await trainer.done };
      return outcome;
    } catch (e) {
      const err = e as TrainerError;
      this.emitter.emit('log', `error: ${err.message}`);
      outcome = { job, error: { message: err.message, location: err.location, stderrTail: err.stderrTail } };
      return outcome;
    } finally {
      this.process = null;
      this.live = null;
      this.lastFinished = { live, outcome };
      this.emitter.emit('event', { type: 'log', message: 'job ended' } satisfies TrainerEvent, null);
    }
  }

  cancel(): boolean {
    if (!this.process || !this.live) return false;
    this.live.status = 'cancelling';
    this.process.cancel();
    return true;
  }

  /** Ends the trainer at once and drops the queue (VS Code closing, the extension deactivating). */
  dispose(): void {
    for (const w of [...this.waiting]) this.removeQueued(w.id);
    // SIGKILL: SIGTERM now cancels after the current step, which a closing window cannot wait for;
    // the run stays 'running' and is found interrupted, resumable from its last checkpoint
    this.process?.kill('SIGKILL');
  }

  private handle(e: TrainerEvent): void {
    const live = this.live;
    if (live) {
      switch (e.type) {
        case 'run': live.runDir = e.runDir; live.runId = e.runId; live.steps = e.steps; live.status = 'running'; break;
        case 'progress': live.step = e.step; live.steps = e.steps; live.loss.push([e.step, e.loss]); live.etaSeconds = e.etaSeconds; break;
        case 'eval':
          // a text target's curve is its headline metric (a step without its value leaves a gap)
          if (e.metric) {
            live.devMetric = e.metric.name;
            if (e.metric.value !== null) live.devAccuracy.push([e.step, e.metric.value]);
          } else live.devAccuracy.push([e.step, e.accuracy]);
          break;
        case 'evalProgress': if (live.status !== 'cancelling') live.status = 'evaluating'; break;
        default: break;
      }
    }
    if (e.type === 'log') this.emitter.emit('log', e.message);
    if (e.type === 'eval') {
      const figure = e.metric && e.metric.name !== 'exactMatch' ? `dev ${metricTitle(e.metric.name)} ${metricValueText(e.metric.name, e.metric.value) || 'n/a'}, ` : '';
      this.emitter.emit('log', e.metric
        ? `step ${e.step}: ${figure}dev exact match ${(100 * e.accuracy).toFixed(1)}%, dev NLL/token ${e.nll.toFixed(3)}`
        : `step ${e.step}: dev accuracy ${(100 * e.accuracy).toFixed(1)}%, dev NLL ${e.nll.toFixed(3)}`);
    }
    this.emitter.emit('event', e, live);
  }
}
