// Datasets: JSONL, CSV and TSV (with or without a header), read as streams, each record kept
// with its line number so results and errors point at the user's file.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { InputError } from './errors.js';
import type { LoadedSpec } from './spec.js';
import { templateFields } from './template.js';

export type SplitName = 'train' | 'dev' | 'test';

export interface Example {
  /** Position in its split. */
  index: number;
  /** 1-based line in the data file where the record starts. */
  line: number;
  fields: Record<string, unknown>;
  /** The gold label normalised to the verbalizer's key. */
  label: string;
}

export interface Split {
  name: SplitName;
  file: string;
  examples: Example[];
  /** Examples per label, in verbalizer order. */
  counts: Record<string, number>;
}

export interface RawRecord { line: number; fields: Record<string, unknown> }

export function formatOf(file: string, declared?: 'jsonl' | 'csv' | 'tsv'): 'jsonl' | 'csv' | 'tsv' {
  if (declared) return declared;
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  throw new InputError(`${file}: cannot tell the format from the extension "${ext}"; set data.format to jsonl, csv or tsv`, { file });
}

/** Reads records one at a time. */
export async function* readRecords(file: string, options: { format: 'jsonl' | 'csv' | 'tsv'; header: boolean; columns?: string[] }): AsyncGenerator<RawRecord> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`${file}: data file not found`, { file });
  if (options.format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
      line++;
      const trimmed = text.replace(/^\uFEFF/, '').trim();
      if (!trimmed) continue;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch (e) {
        throw new InputError(`${file}:${line}: not valid JSON (${(e as Error).message}); each line must be one JSON object`, { file, line });
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${file}:${line}: expected a JSON object with named fields, got ${Array.isArray(value) ? 'an array' : typeof value}`, { file, line });
      yield { line, fields: value as Record<string, unknown> };
    }
    return;
  }
  const parser = createReadStream(file).pipe(parseCsv({
    delimiter: options.format === 'tsv' ? '\t' : ',',
    quote: options.format === 'tsv' ? false : '"',
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_quotes: options.format === 'tsv',
    relax_column_count: true, // checked below, with a message that names the columns
  }));
  let columns = options.header ? undefined : options.columns;
  try {
    for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = row;
      if (!columns) {
        columns = record.map((c) => c.trim());
        continue;
      }
      if (record.length !== columns.length) throw new InputError(`${file}:${info.lines}: ${record.length} columns, but the ${options.header ? 'header' : 'data.columns'} names ${columns.length} (${columns.join(', ')})`, { file, line: info.lines });
      yield { line: info.lines, fields: Object.fromEntries(columns.map((c, i) => [c, record[i]])) };
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as Error & { lines?: number };
    throw new InputError(`${file}:${err.lines ?? '?'}: cannot parse ${options.format.toUpperCase()} (${err.message})`, { file, line: err.lines });
  }
}

/** A label value as written in a file (string, number or boolean) as the verbalizer key it means. */
export function normaliseLabel(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export async function readSplit(loaded: LoadedSpec, name: SplitName): Promise<Split> {
  const { spec } = loaded;
  const rel = spec.data[name];
  if (!rel) throw new Error(`split ${name} is not in the spec`);
  const file = loaded.resolvePath(rel);
  if (!existsSync(file)) {
    const line = loaded.lineOf(['data', name]);
    throw new InputError(`${file}: data file not found (data.${name} at ${loaded.file}:${line})`, { file: loaded.file, line, field: `data.${name}` });
  }
  const format = formatOf(file, spec.data.format);
  const labels = Object.keys(spec.data.verbalizer);
  const counts = Object.fromEntries(labels.map((l) => [l, 0]));
  const examples: Example[] = [];
  const used = templateUses(loaded);
  for await (const record of readRecords(file, { format, header: spec.data.header, columns: spec.data.columns })) {
    if (spec.data.maxExamples && examples.length >= spec.data.maxExamples) break;
    const where = { file, line: record.line };
    if (examples.length === 0) checkTemplateFields(loaded, record.fields, file);
    if (!(spec.data.label in record.fields)) throw new InputError(`${file}:${record.line}: the label field "${spec.data.label}" is missing (data.label); fields here: ${Object.keys(record.fields).join(', ')}`, where);
    const raw = record.fields[spec.data.label];
    const label = normaliseLabel(raw);
    if (label === undefined || label === '') throw new InputError(`${file}:${record.line}: the label field "${spec.data.label}" is empty`, where);
    if (!(label in spec.data.verbalizer)) {
      throw new InputError(`${file}:${record.line}: label ${JSON.stringify(raw)} is not in data.verbalizer (known: ${labels.join(', ')}); add it to the verbalizer or fix the record`, { ...where, field: spec.data.label });
    }
    // every template against every record: a field missing on line 900 must not surface after training
    for (const [f, by] of used) {
      const value = record.fields[f];
      if (value === undefined) throw new InputError(`${file}:${record.line}: field "${f}" is missing (${by} uses it); fields here: ${Object.keys(record.fields).join(', ')}`, { ...where, field: f });
      if (value === null) throw new InputError(`${file}:${record.line}: field "${f}" is null (${by} uses it); give it a text or remove the record`, { ...where, field: f });
    }
    counts[label]++;
    examples.push({ index: examples.length, line: record.line, fields: record.fields, label });
  }
  if (examples.length === 0) throw new InputError(`${file}: the ${name} split has no records; add examples or remove data.${name} from the spec`, { file });
  return { name, file, examples, counts };
}

/** Each data field the spec's templates fill, with the first template that uses it. */
function templateUses(loaded: LoadedSpec): Map<string, string> {
  const used = new Map<string, string>();
  for (const t of specTemplates(loaded)) {
    for (const f of templateFields(t.template)) if (!used.has(f) && !t.derived.has(f)) used.set(f, t.path.join('.'));
  }
  return used;
}

function specTemplates(loaded: LoadedSpec): { path: (string | number)[]; template: string; derived: Set<string> }[] {
  const { spec } = loaded;
  const templates: { path: (string | number)[]; template: string }[] = [
    { path: ['data', 'text'], template: spec.data.text },
    { path: ['softPrompt', 'template'], template: spec.softPrompt.template },
    ...spec.discretePrompts.map((p, i) => ({ path: ['discretePrompts', i, 'template'], template: p.template })),
  ];
  templates.push(...spec.pipelines.flatMap((p, i) => [
    { path: ['pipelines', i, 'stage1', 'template'], template: p.stage1.template },
    { path: ['pipelines', i, 'stage2', 'template'], template: p.stage2.template },
  ]));
  // {stage1} is filled by a pipeline's first stage, not by the data
  const derived = spec.pipelines.length > 0 ? new Set(['stage1']) : new Set<string>();
  return templates.map((t) => ({ ...t, derived }));
}

/** Every template in the spec may only name fields the data has (said against the spec's line on the first record). */
function checkTemplateFields(loaded: LoadedSpec, fields: Record<string, unknown>, file: string): void {
  for (const t of specTemplates(loaded)) {
    for (const f of templateFields(t.template)) {
      if (!(f in fields) && !t.derived.has(f)) {
        const line = loaded.lineOf(t.path);
        throw new InputError(`${loaded.file}:${line ?? 1}: ${t.path.join('.')} names field {${f}}, which ${file} does not have (fields: ${Object.keys(fields).join(', ')})`, { file: loaded.file, line, field: t.path.join('.') });
      }
    }
  }
}

export function describeSplit(split: Split): string {
  const total = split.examples.length;
  const balance = Object.entries(split.counts).map(([l, c]) => `${l} ${c} (${((100 * c) / total).toFixed(0)}%)`).join(', ');
  return `${split.name}: ${total} examples; ${balance}`;
}
