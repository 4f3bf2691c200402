// Datasets: JSONL, CSV and TSV (with or without a header), read as streams, each record kept
// with its line number so results and errors point at the user's file.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { InputError } from './errors.js';
import type { LoadedSpec, Spec } from './spec.js';
import { fillTemplate, templateFields } from './template.js';

export type SplitName = 'train' | 'dev' | 'test';

export interface Example {
  /** Position in its split. */
  index: number;
  /** 1-based line in the data file where the record starts. */
  line: number;
  fields: Record<string, unknown>;
  /** The gold label normalised to the verbalizer's key; empty in a text-target task. */
  label: string;
  /** A text-target task: data.target filled from the record, the output expected. */
  target?: string;
}

/** The text an example's answer is: its label's verbalizer text, or its target. */
export function answerText(spec: Spec, example: Example): string {
  return example.target ?? spec.data.verbalizer[example.label];
}

export interface Split {
  name: SplitName;
  file: string;
  examples: Example[];
  /** Examples per label, in verbalizer order (none in a text-target task). */
  counts: Record<string, number>;
  /** Records left out under data.onBadRecord "skip", in file order. */
  skipped?: SkippedRecord[];
  /** The data file's sha256 (`sha256:<hex>`), whole, as run.json records it so a resume can tell an edited file. */
  sha256?: string;
}

/** A file's sha256 as `sha256:<hex>`, read as a stream (a large file never whole in memory). */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
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

/**
 * A file's text in pieces as it is read (a BOM dropped), refused at the first bytes that are not
 * UTF-8 (Latin-1 or Windows-1252, say), naming the line: decoding them anyway would put
 * replacement characters into the prompts without a word. One pass, so records come while the
 * rest of a large file is still unread. `onBytes` hears the bytes read so far.
 */
async function* utf8Text(file: string, onBytes: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let linesBefore = 0;
  let bytes = 0;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw notUtf8(file, linesBefore, Buffer.concat([carry, chunk]));
    }
    carry = Buffer.from(incompleteTail(chunk));
    linesBefore += countNewlines(chunk);
    bytes += chunk.length;
    onBytes(bytes);
    if (text) yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw notUtf8(file, linesBefore, carry);
  }
  if (rest) yield rest;
}

/** Lines as node's readline splits them (at LF, CR LF or a lone CR), from text arriving in pieces. */
async function* textLines(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  // `rest` holds no line break, but for a CR at its end that may be the first half of a CR LF
  let rest = '';
  for await (const piece of pieces) {
    const text = rest + piece;
    let start = 0;
    for (let i = Math.max(0, rest.length - 1); i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === text.length - 1) break;
      yield text.slice(start, i);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    rest = text.slice(start);
  }
  if (rest) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** The start of a character cut off at the chunk's end (completed by the next chunk), or nothing. */
function incompleteTail(chunk: Buffer): Buffer {
  for (let k = 1; k <= Math.min(3, chunk.length); k++) {
    const b = chunk[chunk.length - k];
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return chunk.subarray(length > k ? chunk.length - k : chunk.length);
  }
  return chunk.subarray(chunk.length);
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 10) n++;
  return n;
}

