// The files of a run folder, .ptune/runs/<run-id>/, as types: run.json, eval.json,
// metrics.jsonl, predictions.jsonl, inspect.json, sweep.json and scale.json. Shared by the code
// that writes them and the views that read them; RunDir (run-folder.ts) reads and writes them.
import type { SkippedRecord } from './data.js';
import type { Spec } from './spec.js';
import type { AssertionResult, HeadlineMetric, TaskKind, TextMetricName } from './task-types.js';

export type { AssertionResult, AssertionSpec, AssertionType, HeadlineMetric, TaskKind, TextMetricName } from './task-types.js';

/**
 * The layout version of each JSON-object file, written into it as `schemaVersion`. A file written
 * before versions were recorded has none and reads as version 1; a reader refuses a newer version
 * than it knows, since the fields it reads may have changed meaning. Raise one when its file's
 * fields change in a way an older reader would misread.
 */
export const SCHEMA_VERSIONS = { 'run.json': 1, 'eval.json': 1, 'inspect.json': 1, 'sweep.json': 1, 'scale.json': 1 } as const;

/** The JSON-object files of a run folder, by name. */
export interface RunJsonFiles {
  'run.json': RunRecord;
  'eval.json': EvalFile;
  'inspect.json': InspectReport;
  'sweep.json': SweepFile;
  'scale.json': ScaleFile;
}

/** A file's fields as its writer gives them: the writer stamps the schema version. */
export type Unversioned<T extends { schemaVersion: number }> = Omit<T, 'schemaVersion'>;

/** `interrupted`: recorded as running, but the process that ran it is gone (see effectiveStatus). */
export type RunStatus = 'running' | 'completed' | 'cancelled' | 'failed' | 'interrupted';

/** What a run folder holds beyond a prompt-tuning run (which has no kind). */
export type RunKind = 'model-tuning' | 'eval' | 'sweep' | 'scale' | 'import';

/**
 * run.json. A prompt-tuning, model-tuning or evaluation run has every field but the kind-specific
 * ones; a sweep or scale run records no single model, and an imported adapter no spec or seed.
 */
export interface RunRecord {
  schemaVersion: number;
  id: string;
  name: string;
  kind?: RunKind;
  /** Records left out under data.onBadRecord "skip", with where and why. */
  skipped?: SkippedRecord[];
  /** null: an imported adapter given no spec file. */
  specFile: string | null;
  /** null: an imported adapter, trained elsewhere. */
  spec: Spec | null;
  /** Absent: a sweep or a scale run, which ran several runs (a scale run lists its models). */
  model?: { id: string; folder: string; revision: string | null; files: Record<string, string> };
  /** Each data split's file and sha256 as the run read it (absent in runs from before it was kept): a resume compares them. */
  dataFiles?: Partial<Record<'train' | 'dev' | 'test', { file: string; sha256: string }>>;
  /** Resumes that went on with --force although the data or the model's files had changed: when, from which step, and what differed. */
  forcedResumes?: { at: string; step: number; differences: string[] }[];
  /** null: an imported adapter. Absent: a scale run. */
  seed?: number | null;
  device: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  step: number;
  steps: number;
  bestStep: number | null;
  bestDevAccuracy: number | null;
  error?: string;
  resumedFrom?: number[];
  /** The process running the run, and its host: set while the status is running. */
  pid?: number;
  host?: string;
  /** Refreshed every few seconds while the run is running (ISO time). */
  heartbeat?: string;
  /** Runs trained elsewhere (the exported Accelerate job): what trained it, and whether it stopped early. */
  engine?: string;
  stoppedEarly?: boolean;
  /** Imported runs: the adapter or run folder it was copied from. */
  importedFrom?: string;
  /** Model tuning: the number of weights tuned. */
  parameters?: number;
  /** Evaluation runs: the run or adapter folders whose soft prompts were evaluated. */
  evaluatedRuns?: string[];
  /** Sweeps: the grid's axes, seeds and the overrides applied to every point. */
  axes?: SweepAxisValues[];
  seeds?: number[];
  overrides?: string[];
  /** Scale runs: the models compared. */
  models?: string[];
}

