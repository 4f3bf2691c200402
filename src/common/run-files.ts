// The records a run folder holds about prompts and their predictions (eval.json, predictions.jsonl),
// shared by the code that writes them and the views that read them.

/** 'model': the template on a fully fine-tuned copy of the model (the model-tuning baseline). */
export type PromptKind = 'discrete' | 'soft' | 'ensemble' | 'model' | 'pipeline';

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
  /** Log-likelihood of each label's text. */
  scores: Record<string, number>;
  generated?: string;
  /** The label the generated text names (null: none). */
  generatedLabel?: string | null;
  exactMatch?: boolean;
  /** Two-stage pipelines: the first stage's text. */
  stage1?: string;
}

export interface PromptResult extends Metrics { id: string; kind: PromptKind; taskParameters: number }


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
