// The parent's side of the trainer process: forks dist/trainer.cjs, sends the job, turns its
// messages into typed events, and turns a crash into an error carrying the last lines of stderr.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { InputLocation } from '../common/errors.js';
import { packageRoot } from '../common/paths.js';
import type { Job, JobSummary, TrainerEvent, TrainerRequest } from '../common/protocol.js';

export class TrainerError extends Error {
  constructor(message: string, readonly location?: InputLocation, readonly stderrTail?: string) {
    super(message);
    this.name = 'TrainerError';
  }
}

export interface TrainerOptions {
  /** dist/trainer.cjs by default. */
  trainerPath?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: TrainerEvent) => void;
  /** Lines of stderr kept for crash reports. */
  stderrLines?: number;
}

export class TrainerProcess {
  readonly child: ChildProcess;
  readonly done: Promise<JobSummary>;
  private stderr: string[] = [];

  constructor(job: Job, options: TrainerOptions = {}) {
    const trainerPath = options.trainerPath ?? join(packageRoot(), 'dist', 'trainer.cjs');
    const keep = options.stderrLines ?? 40;
    this.child = fork(trainerPath, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: options.env ?? process.env, execArgv: [] });
    let partial = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      this.stderr.push(...lines);
      if (this.stderr.length > keep) this.stderr.splice(0, this.stderr.length - keep);
    });
    this.child.stdout!.resume();
    this.done = new Promise<JobSummary>((resolve, reject) => {
      let settled = false;
      this.child.on('message', (event: TrainerEvent) => {
        options.onEvent?.(event);
        if (event.type === 'ready') this.request({ type: 'start', job });
        else if (event.type === 'done') { settled = true; resolve(event.summary); }
        else if (event.type === 'error') { settled = true; reject(new TrainerError(event.message, event.location, this.stderrTail())); }
      });
      this.child.on('error', (e) => { if (!settled) { settled = true; reject(new TrainerError(`the trainer could not start: ${e.message}`, undefined, this.stderrTail())); } });
      this.child.on('exit', (code, signal) => {
        if (settled) return;
        settled = true;
        if (partial) this.stderr.push(partial);
        const tail = this.stderrTail();
        reject(new TrainerError(`the trainer stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `; its last output:\n${tail}` : ''}`, undefined, tail));
      });
    });
  }

  stderrTail(): string { return this.stderr.filter((l) => l.trim()).join('\n'); }

  private request(message: TrainerRequest): void {
    if (this.child.connected) this.child.send(message);
  }

  /** The step in flight ends, a checkpoint is written, the run is marked cancelled. */
  cancel(): void { this.request({ type: 'cancel' }); }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void { this.child.kill(signal); }
}