/** A run whose run.json names one model and seed: every kind but sweeps, scale runs and imported adapters. */
export type TrainedRunRecord = RunRecord & { spec: Spec; specFile: string; model: NonNullable<RunRecord['model']>; seed: number };

/** One line of metrics.jsonl: a training step's figures, or a dev evaluation's. */
export interface MetricRow { step: number; [key: string]: number | string | null }

/** eval.json: every evaluated prompt's metrics on the held-out split. */
export interface EvalFile {
  schemaVersion: number;
  split: 'test' | 'dev';
  /** The evaluated data file. */
  file: string;
  /** What the task's answers are (absent in files written before text targets: 'label'). */
  task?: TaskKind;
  /** The headline metric (evaluation.metric) the results lead with; absent: accuracy. */
  metric?: HeadlineMetric;
  /** The label set, in verbalizer order; empty for a text-target task. */
  labels: string[];
  verbalizer: Record<string, string>;
  results: PromptResult[];
  /** (prompt, example) inputs longer than the model's context, cut from the left: the sum of the results' truncated. */
  truncated: number;
}

/** A value a sweep axis takes. */
export type AxisValue = string | number | boolean;
export interface SweepAxisValues { path: string; values: AxisValue[] }
export interface SweepRun { seed: number; runDir: string; status: 'completed' | 'cancelled' | 'failed'; accuracy: number | null; macroF1: number | null; nll: number | null }
/** Mean and sample standard deviation over n values (null where n is 0). */
export interface Summary { mean: number | null; std: number | null; n: number }
export interface SweepPoint { values: Record<string, AxisValue>; accuracy: Summary; runs: SweepRun[] }

/** sweep.json: a sweep's points, rewritten after every run. */
export interface SweepFile {
  schemaVersion: number;
  split: 'test' | 'dev';
  axes: SweepAxisValues[];
  seeds: number[];
  overrides: string[];
  points: SweepPoint[];
}

/** One model of a scale run: its size and the held-out accuracy of each approach (null: not run). */
export interface ScalePoint { model: string; params: number; promptDesign: number | null; promptTuning: number | null; modelTuning: number | null }

/** scale.json: the scale run's points, and the run folders behind each model's. */
export interface ScaleFile {
  schemaVersion: number;
  points: ScalePoint[];
  runs: Record<string, { promptTuning: string; modelTuning: string | null }>;
}

/**
 * 'model': the template on a fully fine-tuned copy of the model (the model-tuning baseline);
 * 'pipeline-stage1': a pipeline's first stage alone, its generated text mapped to a label (what
 * the second stage adds is the pipeline's accuracy less this one's).
 */
export type PromptKind = 'discrete' | 'soft' | 'ensemble' | 'model' | 'pipeline' | 'pipeline-stage1';

/** One class's figures, the class taken as the positive one. */
export interface ClassMetrics {
  label: string;
  /** 0 where nothing was predicted as the class. */
  precision: number;
  /** 0 where no example has the class. */
  recall: number;
  f1: number;
  /** Examples whose gold label is the class. */
  support: number;
}

/** The figures only a label task has: a text-target result leaves them out. */
export type LabelOnlyMetric = 'macroF1' | 'confusion' | 'predictedRate' | 'auc' | 'perClass';

export interface Metrics {
  count: number;
  /** Share of examples right: the label (rank or generation), or for a text target its exact match. */
  accuracy: number;
  /** 95% Wilson score interval of the accuracy. Absent from eval.json files written before it existed. */
  accuracyInterval?: [number, number];
  macroF1: number;
  /** confusion[gold][predicted], in label order. */
  confusion: number[][];
  /** Mean negative log-likelihood of the gold label's tokens (summed per example). */
  nll: number;
  /** Share of examples predicted as each label. */
  predictedRate: Record<string, number>;
  /**
   * ROC AUC. Binary: the score margin of the second label over the first. More classes: the mean
   * over classes of each one against the rest. null where a class has no positive or no negative.
   */
  auc: number | null;
  exactMatch?: number;
  /** In label order. Absent from eval.json files written before it existed. */
  perClass?: ClassMetrics[];
}

