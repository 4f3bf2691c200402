// Messages between the extension host (or any parent), the trainer process and the webviews.
// One discriminated union per direction, so every handler is checked by the compiler.
import type { InputLocation } from './errors.js';
import type { RenderedPrompt } from './prompt-render.js';
import type { AssertionResult, ClassMetrics, HeadlineMetric, InspectReport, PromptKind, TaskKind, TextMetricName } from './run-files.js';

export type DeviceName = 'auto' | 'cpu' | 'webgpu' | 'cuda';
/** Products in half precision: fp16, or auto (fp16 on a GPU, fp32 on the CPU). */
export type PrecisionName = 'auto' | 'fp32' | 'fp16';

export type Job =
  /** overrides: `path=value` changes to the spec (recorded in run.json); runName: the run folder's name in place of the spec's. */
  | { kind: 'train'; specFile: string; device: DeviceName; precision?: PrecisionName; threads?: number; runsDir?: string; resume?: string; model?: string; overrides?: string[]; runName?: string; /** With resume: go on although the data or the model's files changed (run.json records it). */ force?: boolean }
  | { kind: 'eval'; specFile: string; device: DeviceName; precision?: PrecisionName; threads?: number; runsDir?: string; runs: string[] }
  | { kind: 'model-tune'; specFile: string; device: DeviceName; precision?: PrecisionName; threads?: number; runsDir?: string; model?: string }
  | { kind: 'scale'; specFile: string; device: DeviceName; precision?: PrecisionName; threads?: number; runsDir?: string; models: string[]; modelTuning: boolean }
  /** One train run per point of the axes' grid and per seed; overrides apply to every run. */
  | { kind: 'sweep'; specFile: string; device: DeviceName; precision?: PrecisionName; threads?: number; runsDir?: string; axes: SweepAxis[]; seeds: number; overrides?: string[] }
  /** A PEFT PROMPT_TUNING adapter in as a run, checked against the spec's model (which may need a download). */
  | { kind: 'import-adapter'; specFile: string; device: DeviceName; adapterDir: string; runsDir?: string; name?: string }
  /** A run's soft prompt against the model's vocabulary (inspect.json in the run folder); reads embeddings only, so no device. */
  | { kind: 'inspect'; runDir: string; top?: number }
  /** The spec as an Accelerate job folder (train.py, job.json, the initial prompt); reads the model's tokenizer and embeddings, so no device. */
  | { kind: 'export-job'; specFile: string; outDir: string; model?: string };

/** What a job works on, for log lines: its spec file, or the run it inspects. */
export function jobSubject(job: Job): string {
  return job.kind === 'inspect' ? job.runDir : job.kind === 'export-job' ? `${job.specFile} to ${job.outDir}` : `${job.specFile} on ${job.device}`;
}

/** A spec field (dotted path) and the values a sweep gives it, as they would be written after `=`. */
export interface SweepAxis { path: string; values: string[] }

/**
 * One prompt's result in a job's summary (the `--json` line's results[]). nll: null for a row that
 * scored no label (a pipeline's stage one alone); per token for a text target. macroF1: label tasks
 * only; exactMatch (= accuracy), tokenF1, chrF, rougeL and passRate (with assertions): text targets.
 * promptTokens, outputTokens and msPerExample: what the prompt costs, for every task.
 */
export interface ResultRow {
  id: string; kind: PromptKind; accuracy: number; macroF1?: number; nll: number | null;
  exactMatch?: number; tokenF1?: number; chrF?: number; rougeL?: number; passRate?: number;
  promptTokens?: number; outputTokens?: number; msPerExample?: number;
}

