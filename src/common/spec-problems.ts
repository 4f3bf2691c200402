// Every problem of a spec and the data files it names at once, each at its file, line and column:
// what the Problems view shows on save, where a job stops at the first one.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { dataFileProblem, formatOf, normaliseLabel, readRecords, recordProblem, specTemplates, templateUses, type SplitName } from './data.js';
import { InputError, type InputProblem } from './errors.js';
import { analyseSpec, type LoadedSpec, type Spec, type SpecAnalysis } from './spec.js';
import { templateFields } from './template.js';

/** Records read per data file: enough to find a pattern of mistakes, few enough to keep an editor responsive. */
export const SCAN_LIMIT = 10_000;
/** Problems listed per kind (a field, a label) before the rest are counted in the first one's message. */
const LINES_NAMED = 5;
/** Malformed lines of one file reported one by one; the rest are one problem. */
const MALFORMED_NAMED = 100;

export interface SpecCheck {
  problems: InputProblem[];
  /** The data files the spec names (absolute), found or not: a save of one should check the spec again. */
  dataFiles: string[];
}

/**
 * Label texts of very different lengths, in characters: rank classification sums the labels'
 * log-probabilities, so a long label loses to a short one whatever the prompt. Characters stand in
 * for tokens where no tokenizer is loaded: a ratio of 2 and a gap of 8 characters (about 2 tokens,
 * the job's own threshold); the job warns again with the exact token counts.
 */
export function labelLengthAdvice(verbalizer: Record<string, string>): string | null {
  const lengths = Object.entries(verbalizer).map(([label, text]) => ({ label, chars: text.length }));
  if (lengths.length < 2) return null;
  const min = Math.min(...lengths.map((l) => l.chars));
  const max = Math.max(...lengths.map((l) => l.chars));
  if (max < 2 * min || max - min < 8) return null;
  return `label texts have ${min} to ${max} characters (${lengths.map((l) => `${l.label} ${l.chars}`).join(', ')}); rank classification sums log-probabilities, which favours short labels: give the labels texts of similar length, or set evaluation.rankScoring to "mean" in the spec (training warns again with the token counts).`;
}

/**
 * Fields a spec sets that do nothing, or combine into a silently wrong experiment, each with its
 * path: said as warnings by the Problems view and by every job before it starts.
 */
export function specFieldWarnings(spec: Spec): { path: (string | number)[]; message: string }[] {
  const warnings: { path: (string | number)[]; message: string }[] = [];
  const { data, softPrompt, training } = spec;
  // "It was" + " " + " happy" puts two spaces before the label, a token sequence the model never
  // saw after a word: seen scoring every prompt as one class
  if (/\s$/.test(data.labelSeparator)) {
    const shown = JSON.stringify(data.labelSeparator);
    for (const [label, text] of Object.entries(data.verbalizer)) {
      if (/^\s/.test(text)) warnings.push({ path: ['data', 'verbalizer', label], message: `data.verbalizer.${label} (${JSON.stringify(text)}) starts with a space, and data.labelSeparator (${shown}) already puts one before it: the model would be scored on two spaces before the label; remove the leading space (or set labelSeparator to "")` });
    }
    if (data.target !== undefined && /^\s/.test(data.target)) warnings.push({ path: ['data', 'target'], message: `data.target (${JSON.stringify(data.target)}) starts with a space, and data.labelSeparator (${shown}) already puts one before it: the model would learn two spaces before every answer; remove the leading space (or set labelSeparator to "")` });
  }
  if (softPrompt.initText !== undefined && softPrompt.init !== 'text') warnings.push({ path: ['softPrompt', 'initText'], message: `softPrompt.initText is ignored: softPrompt.init is "${softPrompt.init}"; set init to "text" to start from the text's embeddings, or remove initText` });
  if (softPrompt.initFile !== undefined && softPrompt.init !== 'file') warnings.push({ path: ['softPrompt', 'initFile'], message: `softPrompt.initFile is ignored: softPrompt.init is "${softPrompt.init}"; set init to "file" to start from that soft prompt, or remove initFile` });
  if (training.patience !== undefined && data.dev === undefined) warnings.push({ path: ['training', 'patience'], message: 'training.patience is ignored: early stopping watches the dev split, and data.dev is not set; add a dev split, or remove patience' });
  return warnings;
}

