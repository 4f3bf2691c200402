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

