// The records a run folder holds about prompts and their predictions (eval.json, predictions.jsonl),
// shared by the code that writes them and the views that read them.

/**
 * 'model': the template on a fully fine-tuned copy of the model (the model-tuning baseline);
 * 'pipeline-stage1': a pipeline's first stage alone, its generated text mapped to a label (what
 * the second stage adds is the pipeline's accuracy less this one's).
 */
export type PromptKind = 'discrete' | 'soft' | 'ensemble' | 'model' | 'pipeline' | 'pipeline-stage1';

export interface Metrics {
  count: number;
  accuracy: number;
  macroF1: number;
  /** confusion[gold][predicted], in label order. */
  confusion: number[][];
  /** Mean negative log-likelihood of the gold label's tokens (summed per example). */
  nll: number;
  /** Share of examples predicted as each label. */
  predictedRate: Record<string, number>;
  /** Binary tasks: ROC AUC of the score margin of the second label over the first. */
  auc: number | null;
  exactMatch?: number;
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
}
/** A prediction whose labels were scored: every kind but a pipeline's stage one alone. */
export type ScoredPrediction = Prediction & { scores: Record<string, number> };

/**
 * One prompt's metrics in eval.json. A generation-only row (kind 'pipeline-stage1') scores no
 * label, so it has no likelihood to report: nll and auc are null there, never a made-up number.
 */
export interface PromptResult extends Omit<Metrics, 'nll'> {
  id: string; kind: PromptKind; taskParameters: number; nll: number | null;
  /** Chat prompts: the first evaluated example's conversation as the model's chat template rendered it. */
  rendered?: string;
}
/** A prompt whose labels were scored: every kind but a pipeline's stage one alone. */
export type ScoredPromptResult = PromptResult & { nll: number };


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