export async function specProblems(specFile: string, options: { text?: string; scanLimit?: number } = {}): Promise<InputProblem[]> {
  return (await checkSpec(specFile, options)).problems;
}

/**
 * Checks a spec (its saved text, or `options.text`, an editor's unsaved one) and the first
 * `scanLimit` records of every split it names; never throws for a problem of the input.
 */
export async function checkSpec(specFile: string, options: { text?: string; scanLimit?: number } = {}): Promise<SpecCheck> {
  const file = resolve(specFile);
  if (options.text === undefined && !existsSync(file)) return { problems: [{ file, severity: 'error', message: 'spec file not found' }], dataFiles: [] };
  const analysis = analyseSpec(options.text ?? readFileSync(file, 'utf8'), file);
  const { loaded } = analysis;
  if (!loaded) return { problems: analysis.problems, dataFiles: [] };
  const problems = [...analysis.problems];
  const { spec } = loaded;
  const at = (path: (string | number)[], severity: InputProblem['severity'], message: string): InputProblem => ({ file, field: path.join('.'), ...analysis.rangeOf(path), severity, message });

  for (const w of specFieldWarnings(spec)) problems.push(at(w.path, 'warning', w.message));
  const lengths = spec.evaluation.rankScoring === 'sum' ? labelLengthAdvice(spec.data.verbalizer) : null;
  if (lengths) problems.push(at(['data', 'verbalizer'], 'warning', lengths));

  const splits = (['train', 'dev', 'test'] as const).filter((name) => spec.data[name] !== undefined);
  const seenLabels = new Set<string>();
  let complete = true;
  let trainRecords: number | undefined;
  const absent = new Map<string, string[]>();
  for (const name of splits) {
    const scan = await scanSplit(loaded, analysis, name, options.scanLimit ?? SCAN_LIMIT);
    problems.push(...scan.problems);
    for (const f of scan.absentFields) absent.set(f, [...(absent.get(f) ?? []), spec.data[name]!]);
    scan.labels.forEach((l) => seenLabels.add(l));
    complete &&= scan.complete;
    if (name === 'train' && scan.complete) trainRecords = scan.usable;
  }
  for (const [f, files] of absent) {
    for (const t of specTemplates(loaded)) {
      if (t.derived.has(f) || !templateFields(t.template).includes(f)) continue;
      problems.push({ file, field: t.path.join('.'), ...analysis.rangeIn(t.path, `{${f}}`), severity: 'error', message: `${t.path.join('.')} names field {${f}}, which no record of ${files.join(' or ')} has; use one of its fields or add the field to the data` });
    }
  }
  // only when every split was read whole can a label be said to be absent
  if (complete) {
    const found = [...seenLabels].join(', ') || 'none';
    for (const key of Object.keys(spec.data.verbalizer)) {
      if (!seenLabels.has(key)) problems.push(at(['data', 'verbalizer', key], 'warning', `data.verbalizer.${key}: no record of ${splits.map((s) => spec.data[s]).join(', ')} has the label "${key}" (labels found: ${found}); rename the key to a label the data uses, or remove it`));
    }
  }
  if (trainRecords !== undefined && trainRecords > 0) {
    spec.discretePrompts.forEach((p, i) => {
      if (p.shots > trainRecords!) problems.push(at(['discretePrompts', i, 'shots'], 'error', `discretePrompts.${i}.shots is ${p.shots}, but the train split has only ${trainRecords} usable records; lower shots or add train examples`));
    });
  }
  return { problems, dataFiles: splits.map((name) => loaded.resolvePath(spec.data[name]!)) };
}

interface SplitScan {
  problems: InputProblem[];
  /** Labels (verbalizer keys or not) found in the records read. */
  labels: Set<string>;
  /** Records that would become examples. */
  usable: number;
  /** Whether the file was read to its end (or to data.maxExamples). */
  complete: boolean;
  /** Template fields that no record read has. */
  absentFields: Set<string>;
}

/** The same mistake on many records: reported once, at its first line, with the count and the next lines. */
interface Group { line: number; reason: string; field?: string; lines: number[] }