/** The error for the first invalid sequence in `bytes`, which starts on line `linesBefore + 1`. */
function notUtf8(file: string, linesBefore: number, bytes: Buffer): InputError {
  let line = linesBefore + 1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0 || (i + length <= bytes.length && !isUtf8(bytes.subarray(i, i + length)))) break;
    if (i + length > bytes.length) break; // cut off at the end of the file
    if (b === 10) line++;
    i += length;
  }
  const shown = [...bytes.subarray(i, i + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new InputError(`${file}:${line}: not UTF-8 (bytes ${shown}); re-save the file as UTF-8 (Latin-1 and Windows-1252 text must be converted)`, { file, line });
}

/** A record left out of a split under data.onBadRecord "skip": where it is and why. */
export interface SkippedRecord { file: string; line: number; reason: string }

export interface ReadOptions {
  format: 'jsonl' | 'csv' | 'tsv'; header: boolean; columns?: string[];
  /**
   * Given, a malformed record (a line that is not a JSON object, a CSV row with the wrong number of
   * columns) is passed here and left out; else it stops the reading. A CSV parse error (a quote
   * never closed) always stops it: what follows cannot be told apart.
   */
  onMalformed?: (line: number, reason: string) => void;
  /** Called with the bytes read so far, as records come (for progress on large files). */
  onBytesRead?: (bytes: number) => void;
}

/** Reads records one at a time, in one pass over the file (its UTF-8 checked as it is read). */
/** Why a data path cannot be read as a data file (absent, a folder, a pipe or device), or null. */
export function dataFileProblem(file: string): string | null {
  if (!existsSync(file)) return 'data file not found';
  const st = statSync(file);
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'is a folder, not a data file; name a JSONL, CSV or TSV file in it';
  const kind = st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
  // a split is read more than once (checked, then hashed for resumes): a pipe's data would be gone
  return `is ${kind}, not a regular file; data files are read more than once, so save the data to a file and name that`;
}

export async function* readRecords(file: string, options: ReadOptions): AsyncGenerator<RawRecord> {
  const unreadable = dataFileProblem(file);
  if (unreadable) throw new InputError(`${file}: ${unreadable}`, { file });
  const malformed = (line: number, reason: string) => {
    if (!options.onMalformed) throw new InputError(`${file}:${line}: ${reason}`, { file, line });
    options.onMalformed(line, reason);
  };
  let bytesRead = 0;
  const text = utf8Text(file, (bytes) => { bytesRead = bytes; });
  if (options.format === 'jsonl') {
    let line = 0;
    for await (const content of textLines(text)) {
      line++;
      options.onBytesRead?.(bytesRead);
      const trimmed = content.replace(/^\uFEFF/, '').trim();
      if (!trimmed) continue;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch (e) {
        malformed(line, `not valid JSON (${(e as Error).message}); each line must be one JSON object`);
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        malformed(line, `expected a JSON object with named fields, got ${Array.isArray(value) ? 'an array' : typeof value}`);
        continue;
      }
      yield { line, fields: value as Record<string, unknown> };
    }
    return;
  }
  const source = Readable.from(text);
  const parser = parseCsv({
    delimiter: options.format === 'tsv' ? '\t' : ',',
    quote: options.format === 'tsv' ? false : '"',
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_quotes: options.format === 'tsv',
    relax_column_count: true, // checked below, with a message that names the columns
  });
  // a not-UTF-8 error in the text stops the parser with it
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  let columns = options.header ? undefined : options.columns;
  const twice = columns?.findIndex((c, i) => columns!.indexOf(c) !== i) ?? -1;
  if (columns && twice >= 0) throw new InputError(`${file}: data.columns names "${columns[twice]}" twice (columns ${columns.indexOf(columns[twice]) + 1} and ${twice + 1}); each column needs its own name`, { file, field: 'data.columns' });
  // csv-parse counts a CR LF inside a quoted field as two lines (and reports a record at its last
  // line): `overcount` is its running excess, so records are reported at their first line
  let overcount = 0;
  // the last line of the last whole record: a quote never closed opened after it
  let lastEnd = 0;
  try {
    for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      options.onBytesRead?.(bytesRead);
      const { record, info } = row;
      let breaks = 0;
      for (const field of record) {
        const counted = field.match(/[\r\n]/g)?.length ?? 0;
        const real = field.match(/\r\n|\r|\n/g)?.length ?? 0;
        overcount += counted - real;
        breaks += real;
      }
      const line = info.lines - overcount - breaks;
      lastEnd = info.lines - overcount;
      if (!columns) {
        columns = record.map((c) => c.trim());
        // the last of two same-named columns would silently win in every record
        const twice = columns.findIndex((c, i) => columns!.indexOf(c) !== i);
        if (twice >= 0) throw new InputError(`${file}:${line}: the header names column "${columns[twice]}" twice (columns ${columns.indexOf(columns[twice]) + 1} and ${twice + 1}); each column needs its own name: rename one`, { file, line });
        continue;
      }
      if (record.length !== columns.length) {
        malformed(line, `${record.length} columns, but the ${options.header ? 'header' : 'data.columns'} names ${columns.length} (${columns.join(', ')})`);
        continue;
      }
      yield { line, fields: Object.fromEntries(columns.map((c, i) => [c, record[i]])) };
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as Error & { lines?: number; code?: string };
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
      // csv-parse names the last line of the file; the quote opened in the record after the last
      // whole one, at the line of its last opening quote (blank lines may come first)
      const line = (await unclosedQuoteLine(file, lastEnd)) ?? lastEnd + 1;
      throw new InputError(`${file}:${line}: a quote opened in this record is never closed, so the rest of the file reads as one field; close the quote, or double it ("") inside a quoted field`, { file, line });
    }
    const line = err.lines === undefined ? undefined : err.lines - overcount;
    throw new InputError(`${file}:${line ?? '?'}: cannot parse ${options.format.toUpperCase()} (${err.message})`, { file, line });
  } finally {
    // a reader that stops early (maxExamples) closes the file
    source.destroy();
  }
}

/**
 * The line of the quote that is never closed, read from the line after `after` (every record up to
 * it was whole): quotes open and close a field, a doubled quote inside one is a quote character.
 */
