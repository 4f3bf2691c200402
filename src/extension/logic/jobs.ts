// The extension's jobs: one trainer process at a time, its live state for the views, and its
// outcome. Plain Node (the VS Code layer subscribes to `onEvent`), so it is tested without VS Code.
import { EventEmitter } from 'node:events';
import type { InputLocation } from '../../common/errors.js';
import { jobSubject, type Job, type JobSummary, type TrainerEvent } from '../../common/protocol.js';
import { TrainerError, TrainerProcess, type TrainerOptions } from '../../trainer/client.js';

export interface LiveJob {
  job: Job;
  runDir: string | null;
  runId: string | null;
  step: number;
  steps: number;
  loss: [number, number][];
  devAccuracy: [number, number][];
  etaSeconds: number;
  status: 'starting' | 'running' | 'evaluating' | 'cancelling';
}

export interface JobOutcome { job: Job; summary?: JobSummary; error?: { message: string; location?: InputLocation; stderrTail?: string } }

export class JobManager {
  private emitter = new EventEmitter();
  private process: TrainerProcess | null = null;
  live: LiveJob | null = null;

  constructor(private options: Omit<TrainerOptions, 'onEvent'> = {}) {}

  get busy(): boolean { return this.process !== null; }

  onEvent(listener: (event: TrainerEvent, live: LiveJob | null) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
  onLog(listener: (line: string) => void): () => void {
    this.emitter.on('log', listener);
    return () => this.emitter.off('log', listener);
  }

  /** Runs a job to its end; rejects only if another job is running. */
  async run(job: Job, env?: NodeJS.ProcessEnv): Promise<JobOutcome> {
    if (this.process) throw new Error('a job is already running; cancel it first');
    this.live = { job, runDir: null, runId: null, step: 0, steps: 0, loss: [], devAccuracy: [], etaSeconds: 0, status: 'starting' };
    this.emitter.emit('log', `${job.kind} ${jobSubject(job)}`);
    const trainer = new TrainerProcess(job, { ...this.options, ...(env ? { env } : {}), onEvent: (e) => this.handle(e) });
    this.process = trainer;
    try {
      const summary = await trainer.done;
      return { job, summary };
    } catch (e) {
      const err = e as TrainerError;
      this.emitter.emit('log', `error: ${err.message}`);
      return { job, error: { message: err.message, location: err.location, stderrTail: err.stderrTail } };
    } finally {
      this.process = null;
      this.live = null;
      this.emitter.emit('event', { type: 'log', message: 'job ended' } satisfies TrainerEvent, null);
    }
  }

  cancel(): boolean {
    if (!this.process || !this.live) return false;
    this.live.status = 'cancelling';
    this.process.cancel();
    return true;
  }

  /** Ends the trainer at once (VS Code closing, the extension deactivating). */
  dispose(): void {
    this.process?.kill('SIGTERM');
  }

  private handle(e: TrainerEvent): void {
    const live = this.live;
    if (live) {
      switch (e.type) {
        case 'run': live.runDir = e.runDir; live.runId = e.runId; live.steps = e.steps; live.status = 'running'; break;
        case 'progress': live.step = e.step; live.steps = e.steps; live.loss.push([e.step, e.loss]); live.etaSeconds = e.etaSeconds; break;
        case 'eval': live.devAccuracy.push([e.step, e.accuracy]); break;
        case 'evalProgress': if (live.status !== 'cancelling') live.status = 'evaluating'; break;
        default: break;
      }
    }
    if (e.type === 'log') this.emitter.emit('log', e.message);
    if (e.type === 'eval') this.emitter.emit('log', `step ${e.step}: dev accuracy ${(100 * e.accuracy).toFixed(1)}%, dev NLL ${e.nll.toFixed(3)}`);
    this.emitter.emit('event', e, live);
  }
}