export interface Prediction {
  index: number;
  line: number;
  promptId: string;
  kind: PromptKind;
  gold: string;
  prediction: string;
  correct: boolean;
  /** Log-likelihood of each label's text; null where no label was scored (a pipeline's stage one alone). */
  scores: Record<string, number> | null;
  generated?: string;
  /** The label the generated text names (null: none). */
  generatedLabel?: string | null;
  exactMatch?: boolean;
  /** Two-stage pipelines: the first stage's text. */
  stage1?: string;
  /** k-shot prompts: the train-file lines of the demonstrations shown before this example, in order. */
  shots?: number[];
  /**
   * Text-target tasks (then gold is the target, prediction the output, correct its exact match,
   * scores null): the generated output, the expected target, the tokens generated, each text
   * metric's value and the target's NLL per token, and each assertion's verdict.
   */
  output?: string;
  target?: string;
  outputTokens?: number;
  metrics?: Partial<Record<TextMetricName | 'nll', number>>;
  assertions?: AssertionResult[];
}
/** A prediction whose labels were scored: every kind but a pipeline's stage one alone. */
export type ScoredPrediction = Prediction & { scores: Record<string, number> };

/**
 * One prompt's metrics in eval.json. A generation-only row (kind 'pipeline-stage1') scores no
 * label, so it has no likelihood to report: nll and auc are null there, never a made-up number.
 */
export interface PromptResult extends Omit<Metrics, 'nll' | LabelOnlyMetric>, Partial<Pick<Metrics, LabelOnlyMetric>> {
  id: string; kind: PromptKind; taskParameters: number;
  /** Label tasks: the gold label's summed NLL per example; text targets: the target's NLL per token (teacher-forced). */
  nll: number | null;
  /** Text targets: the mean of each text metric (0 to 1), as exactMatch is. */
  tokenF1?: number;
  chrF?: number;
  rougeL?: number;
  /** Text targets with assertions: the share of (example, assertion) checks that pass. */
  passRate?: number;
  /** Text targets: 95% intervals of the per-example means (exactMatch's is accuracyInterval, the same figure). */
  intervals?: Partial<Record<TextMetricName | 'nll' | 'passRate', [number, number]>>;
  /** Mean input tokens per request, soft prompt tokens and k-shot demonstrations counted. Absent from older files. */
  promptTokens?: number;
  /** Mean tokens generated per example (where the prompt generated). */
  outputTokens?: number;
  /** Measured milliseconds per example of this prompt's evaluation (scoring and generation). */
  msPerExample?: number;
  /** Chat prompts: the first evaluated example's conversation as the model's chat template rendered it. */
  rendered?: string;
  /** Examples whose input (for scoring or generation) was longer than the model's context and was cut from the left. */
  truncated?: number;
}
/** A prompt whose labels (or text target) were scored: every kind but a pipeline's stage one alone. */
export type ScoredPromptResult = PromptResult & { nll: number };
/** A label task's scored result, with the figures only labels have. */
export type LabelPromptResult = ScoredPromptResult & Pick<Metrics, 'macroF1' | 'confusion' | 'predictedRate' | 'auc'>;


/** A vocabulary token near a soft-prompt token. */
export interface TokenNeighbour {
  id: number;
  /** The token's text as it reads after other text (a leading space shows a word start). */
  text: string;
  cosine: number;
  /** The class label whose text is this one token, if any (longer labels count through their mean embedding only). */
  label?: string;
}

/**
 * inspect.json: each soft-prompt token's nearest vocabulary tokens by cosine similarity to the
 * model's input embeddings, and its similarity to each class label's embedding (Lester et al.
 * 2021, section 7).
 */
export interface InspectReport {
  schemaVersion: number;
  runId: string;
  model: string;
  createdAt: string;
  /** Neighbours kept per prompt token. */
  top: number;
  /** Ordinary tokens compared (special and byte tokens left out). */
  vocabularySize: number;
  tokens: { index: number; neighbours: TokenNeighbour[]; nearestLabel: { label: string; cosine: number } | null }[];
  /** similarities[i]: cosine of prompt token i with the label's embedding (its tokens' mean). */
  labels: { label: string; text: string; ids: number[]; similarities: number[] }[];
  /** Prompt tokens with a class label among their top neighbours. */
  tokensWithLabelNeighbour: number;
  summary: string;
}
