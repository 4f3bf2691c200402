// A run folder written elsewhere (the exported Accelerate job on a cluster) brought into a runs
// folder, after checking that its files have the fields the tree and the comparison panel read.
// Reads files only, so the extension host may run it.
import { cpSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from './errors.js';
import { readPeftAdapter } from './peft-adapter.js';
import { ADAPTER_FILES, readJsonLinesFile, readRunJson, RunDir } from './run-folder.js';
import type { RunRecord } from './run-files.js';

const STATUSES = ['running', 'completed', 'cancelled', 'failed'];
const KINDS = ['discrete', 'soft', 'ensemble', 'model', 'pipeline', 'pipeline-stage1'];

type Check = [field: string, ok: (v: unknown) => boolean, expected: string];
const isString = (v: unknown) => typeof v === 'string';
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isNumberOrNull = (v: unknown) => v === null || isNumber(v);
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

function get(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (isObject(v) || Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined), value);
}

function check(file: string, where: string, value: unknown, checks: Check[]): void {
  for (const [field, ok, expected] of checks) {
    const v = get(value, field);
    if (!ok(v)) {
      const name = where ? `${where}.${field}` : field;
      throw new InputError(`${file}: ${name} is ${v === undefined ? 'missing' : JSON.stringify(v)}; expected ${expected}`, { file, field: name });
    }
  }
}

/** A JSON-lines file of a run folder; `required`: its absence is an error. */
function readRequiredLines(file: string, required: boolean): { line: number; value: unknown }[] {
  if (required && !existsSync(file)) throw new InputError(`${file}: missing; a run folder needs it`, { file });
  return readJsonLinesFile(file);
}

/** Checks a run folder's files; returns its run.json. Throws an InputError naming the file and the field. */
export function validateRunFolder(dir: string): RunRecord {
  const runFile = join(dir, 'run.json');
  const record = readRunJson(runFile, 'run.json');
  check(runFile, '', record, [
    ['name', isString, 'the run name (a string)'],
    ['spec', isObject, 'the spec the run was trained with (an object)'],
    ['spec.data.verbalizer', isObject, 'the spec\'s verbalizer (an object)'],
    ['spec.softPrompt.id', isString, 'the soft prompt\'s id (a string)'],
    ['model.id', isString, 'the model id (a string)'],
    ['status', (v) => STATUSES.includes(v as string), STATUSES.join(', ')],
    ['step', isNumber, 'a number'],
    ['steps', isNumber, 'a number'],
    ['seed', isNumber, 'a number'],
    ['createdAt', isString, 'an ISO date (a string)'],
    ['bestDevAccuracy', isNumberOrNull, 'a number or null'],
  ]);
  const evalFile = join(dir, 'eval.json');
  const ev = readRunJson(evalFile, 'eval.json');
  // a text-target run (task "target") has no label set: its results hold text metrics instead
  const target = (ev as { task?: unknown }).task === 'target';
  check(evalFile, '', ev, [
    ['split', (v) => v === 'test' || v === 'dev', '"test" or "dev"'],
    ['file', isString, 'the evaluated data file (a string)'],
    ['labels', (v) => Array.isArray(v) && (target || v.length > 0) && v.every(isString), target ? 'a list (empty for a text target)' : 'the labels (strings)'],
    ['results', (v) => Array.isArray(v) && v.length > 0, 'one result per prompt (a non-empty array)'],
  ]);
  const labels = (ev as { labels: string[] }).labels;
  (ev as { results: unknown[] }).results.forEach((r, i) => check(evalFile, `results.${i}`, r, [
    ['id', isString, 'the prompt id (a string)'],
    ['kind', (v) => KINDS.includes(v as string), KINDS.join(', ')],
    ['count', isNumber, 'a number'],
    ['accuracy', (v) => isNumber(v) && (v as number) >= 0 && (v as number) <= 1, 'a fraction between 0 and 1'],
    ['nll', isNumberOrNull, 'a number or null'],
    ...(target ? [
      ['exactMatch', isNumber, 'a number (the share of outputs equal to their targets)'] as Check,
    ] : [
      ['macroF1', isNumber, 'a number'] as Check,
      ['confusion', (v: unknown) => Array.isArray(v) && v.length === labels.length, `a ${labels.length} x ${labels.length} matrix`] as Check,
      ['predictedRate', isObject, 'an object (label to share)'] as Check,
    ]),
  ]));
  const predictionsFile = join(dir, 'predictions.jsonl');
  for (const { line, value } of readRequiredLines(predictionsFile, true)) {
    check(`${predictionsFile}:${line}`, '', value, [
      ['index', isNumber, 'a number'],
      ['line', isNumber, 'the record\'s line in the data file (a number)'],
      ['promptId', isString, 'a string'],
      target ? ['gold', isString, 'the target text (a string)'] : ['gold', (v) => labels.includes(v as string), `one of ${labels.join(', ')}`],
      ['prediction', isString, 'a string'],
      ['correct', (v) => typeof v === 'boolean', 'true or false'],
    ]);
  }
  const metricsFile = join(dir, 'metrics.jsonl');
  for (const { line, value } of readRequiredLines(metricsFile, false)) check(`${metricsFile}:${line}`, '', value, [['step', isNumber, 'a number']]);
  // a soft prompt's result needs the prompt itself, for evaluation and export later
  if ((ev as { results: { kind: string }[] }).results.some((r) => r.kind === 'soft')) readPeftAdapter(dir);
  return record as RunRecord;
}

const RUN_FILES = ['run.json', 'eval.json', 'predictions.jsonl', 'metrics.jsonl', ...ADAPTER_FILES];

/** Copies a checked run folder into `runsDir` as a new run; run.json records where it came from. */
export function importRunFolder(dir: string, runsDir: string, name?: string): RunDir {
  const source = resolve(dir);
  if (!existsSync(source)) throw new InputError(`${source}: no such folder`, { file: source });
  const record = validateRunFolder(source);
  const run = RunDir.create(runsDir, name ?? record.name);
  for (const f of RUN_FILES) if (existsSync(join(source, f))) cpSync(join(source, f), run.path(f));
  run.writeRecord({ ...record, id: run.id, importedFrom: source }, { claim: false });
  return run;
}
