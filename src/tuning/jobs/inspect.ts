// What a learnt soft prompt is close to (Lester et al. 2021, section 7): each prompt token's nearest
// vocabulary tokens by cosine similarity to the model's input embeddings, and its similarity to
// each class label's embedding. The embedding table is read by rows in chunks, so a 150k-token
// vocabulary is never one array in memory.
import { existsSync } from 'node:fs';
import { InputError } from '../../common/errors.js';
import type { JobSummary } from '../../common/protocol.js';
import { checkSoftPromptSource, readSoftPromptSource, RunDir } from '../../common/run-folder.js';
import type { InspectReport, TokenNeighbour } from '../../common/run-files.js';
import { loadSpec } from '../../common/spec.js';
import { openModel } from '../../models/load.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import type { Emit } from './prepare.js';
import { labelEmbedding } from '../prompts/prompt-init.js';

export const DEFAULT_TOP = 5;
/** Embedding values read per chunk (16 MiB of float32). */
const CHUNK_VALUES = 1 << 22;

export type InspectModel = Pick<TunableModel, 'cfg' | 'tokenizer' | 'embeddings'>;
export interface ClassLabel { label: string; text: string }

type Rows = Float32Array | Float64Array;

function norm(v: Rows, offset: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += v[offset + j] * v[offset + j];
  return Math.sqrt(s);
}

function cosine(a: Rows, aOffset: number, aNorm: number, b: Rows, bOffset: number, bNorm: number, d: number): number {
  if (aNorm === 0 || bNorm === 0) return 0;
  let s = 0;
  for (let j = 0; j < d; j++) s += a[aOffset + j] * b[bOffset + j];
  return s / (aNorm * bNorm);
}

/** The k best (cosine, id) pairs seen so far, best first; ties go to the lower id. */
class TopK {
  readonly cosines: number[] = [];
  readonly ids: number[] = [];
  constructor(private k: number) {}
  offer(cos: number, id: number): void {
    const n = this.cosines.length;
    if (n === this.k && cos <= this.cosines[n - 1]) return;
    let at = n;
    while (at > 0 && cos > this.cosines[at - 1]) at--;
    this.cosines.splice(at, 0, cos);
    this.ids.splice(at, 0, id);
    if (this.cosines.length > this.k) {
      this.cosines.pop();
      this.ids.pop();
    }
  }
}

/** A token's text as it reads after other text: SentencePiece decoders drop a first token's leading space. */
export function tokenText(tok: Tokenizer, id: number): string {
  const head = tok.encode('a', { addSpecialTokens: false });
  const headText = tok.decode(head, { skipSpecialTokens: false });
  const full = tok.decode([...head, id], { skipSpecialTokens: false });
  return full.startsWith(headText) ? full.slice(headText.length) : tok.decode([id], { skipSpecialTokens: false });
}

