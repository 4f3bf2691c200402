// The "New Experiment" flow without VS Code: look at a dataset file, propose the text and label
// fields, the label values (or, for a text output, the field holding the expected output), the
// sibling dev/test files, and write a spec.
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
  /** Fields that look like an expected text output, likeliest first (see targetCandidates). */
  targetCandidates: TargetCandidate[];
  dev?: string;
  test?: string;
}

/** A field that may hold the text the model should produce: how many values it has, and a few of them. */
export interface TargetCandidate { field: string; distinct: number; examples: string[] }

/** What a field's values look like, for telling the text, a label and a target apart. */
export interface FieldStats {
  field: string;
  /** Records where the field is a non-empty string, and the mean length of those strings. */
  strings: number;
  meanLength: number;
  /** Distinct string values (counted up to DISTINCT_CAP), and the first few seen. */
  distinct: number;
  examples: string[];
}

const LABEL_NAMES = ['label', 'labels', 'class', 'category', 'target', 'mood', 'sentiment', 'answer', 'y'];
/** Names a text output's field often has: these rank first, in this order. */
const TARGET_NAMES = ['answer', 'answers', 'target', 'output', 'summary', 'subject', 'completion', 'response', 'reference'];
const DISTINCT_CAP = 10_000;

/**
 * The fields likeliest to hold a text output, best first. A field qualifies where it is a string
 * field other than the input text (`textField`, else the field with the longest strings), shorter
 * on average than the input, with at least two values; a field with a usual name (answer, target,
 * output, summary, subject, ...) ranks first, in that order; others need many distinct values (more
 * than 50, or at least a third of its records), which a label from a fixed set does not have, and
 * rank by how many of their values differ.
 */
export function targetCandidates(stats: FieldStats[], textField?: string): TargetCandidate[] {
  const strings = stats.filter((f) => f.strings > 0);
  const text = strings.find((f) => f.field === textField) ?? [...strings].sort((a, b) => b.meanLength - a.meanLength)[0];
  if (!text) return [];
  const rank = (f: FieldStats) => {
    const i = TARGET_NAMES.indexOf(f.field.toLowerCase());
    return i < 0 ? TARGET_NAMES.length : i;
  };
  const share = (f: FieldStats) => f.distinct / Math.max(1, f.strings);
  return strings
    .filter((f) => f.field !== text.field && f.meanLength < text.meanLength && f.distinct >= 2)
    .filter((f) => rank(f) < TARGET_NAMES.length || f.distinct > 50 || share(f) >= 1 / 3)
    .sort((a, b) => rank(a) - rank(b) || share(b) - share(a) || a.field.localeCompare(b.field))
    .map((f) => ({ field: f.field, distinct: f.distinct, examples: f.examples }));
}
const SPLIT_NAMES = { dev: ['dev', 'validation', 'valid', 'val'], test: ['test'] };

export async function profileDataset(file: string, options: { header?: boolean; maxRecords?: number } = {}): Promise<DatasetProfile> {
  const format = formatOf(file);
  const counts = new Map<string, Map<string, number>>();
  const lengths = new Map<string, number>();
  const strings = new Map<string, { count: number; distinct: Set<string>; examples: string[] }>();
  let records = 0;
  for await (const r of readRecords(file, { format, header: options.header ?? true })) {
    records++;
    for (const [k, v] of Object.entries(r.fields)) {
      const values = counts.get(k) ?? new Map<string, number>();
      counts.set(k, values);
      const key = normaliseLabel(v);
      if (key !== undefined && values.size <= 50) values.set(key, (values.get(key) ?? 0) + 1);
      lengths.set(k, (lengths.get(k) ?? 0) + (typeof v === 'string' ? v.length : 0));
      if (typeof v === 'string' && v.trim()) {
        const s = strings.get(k) ?? { count: 0, distinct: new Set<string>(), examples: [] };
        strings.set(k, s);
        s.count++;
        if (s.distinct.size < DISTINCT_CAP && !s.distinct.has(v)) {
          s.distinct.add(v);
          if (s.examples.length < 5) s.examples.push(v);
        }
      }
    }
    if (records >= (options.maxRecords ?? 5000)) break;
  }
  const fields = [...counts.keys()];
  const labelCandidates = fields
    .filter((f) => { const n = counts.get(f)!.size; return n >= 2 && n <= Math.min(50, Math.max(2, records / 2)); })
    .sort((a, b) => rankLabel(b) - rankLabel(a) || counts.get(a)!.size - counts.get(b)!.size)
    .map((field) => ({ field, values: [...counts.get(field)!].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count) }));
  const textCandidates = fields.filter((f) => (lengths.get(f) ?? 0) > 0).sort((a, b) => lengths.get(b)! - lengths.get(a)!);
  const stats = fields.map((field): FieldStats => {
    const s = strings.get(field);
    return { field, strings: s?.count ?? 0, meanLength: s ? (lengths.get(field) ?? 0) / s.count : 0, distinct: s?.distinct.size ?? 0, examples: s?.examples ?? [] };
  });
  return { file, format, records, fields, labelCandidates, textCandidates, targetCandidates: targetCandidates(stats, textCandidates[0]), ...siblingSplits(file) };
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

interface CommonAnswers {
  name: string;
  specDir: string;
  model: string;
  train: string;
  dev?: string;
  test?: string;
  textField: string;
  discreteTemplate: string;
  promptLength?: number;
}

/** A label from a fixed set: the label's field and each label's text; or a text output: the field holding it. */
export type NewExperimentAnswers = CommonAnswers & ({ labelField: string; verbalizer: Record<string, string> } | { targetField: string });

/** The spec the answers describe, with paths relative to the spec's folder. */
export function buildSpec(a: NewExperimentAnswers): Record<string, unknown> {
  const rel = (p: string) => {
    const r = relative(a.specDir, p).split('\\').join('/');
    return r.startsWith('.') ? r : `./${r}`;
  };
  const modelIsPath = existsSync(a.model);
  const target = 'targetField' in a;
  // an instruct model is prompted in chat turns today: its own chat template is compared too
  const answerWith = (target ? `Answer with the ${a.targetField} only.` : `Answer with one of: ${Object.values(a.verbalizer).join(', ')}.`).replace(/[{}]/g, (brace) => brace + brace);
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
      // a text output is the field's value as it is; evaluation.metric stays at its default (exact match)
      ...(target ? { target: `{${a.targetField}}` } : { label: a.labelField, verbalizer: a.verbalizer }),
    },
    discretePrompts: [
      { id: 'zero-shot', template: a.discreteTemplate },
      { id: '4-shot', template: a.discreteTemplate, shots: 4 },
      ...(chat ? [{ id: 'chat-zero-shot', messages: chat }, { id: 'chat-4-shot', messages: chat, shots: 4 }] : []),
    ],
    // a text output has no labels to start the soft prompt from, nor classes to balance
    softPrompt: { length: a.promptLength ?? 20, init: target ? 'sampled-vocab' : 'class-labels' },
    training: { optimizer: 'adafactor', learningRate: 0.3, schedule: 'linear', steps: 300, batchSize: 16, evalEvery: 50, sampling: target ? 'random' : 'balanced', seed: 0 },
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