async function scanSplit(loaded: LoadedSpec, analysis: SpecAnalysis, name: SplitName, scanLimit: number): Promise<SplitScan> {
  const { spec } = loaded;
  const problems: InputProblem[] = [];
  const scan: SplitScan = { problems, labels: new Set(), usable: 0, complete: true, absentFields: new Set() };
  const onSpec = (path: (string | number)[], severity: InputProblem['severity'], message: string, range = analysis.rangeOf(path)) => problems.push({ file: loaded.file, field: path.join('.'), ...range, severity, message });
  const file = loaded.resolvePath(spec.data[name]!);
  const unreadable = dataFileProblem(file);
  if (unreadable) {
    onSpec(['data', name], 'error', existsSync(file) ? `data.${name}: ${file} ${unreadable}` : `data.${name}: ${file} not found; create it or correct the path (relative to the spec's folder)`);
    return scan;
  }
  let format: 'jsonl' | 'csv' | 'tsv';
  try {
    format = formatOf(file, spec.data.format);
  } catch (e) {
    onSpec(['data', name], 'error', withoutPlace((e as Error).message, file));
    return scan;
  }
  // under "skip" a bad record costs the run one example, not the run
  const skip = spec.data.onBadRecord === 'skip';
  const severity = skip ? 'warning' : 'error';
  const consequence = skip ? ' (skipped in training: data.onBadRecord is "skip")' : '';
  const groups = new Map<string, Group>();
  const note = (key: string, line: number, reason: string, field?: string) => {
    const group = groups.get(key);
    if (group) group.lines.push(line);
    else groups.set(key, { line, reason, field, lines: [line] });
  };
  const used = templateUses(loaded);
  const lacking = new Map<string, number>();
  let records = 0;
  try {
    // each malformed line its own problem, up to a point where they are one problem with a count
    let malformed = 0;
    const onMalformed = (line: number, reason: string) => note(++malformed <= MALFORMED_NAMED ? `malformed:${line}` : 'malformed', line, reason);
    const reading = readRecords(file, { format, header: spec.data.header, columns: spec.data.columns, onMalformed });
    for await (const record of reading) {
      // data.maxExamples ends the split; the scan limit only ends this check
      if (spec.data.maxExamples !== undefined && scan.usable >= spec.data.maxExamples) break;
      if (records >= scanLimit) {
        scan.complete = false;
        break;
      }
      records++;
      for (const f of used.keys()) if (!(f in record.fields)) lacking.set(f, (lacking.get(f) ?? 0) + 1);
      const label = spec.data.label === undefined ? undefined : normaliseLabel(record.fields[spec.data.label]);
      if (label) scan.labels.add(label);
      const problem = recordProblem(loaded, used, record.fields);
      if (!problem) scan.usable++;
      else note(problem.label !== undefined ? `label:${problem.label}` : `${problem.field}:${problem.reason.replace(/;.*/, '')}`, record.line, problem.reason, problem.field);
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // not UTF-8, or a CSV that cannot be parsed: nothing after it can be read
    problems.push({ file: e.location?.file ?? file, line: e.location?.line, severity: 'error', message: `${withoutPlace(e.message, file)}; the rest of the file was not checked` });
    scan.complete = false;
  }
  // a field no record has is a typo in the spec's template, said there (by checkSpec, once for all splits)
  const everywhere = new Set([...lacking].filter(([, n]) => records > 0 && n === records).map(([f]) => f));
  scan.absentFields = everywhere;
  for (const group of groups.values()) {
    if (group.field !== undefined && everywhere.has(group.field) && group.reason.startsWith(`field "${group.field}" is missing`)) continue;
    const more = group.lines.length - 1;
    const others = more > 0 ? ` (${more} more record${more > 1 ? 's' : ''} like it: line${more > 1 ? 's' : ''} ${group.lines.slice(1, 1 + LINES_NAMED).join(', ')}${more > LINES_NAMED ? ', ...' : ''})` : '';
    problems.push({ file, line: group.line, field: group.field, severity, message: `${group.reason}${others}${consequence}` });
  }
  if (!scan.complete && records >= scanLimit) onSpec(['data', name], 'info', `data.${name}: only the first ${scanLimit.toLocaleString('en-US')} records of ${spec.data[name]} were checked here; training reads and checks them all`);
  if (records === 0 && problems.length === 0) onSpec(['data', name], 'error', `data.${name}: ${spec.data[name]} has no records; add examples or remove data.${name} from the spec`);
  return scan;
}

/** An InputError's message without the "file:line: " it starts with (a problem carries its place). */
function withoutPlace(message: string, file: string): string {
  return message.startsWith(file) ? message.slice(file.length).replace(/^(:[\d?]+)?: /, '') : message;
}