/** Each prompt token's `top` nearest ordinary vocabulary tokens, and its similarity to each label. */
export function inspectSoftPrompt(lm: InspectModel, prompt: SoftPrompt, labels: ClassLabel[], options: { top?: number; labelSeparator?: string; chunkRows?: number } = {}): Omit<InspectReport, 'schemaVersion' | 'runId' | 'model' | 'createdAt'> {
  const tok = lm.tokenizer;
  if (!tok) throw new InputError('inspecting a soft prompt needs the model\'s tokenizer (tokenizer.json)');
  const d = lm.cfg.hiddenSize;
  if (prompt.dim !== d) throw new InputError(`the soft prompt has dimension ${prompt.dim} but the model's embeddings have ${d}; inspect it with the model it was trained for`);
  const top = options.top ?? DEFAULT_TOP;
  if (!Number.isInteger(top) || top < 1) throw new InputError(`top ${top}: expected a whole number of at least 1`);
  const n = prompt.length;
  const promptNorms = Array.from({ length: n }, (_, i) => norm(prompt.data, i * d, d));
  const vocabulary = tok.ordinaryTokens().filter((id) => id < lm.cfg.vocabSize);
  const best = Array.from({ length: n }, () => new TopK(top));
  const chunkRows = options.chunkRows ?? Math.max(1, Math.floor(CHUNK_VALUES / d));
  for (let start = 0; start < vocabulary.length; start += chunkRows) {
    const ids = vocabulary.slice(start, start + chunkRows);
    const rows = lm.embeddings(ids);
    for (let r = 0; r < ids.length; r++) {
      const rowNorm = norm(rows, r * d, d);
      for (let i = 0; i < n; i++) best[i].offer(cosine(prompt.data, i * d, promptNorms[i], rows, r * d, rowNorm, d), ids[r]);
    }
  }

  const separator = options.labelSeparator ?? ' ';
  const labelRows = labels.map((l) => ({ ...l, ...labelEmbedding(lm, separator, l.text) }));
  const labelOfToken = new Map<number, string>();
  // a piece of a longer label ("▁s" of "sad") says nothing about the label: only one-token labels mark neighbours
  for (const l of labelRows) if (l.ids.length === 1 && !labelOfToken.has(l.ids[0])) labelOfToken.set(l.ids[0], l.label);
  const labelReports = labelRows.map((l) => {
    const labelNorm = norm(l.row, 0, d);
    return { label: l.label, text: l.text, ids: l.ids, similarities: promptNorms.map((pn, i) => cosine(prompt.data, i * d, pn, l.row, 0, labelNorm, d)) };
  });

  const tokens = best.map((b, index) => {
    const neighbours: TokenNeighbour[] = b.ids.map((id, k) => {
      const label = labelOfToken.get(id);
      return { id, text: tokenText(tok, id), cosine: b.cosines[k], ...(label !== undefined ? { label } : {}) };
    });
    let nearestLabel: { label: string; cosine: number } | null = null;
    for (const l of labelReports) if (!nearestLabel || l.similarities[index] > nearestLabel.cosine) nearestLabel = { label: l.label, cosine: l.similarities[index] };
    return { index, neighbours, nearestLabel };
  });
  const withLabel = tokens.filter((t) => t.neighbours.some((nb) => nb.label !== undefined));
  const counts = new Map<string, number>();
  for (const t of withLabel) for (const label of new Set(t.neighbours.flatMap((nb) => (nb.label !== undefined ? [nb.label] : [])))) counts.set(label, (counts.get(label) ?? 0) + 1);
  const perLabel = [...counts].map(([label, c]) => `${label}: ${c}`).join(', ');
  const summary = labels.length === 0
    ? `${n} prompt tokens; the run names no class labels to look for`
    : `${withLabel.length} of ${n} prompt tokens have a class label among their top ${top} neighbours${perLabel ? ` (${perLabel})` : ''}`;
  return { top, vocabularySize: vocabulary.length, tokens, labels: labelReports, tokensWithLabelNeighbour: withLabel.length, summary };
}

/** The class labels a run was trained for: its spec's verbalizer, or for an imported run, its spec file's. */
function runLabels(run: RunDir): { labels: ClassLabel[]; separator: string } {
  const record = run.record;
  let spec = record.spec;
  if (!spec && record.specFile && existsSync(record.specFile)) spec = loadSpec(record.specFile).spec;
  if (!spec) return { labels: [], separator: ' ' };
  return { labels: Object.entries(spec.data.verbalizer).map(([label, text]) => ({ label, text })), separator: spec.data.labelSeparator };
}

/** Inspects a run's soft prompt with the run's model and writes inspect.json into the run folder. */
export async function inspectRun(runDir: string, options: { top?: number } = {}, emit: Emit = () => undefined): Promise<InspectReport> {
  const run = RunDir.open(runDir);
  const record = run.record;
  if (!record.model) throw new InputError(`${run.path('run.json')}: the run (kind ${record.kind ?? 'unknown'}) records no single model and has no soft prompt of its own; inspect one of the runs it made`, { file: run.path('run.json') });
  checkSoftPromptSource(run.dir);
  const { labels, separator } = runLabels(run);
  // the model as the run recorded it; a hub snapshot removed from the cache is fetched again by id
  const model = existsSync(record.model.folder) ? record.model.folder : record.model.id;
  const lm = await openModel(model, { revision: record.model.revision ?? undefined });
  try {
    const prompt = readSoftPromptSource(run.dir, lm.cfg.hiddenSize);
    emit({ type: 'log', message: `comparing ${prompt.length} prompt tokens with the input embeddings of ${record.model.id}` });
    const body = inspectSoftPrompt(lm, prompt, labels, { top: options.top, labelSeparator: separator });
    const report = run.writeInspect({ runId: run.id, model: record.model.id, createdAt: new Date().toISOString(), ...body });
    emit({ type: 'log', message: report.summary });
    return report;
  } finally {
    await lm.dispose();
  }
}

export async function runInspectJob(job: { runDir: string; top?: number }, emit: Emit): Promise<JobSummary> {
  await inspectRun(job.runDir, { top: job.top }, emit);
  return { runDir: job.runDir, split: 'test', status: 'completed', results: [] };
}
