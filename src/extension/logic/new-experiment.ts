// The "New Experiment" flow without VS Code: look at a dataset file, propose the text and label
// fields, the label values, the sibling dev/test files, and write a spec.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { formatOf, normaliseLabel, readRecords } from '../../common/data.js';
import { isSpanCorruptionT5, looksLikeT5Name, T5_CHECKPOINT_ADVICE } from '../../common/t5-checkpoints.js';

export interface DatasetProfile {
  file: string;
  format: 'jsonl' | 'csv' | 'tsv';
  records: number;
  fields: string[];
  /** Distinct values of each field that looks like a label (few distinct values), with counts. */
  labelCandidates: { field: string; values: { value: string; count: number }[] }[];
  /** Fields holding the longest strings on average: likely the input text. */
  textCandidates: string[];
  dev?: string;
  test?: string;
}

const LABEL_NAMES = ['label', 'labels', 'class', 'category', 'target', 'mood', 'sentiment', 'answer', 'y'];
const SPLIT_NAMES = { dev: ['dev', 'validation', 'valid', 'val'], test: ['test'] };

export async function profileDataset(file: string, options: { header?: boolean; maxRecords?: number } = {}): Promise<DatasetProfile> {
  const format = formatOf(file);
  const counts = new Map<string, Map<string, number>>();
  const lengths = new Map<string, number>();
  let records = 0;
  for await (const r of readRecords(file, { format, header: options.header ?? true })) {
    records++;
    for (const [k, v] of Object.entries(r.fields)) {
      const values = counts.get(k) ?? new Map<string, number>();
      counts.set(k, values);
      const key = normaliseLabel(v);
      if (key !== undefined && values.size <= 50) values.set(key, (values.get(key) ?? 0) + 1);
      lengths.set(k, (lengths.get(k) ?? 0) + (typeof v === 'string' ? v.length : 0));
    }
    if (records >= (options.maxRecords ?? 5000)) break;
  }
  const fields = [...counts.keys()];
  const labelCandidates = fields
    .filter((f) => { const n = counts.get(f)!.size; return n >= 2 && n <= Math.min(50, Math.max(2, records / 2)); })
    .sort((a, b) => rankLabel(b) - rankLabel(a) || counts.get(a)!.size - counts.get(b)!.size)
    .map((field) => ({ field, values: [...counts.get(field)!].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count) }));
  const textCandidates = fields.filter((f) => (lengths.get(f) ?? 0) > 0).sort((a, b) => lengths.get(b)! - lengths.get(a)!);
  return { file, format, records, fields, labelCandidates, textCandidates, ...siblingSplits(file) };
}

function rankLabel(field: string): number {
  const i = LABEL_NAMES.indexOf(field.toLowerCase());
  return i < 0 ? 0 : LABEL_NAMES.length - i;
}

/** dev/test files next to a train file: train.jsonl -> dev.jsonl, test.jsonl; foo_train.csv -> foo_validation.csv. */
export function siblingSplits(trainFile: string): { dev?: string; test?: string } {
  const dir = dirname(trainFile);
  const ext = extname(trainFile);
  const stem = basename(trainFile, ext);
  if (!/train/i.test(stem)) return {};
  const siblings = existsSync(dir) ? readdirSync(dir) : [];
  const find = (names: string[]) => {
    for (const name of names) {
      const candidate = stem.replace(/train/i, name) + ext;
      if (siblings.includes(candidate)) return join(dir, candidate);
    }
    return undefined;
  };
  return { dev: find(SPLIT_NAMES.dev), test: find(SPLIT_NAMES.test) };
}

export interface NewExperimentAnswers {
  name: string;
  specDir: string;
  model: string;
  train: string;
  dev?: string;
  test?: string;
  textField: string;
  labelField: string;
  verbalizer: Record<string, string>;
  discreteTemplate: string;
  promptLength?: number;
}

/** The spec the answers describe, with paths relative to the spec's folder. */
export function buildSpec(a: NewExperimentAnswers): Record<string, unknown> {
  const rel = (p: string) => {
    const r = relative(a.specDir, p).split('\\').join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  const modelIsPath = existsSync(a.model);
  // an instruct model is prompted in chat turns today: its own chat template is compared too
  const answerWith = `Answer with one of: ${Object.values(a.verbalizer).join(', ')}.`.replace(/[{}]/g, (brace) => brace + brace);
  const chat = hasChatTemplate(a.model) ? [{ role: 'system', content: answerWith }, { role: 'user', content: `{${a.textField}}` }] : null;
  return {
    $schema: undefined,
    name: a.name,
    model: modelIsPath ? rel(a.model) : a.model,
    data: {
      train: rel(a.train),
      ...(a.dev ? { dev: rel(a.dev) } : {}),
      ...(a.test ? { test: rel(a.test) } : {}),
      text: a.discreteTemplate,
      label: a.labelField,
      verbalizer: a.verbalizer,
    },
    discretePrompts: [
      { id: 'zero-shot', template: a.discreteTemplate },
      { id: '4-shot', template: a.discreteTemplate, shots: 4 },
      ...(chat ? [{ id: 'chat-zero-shot', messages: chat }, { id: 'chat-4-shot', messages: chat, shots: 4 }] : []),
    ],
    softPrompt: { length: a.promptLength ?? 20, init: 'class-labels' },
    training: { optimizer: 'adafactor', learningRate: 0.3, schedule: 'linear', steps: 300, batchSize: 16, evalEvery: 50, sampling: 'balanced', seed: 0 },
  };
}

/**
 * Whether a local model folder's tokenizer_config.json holds a chat template (read as JSON: the host
 * loads no model). A hub id not downloaded yet has none that can be seen.
 */
export function hasChatTemplate(model: string): boolean {
  const config = join(model, 'tokenizer_config.json');
  if (!existsSync(config)) return false;
  try {
    const template = (JSON.parse(readFileSync(config, 'utf8')) as { chat_template?: unknown }).chat_template;
    return typeof template === 'string' ? template.length > 0 : Array.isArray(template) && template.length > 0;
  } catch {
    // a damaged tokenizer_config.json is reported, with its file, when the job loads the tokenizer
    return false;
  }
}

/** A safe experiment name from a file or free text. */
export function experimentName(text: string): string {
  const name = text.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return name || 'experiment';
}

/**
 * Advice on the chosen model (a hub id or a folder): a span-corruption T5 answers in sentinels,
 * not labels. A folder is a T5 when its config.json says so; a hub id, not downloaded yet, when its
 * name looks like one. Either way the checkpoint is judged by name, as at training time.
 */
export function modelAdvice(model: string): string | null {
  let t5 = looksLikeT5Name(model);
  const config = join(model, 'config.json');
  if (existsSync(config)) {
    try {
      t5 = (JSON.parse(readFileSync(config, 'utf8')) as { model_type?: unknown }).model_type === 't5';
    } catch {
      // a damaged config.json is reported, with its line, when the job opens the model
    }
  }
  if (!t5 || !isSpanCorruptionT5([model, basename(model)])) return null;
  return `"${basename(model)}" is a T5 whose name says neither lm-adapt nor flan: ${T5_CHECKPOINT_ADVICE}.`;
}

// the wizard's advice on label lengths is the Problems view's: one rule, in common
export { labelLengthAdvice } from '../../common/spec-problems.js';
