// Messages between the extension host (or any parent), the trainer process and the webviews.
// One discriminated union per direction, so every handler is checked by the compiler.
import type { InputLocation } from './models/errors.js';

export type DeviceName = 'auto' | 'cpu' | 'webgpu' | 'cuda';

export type Job =
  | { kind: 'train'; specFile: string; device: DeviceName; threads?: number; runsDir?: string; resume?: string }
  | { kind: 'eval'; specFile: string; device: DeviceName; threads?: number; runsDir?: string; runs: string[] };

export interface ResultRow { id: string; kind: 'discrete' | 'soft' | 'ensemble'; accuracy: number; macroF1: number; nll: number }

export interface JobSummary {
  runDir: string;
  split: 'test' | 'dev';
  status: 'completed' | 'cancelled' | 'failed';
  results: ResultRow[];
}

/** Parent -> trainer. */
export type TrainerRequest =
  | { type: 'start'; job: Job }
  | { type: 'cancel' };

/** Trainer -> parent. */
export type TrainerEvent =
  | { type: 'ready'; pid: number }
  | { type: 'log'; message: string }
  | { type: 'run'; runDir: string; runId: string; steps: number }
  | { type: 'progress'; step: number; steps: number; loss: number; learningRate: number; examplesPerSecond: number; etaSeconds: number }
  | { type: 'eval'; step: number; split: 'dev'; accuracy: number; nll: number; macroF1: number; best: boolean }
  | { type: 'evalProgress'; promptId: string; done: number; total: number }
  | { type: 'checkpoint'; step: number; file: string }
  | { type: 'done'; summary: JobSummary }
  | { type: 'error'; message: string; location?: InputLocation; stderrTail?: string };