export interface JobSummary {
  runDir: string;
  split: 'test' | 'dev';
  status: 'completed' | 'cancelled' | 'failed';
  results: ResultRow[];
  /** An evaluated job's task and headline metric (absent: a label task led by accuracy). */
  task?: TaskKind;
  metric?: HeadlineMetric;
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
  /** A dev evaluation: accuracy (exact match for a text target), and a text target's headline metric. */
  | { type: 'eval'; step: number; split: 'dev'; accuracy: number; nll: number; macroF1?: number; best: boolean; metric?: { name: HeadlineMetric; value: number | null } }
  | { type: 'evalProgress'; promptId: string; done: number; total: number }
  /** Setup before the first step: reading a large data file, tracing the graph, then the runtime loading the weights. */
  | { type: 'setup'; phase: 'data' | 'graph' | 'load' | 'ready'; detail?: string; seconds?: number }
  | { type: 'checkpoint'; step: number; file: string }
  | { type: 'done'; summary: JobSummary }
  | { type: 'error'; message: string; location?: InputLocation; stderrTail?: string };

/** A setup event as one line for a progress display. */
export function setupMessage(e: Extract<TrainerEvent, { type: 'setup' }>): string {
  const elapsed = e.seconds ? ` (${e.seconds} s)` : '';
  if (e.phase === 'data') return `reading ${e.detail ?? 'the data'}`;
  if (e.phase === 'graph') return `building the model's graph${e.detail ? ` (${e.detail})` : ''}`;
  if (e.phase === 'ready') return `model loaded${e.detail ? ` on ${e.detail}` : ''}${elapsed}`;
  return `loading the weights${e.detail ? ` on ${e.detail}` : ''}${elapsed}`;
}

// ---- webviews ----

export interface PromptSummary {
  key: string; id: string; run: string; kind: PromptKind;
  /** Share of examples right: the label, or a text target's exact match. */
  accuracy: number;
  /** Label tasks only (null for a text target). */
  macroF1: number | null;
  nll: number | null; auc: number | null; exactMatch: number | null;
  /** 95% Wilson interval of the accuracy; null: a run evaluated before eval.json held it. */
  accuracyInterval: [number, number] | null;
  /** Per-class precision, recall and F1; null: a run evaluated before eval.json held them, or a text target. */
  perClass: ClassMetrics[] | null;
  /** Label tasks; empty for a text target. */
  confusion: number[][]; predictedRate: Record<string, number>; count: number; taskParameters: number;
  /** Text targets: the mean of each text metric, the assertions' pass rate, and their 95% intervals. */
  text?: TextSummary;
  /** What a request costs: mean input tokens (soft tokens and demonstrations counted), tokens generated, ms per example. Absent from older runs. */
  promptTokens?: number;
  outputTokens?: number;
  msPerExample?: number;
  /** Chat prompts: the first example's conversation as the model's chat template rendered it. */
  rendered?: string;
  /** The prompt's template in one line (soft prompt and shots named), from the run's spec; absent where the spec has none. */
  template?: string;
  /** The whole prompt for the table's first example, demonstrations included. */
  preview?: { line: number; text: string };
}
/** A text-target prompt's figures (NLL per token is PromptSummary's nll); passRate: absent without assertions. */
export interface TextSummary {
  tokenF1: number | null; chrF: number | null; rougeL: number | null;
  passRate?: number;
  intervals: Partial<Record<TextMetricName | 'nll' | 'passRate', [number, number]>>;
}
/** The per-example text metrics of an output (text targets), and the target's NLL per token. */
export type ExampleMetrics = Partial<Record<TextMetricName | 'nll', number>>;
/**
 * score: the predicted label's log-likelihood; null where no label was scored (a pipeline's stage
 * one alone, a text target). margin: the gold label's log-likelihood less the best other label's
 * (negative: wrong). Text targets: prediction is the output, correct its exact match, `metrics`
 * its figures, and `assertions` how many of its assertions passed, of how many.
 */
export interface ExampleCell {
  prediction: string; correct: boolean; score: number | null; margin?: number | null; generated?: string; stage1?: string;
  metrics?: ExampleMetrics;
  assertions?: { passed: number; total: number };
}
/** gold: the gold label, or a text target's expected output. */
export interface ExampleRow { line: number; file: string; input: string; gold: string; cells: Record<string, ExampleCell> }
export interface ScalePointData { model: string; params: number; promptDesign: number | null; promptTuning: number | null; modelTuning: number | null }
/** A run's training curves: the loss, and the dev figure it stops early on (accuracy, or a text target's headline metric). */
export interface TrainingCurve {
  run: string; loss: [number, number][]; devAccuracy: [number, number][];
  /** Text targets: the headline metric by step (devAccuracy then holds exact match). */
  devMetric?: { name: HeadlineMetric; points: [number, number][] };
}
export interface ComparisonData {
  runs: { id: string; dir: string; split: string; file: string; status: string }[];
  /** What the runs' answers are; absent: labels (every run before text targets). */
  task?: TaskKind;
  /** The headline metric the panel leads with and ranks by; absent: accuracy. */
  metric?: HeadlineMetric;
  /** Scaling runs: their points and chart (SVG text). */
  scale?: { run: string; points: ScalePointData[]; svg: string }[];
  labels: string[];
  prompts: PromptSummary[];
  examples: ExampleRow[];
  curves: TrainingCurve[];
  /** Soft prompts whose run folder has inspect.json (`ptune inspect`): the prompt's key and the report. */
  inspections?: { run: string; prompt: string; report: InspectReport }[];
}

/**
 * A filter of the examples table. The named ones look at every prompt; the objects at the prompts
 * they name (by key): `wrong` keeps the examples a prompt gets wrong, `rightWrong` those one
 * prompt gets right and another wrong, `allWrong` those every prompt gets wrong, `allDisagree`
 * those on which no two prompts predict the same label. On a text target a prompt is right where
 * it passes (see `passes` in example-filter.ts), and `fails` keeps the examples where any prompt's
 * output is not an exact match or fails an assertion.
 */
export type ExampleFilter =
  | 'all' | 'disagreements' | 'soft-wrong' | 'discrete-wrong' | 'fails'
  | { kind: 'wrong'; prompt: string }
  | { kind: 'rightWrong'; right: string; wrong: string }
  | { kind: 'allWrong' }
  | { kind: 'allDisagree' };

/**
 * A column the table sorts by. A prompt's column sorts by the gold label's margin (see
 * `goldMargin`), or on a text target by the metric named (default exact match, then token F1).
 */
export type SortColumn = 'line' | 'input' | 'gold' | { prompt: string; metric?: SortMetric };
/** What a text-target prompt's column sorts by: a per-example metric, or its assertions' share passed. */
export type SortMetric = TextMetricName | 'nll' | 'assertions';
export interface ExampleSort { column: SortColumn; descending: boolean }

/** One prompt on one example, as the detail pane shows it. */
export interface ExampleDetailPrompt {
  key: string; kind: PromptKind;
  prediction: string; correct: boolean;
  /** Every label's log-likelihood; null where no label was scored. */
  scores: Record<string, number> | null;
  generated?: string; stage1?: string;
  /** Text targets: the whole output, the tokens it took, its metrics, and each assertion's verdict with its reason. */
  output?: string;
  outputTokens?: number;
  metrics?: ExampleMetrics;
  assertions?: AssertionResult[];
  /** What the model read before the label; null where the run's spec does not describe the prompt. */
  prompt: RenderedPrompt | null;
}
/** One example with every prompt's scores and rendered prompt: asked for when the panel selects it. gold: a text target's expected output. */
export interface ExampleDetail { file: string; line: number; input: string; gold: string; prompts: ExampleDetailPrompt[] }

/** Host -> comparison panel. `detail` answers a `detail` request (null: no such example). */
export type ComparisonToWebview =
  | { type: 'data'; data: ComparisonData; runDirs: string[] }
  | { type: 'detail'; file: string; line: number; detail: ExampleDetail | null };
/** Comparison panel -> host. */
export type ComparisonFromWebview =
  | { type: 'ready' }
  | { type: 'export'; format: 'csv' | 'md'; filter: ExampleFilter; search: string; sort?: ExampleSort | null }
  | { type: 'openLine'; file: string; line: number }
  | { type: 'detail'; file: string; line: number };

/** Host -> run view. */
export type RunViewToWebview =
  /** `ended`: no job is running and these are the last job's curves; how it ended, in one line. */
  /** metric: what the dev curve shows, where it is not accuracy (a text target's headline metric). */
  | { type: 'reset'; runId: string | null; steps: number; loss: [number, number][]; devAccuracy: [number, number][]; status: string; ended?: string; metric?: HeadlineMetric }
  | { type: 'progress'; step: number; steps: number; loss: number; etaSeconds: number }
  | { type: 'eval'; step: number; accuracy: number; metric?: HeadlineMetric }
  | { type: 'status'; status: string };
/** Run view -> host. */
export type RunViewFromWebview = { type: 'ready' } | { type: 'cancel' };