async function unclosedQuoteLine(file: string, after: number): Promise<number | null> {
  let line = 1;
  let inside = false;
  let openedAt: number | null = null;
  let pending = false; // a quote inside a field, which may be the first of a doubled pair
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    for (const c of chunk) {
      if (pending) {
        pending = false;
        if (c === '"') continue; // "" inside a field
        inside = false;
      }
      if (c === '\n') line++;
      if (line <= after || c !== '"') continue;
      if (inside) pending = true;
      else {
        inside = true;
        openedAt = line;
      }
    }
  }
  return inside && !pending ? openedAt : null;
}

/** A label value as written in a file (string, number or boolean) as the verbalizer key it means. */
export function normaliseLabel(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** What makes a record unusable for the spec, or nothing: the first reason found, with the field it is about. */
export function recordProblem(loaded: LoadedSpec, used: Map<string, string>, fields: Record<string, unknown>): { reason: string; field?: string; label?: string } | undefined {
  const { data } = loaded.spec;
  // a text-target task's fields are all template fields, checked below (data.target among them)
  if (data.label === undefined) return fieldProblem(used, fields);
  if (!(data.label in fields)) return { reason: `the label field "${data.label}" is missing (data.label); fields here: ${Object.keys(fields).join(', ')}`, field: data.label };
  const raw = fields[data.label];
  const label = normaliseLabel(raw);
  if (label === undefined || label === '') return { reason: `the label field "${data.label}" is empty`, field: data.label };
  if (!(label in data.verbalizer)) {
    return { reason: `label ${JSON.stringify(raw)} is not in data.verbalizer (known: ${Object.keys(data.verbalizer).join(', ')}); add it to the verbalizer or fix the record`, field: data.label, label };
  }
  return fieldProblem(used, fields);
}

/** Every template against a record: a field missing on line 900 must not surface after training. */
function fieldProblem(used: Map<string, string>, fields: Record<string, unknown>): { reason: string; field?: string } | undefined {
  for (const [f, by] of used) {
    const value = fields[f];
    if (value === undefined) return { reason: `field "${f}" is missing (${by} uses it); fields here: ${Object.keys(fields).join(', ')}`, field: f };
    if (value === null) return { reason: `field "${f}" is null (${by} uses it); give it a text or remove the record`, field: f };
    // a template would put the JSON of a list or object into the prompt
    if (typeof value === 'object') return { reason: `field "${f}" is ${Array.isArray(value) ? 'a list' : 'an object'} (${by} uses it); a template fills in text, numbers or true/false only`, field: f };
  }
  return undefined;
}

/** Files from this size on report their reading (`onProgress`): smaller ones read in a moment. */
export const LARGE_DATA_FILE = 20 * 2 ** 20;

export interface ReadProgress { file: string; bytesRead: number; totalBytes: number; records: number }

/**
 * One split's examples. A large file (LARGE_DATA_FILE) reports `onProgress` every second or so
 * while it is read, and once at the end.
 */
export async function readSplit(loaded: LoadedSpec, name: SplitName, options: { onProgress?: (p: ReadProgress) => void } = {}): Promise<Split> {
  const { spec } = loaded;
  const rel = spec.data[name];
  if (!rel) throw new Error(`split ${name} is not in the spec`);
  const file = loaded.resolvePath(rel);
  const unreadable = dataFileProblem(file);
  if (unreadable) {
    const line = loaded.lineOf(['data', name]);
    throw new InputError(`${file}: ${unreadable} (data.${name} at ${loaded.file}:${line})`, { file: loaded.file, line, field: `data.${name}` });
  }
  const format = formatOf(file, spec.data.format);
  const labels = Object.keys(spec.data.verbalizer);
  const counts = Object.fromEntries(labels.map((l) => [l, 0]));
  const targetTemplate = spec.data.target;
  const examples: Example[] = [];
  const used = templateUses(loaded);
  const skip = spec.data.onBadRecord === 'skip';
  const skipped: SkippedRecord[] = [];
  const onMalformed = skip ? (line: number, reason: string) => { skipped.push({ file, line, reason }); } : undefined;
  const totalBytes = statSync(file).size;
  let lastReport = performance.now();
  let bytesRead = 0;
  const onBytesRead = options.onProgress && totalBytes >= LARGE_DATA_FILE ? (bytes: number) => {
    bytesRead = bytes;
    if (performance.now() - lastReport < 1000) return;
    lastReport = performance.now();
    options.onProgress!({ file, bytesRead: bytes, totalBytes, records: examples.length });
  } : undefined;
  for await (const record of readRecords(file, { format, header: spec.data.header, columns: spec.data.columns, onMalformed, onBytesRead })) {
    if (spec.data.maxExamples && examples.length >= spec.data.maxExamples) break;
    // a template naming a field no record has is the spec's mistake, never a bad record to skip
    if (examples.length === 0 && !skip) checkTemplateFields(loaded, record.fields, file);
    const problem = recordProblem(loaded, used, record.fields);
    if (problem && skip) {
      skipped.push({ file, line: record.line, reason: problem.reason });
      continue;
    }
    if (problem) throw new InputError(`${file}:${record.line}: ${problem.reason}`, { file, line: record.line, field: problem.field === spec.data.label && !('label' in problem && problem.label) ? undefined : problem.field });
    if (targetTemplate !== undefined) {
      examples.push({ index: examples.length, line: record.line, fields: record.fields, label: '', target: fillTemplate(targetTemplate, record.fields) });
      continue;
    }
    const label = normaliseLabel(record.fields[spec.data.label!])!;
    counts[label]++;
    examples.push({ index: examples.length, line: record.line, fields: record.fields, label });
  }
  if (examples.length === 0 && skipped.length > 0) {
    const first = skipped[0];
    throw new InputError(`${file}: every record of the ${name} split was skipped (data.onBadRecord is "skip"), ${skipped.length} in all; the first, line ${first.line}: ${first.reason}`, { file, line: first.line });
  }
  if (examples.length === 0) throw new InputError(`${file}: the ${name} split has no records; add examples or remove data.${name} from the spec`, { file });
  if (name === 'train') checkShots(loaded, examples.length);
  // read to the end unless maxExamples stopped it
  const stoppedEarly = spec.data.maxExamples !== undefined && examples.length >= spec.data.maxExamples;
  if (onBytesRead) options.onProgress!({ file, bytesRead: stoppedEarly ? bytesRead : totalBytes, totalBytes, records: examples.length });
  return { name, file, examples, counts, skipped, sha256: await fileSha256(file) };
}

/** k-shot prompts draw k distinct train examples: more than the split holds cannot be drawn. */
function checkShots(loaded: LoadedSpec, trainSize: number): void {
  loaded.spec.discretePrompts.forEach((p, i) => {
    if (p.shots <= trainSize) return;
    const path = ['discretePrompts', i, 'shots'];
    const line = loaded.lineOf(path);
    const capped = loaded.spec.data.maxExamples !== undefined && trainSize === loaded.spec.data.maxExamples ? ` (data.maxExamples is ${loaded.spec.data.maxExamples})` : '';
    throw new InputError(`${loaded.file}:${line ?? 1}: ${path.join('.')} is ${p.shots}, but the train split has only ${trainSize} examples${capped}; lower shots or add train examples`, { file: loaded.file, line, field: path.join('.') });
  });
}

/** Each data field the spec's templates fill, with the first template that uses it. */
export function templateUses(loaded: LoadedSpec): Map<string, string> {
  const used = new Map<string, string>();
  for (const t of specTemplates(loaded)) {
    for (const f of templateFields(t.template)) if (!used.has(f) && !t.derived.has(f)) used.set(f, t.path.join('.'));
  }
  return used;
}

export function specTemplates(loaded: LoadedSpec): { path: (string | number)[]; template: string; derived: Set<string> }[] {
  const { spec } = loaded;
  const templates: { path: (string | number)[]; template: string }[] = [
    { path: ['data', 'text'], template: spec.data.text },
    ...(spec.data.target !== undefined ? [{ path: ['data', 'target'], template: spec.data.target }] : []),
    { path: ['softPrompt', 'template'], template: spec.softPrompt.template },
    ...spec.discretePrompts.flatMap((p, i) => (p.template !== undefined ? [{ path: ['discretePrompts', i, 'template'], template: p.template }] : [])),
    // every message of a chat prompt is a template of its own
    ...spec.discretePrompts.flatMap((p, i) => (p.messages ?? []).map((m, j) => ({ path: ['discretePrompts', i, 'messages', j, 'content'], template: m.content }))),
    ...(spec.softPrompt.messages ?? []).map((m, j) => ({ path: ['softPrompt', 'messages', j, 'content'], template: m.content })),
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
  const targets = split.examples.filter((e) => e.target !== undefined);
  const balance = targets.length
    ? `text targets, ${new Set(targets.map((e) => e.target)).size} distinct, ${Math.round(targets.reduce((s, e) => s + e.target!.length, 0) / targets.length)} characters on average`
    : Object.entries(split.counts).map(([l, c]) => `${l} ${c} (${((100 * c) / total).toFixed(0)}%)`).join(', ');
  const skipped = split.skipped?.length ? `; ${split.skipped.length} bad records skipped under data.onBadRecord (${split.skipped.slice(0, 5).map((r) => `line ${r.line}: ${r.reason}`).join('; ')}${split.skipped.length > 5 ? '; ...' : ''})` : '';
  return `${split.name}: ${total} examples; ${balance}${skipped}`;
}
