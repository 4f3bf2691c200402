// The experiment spec (*.ptune.json): parsed with positions so every error names its line,
// validated against schema/ptune.schema.json with ajv, defaults filled in.
import AjvModule, { type ValidateFunction } from 'ajv';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { fileSystemError, InputError, problemError, type InputProblem } from './errors.js';
import { packageRoot } from './paths.js';
import { templateFields } from './template.js';
import type { AssertionSpec, HeadlineMetric, TaskKind } from './task-types.js';
import { validateAssertion } from './assertions.js';

export interface DataSpec {
  train: string; dev?: string; test?: string;
  format?: 'jsonl' | 'csv' | 'tsv'; header: boolean; columns?: string[];
  text: string;
  /** A label task: the field holding the gold label (absent in a text-target task). */
  label?: string;
  /** A label task: each label's text; empty in a text-target task. */
  verbalizer: Record<string, string>;
  /** A text-target task: the template of the expected output ({answer}, {city}, {country}); excludes label. */
  target?: string;
  labelSeparator: string; maxExamples?: number;
  /** A malformed record, or one without its label or a template's field: stop (error) or leave it out and list it (skip). */
  onBadRecord: 'error' | 'skip';
}
/** One turn of a chat prompt; `content` is a template ({field} filled from the record). */
export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }
/**
 * A text prompt: a `template`, or chat `messages` rendered with the model's chat template (its
 * k-shot demonstrations become user/assistant turns before the last user message).
 */
export interface DiscretePromptSpec {
  id: string; template?: string; messages?: ChatMessage[]; shots: number; shotSeparator: string;
  /** Text-target tasks: assertions for this prompt's outputs, beside evaluation.assert. */
  assert?: AssertionSpec[];
}
export interface SoftPromptSpec {
  id: string; length: number; init: 'random-uniform' | 'sampled-vocab' | 'class-labels' | 'text' | 'file';
  initText?: string; initFile?: string; template: string;
  /** Tuned for this chat format: the soft prompt goes before the rendered conversation (template is then unused). */
  messages?: ChatMessage[];
  /** Stage two of this pipeline: its fixed first stage fills {stage1}. */
  stage1?: string;
  /** Stage one of this pipeline, its second stage fixed. */
  stageOneOf?: string;
  /** Text-target tasks: assertions for this prompt's outputs, beside evaluation.assert. */
  assert?: AssertionSpec[];
}
export interface PipelineSpec {
  id: string;
  stage1: { template: string; softPrompt?: string; maxNewTokens: number };
  stage2: { template: string; softPrompt?: string };
}
export interface TrainingSpec {
  optimizer: 'adafactor' | 'adam'; learningRate: number; schedule: 'constant' | 'linear' | 'warmup' | 'warmup-linear'; warmupSteps: number;
  steps: number; batchSize: number; evalEvery: number; checkpointEvery: number; patience?: number; sampling: 'random' | 'balanced';
  clipNorm?: number; weightDecay: number; seed: number; evalBatchSize: number;
  /** Examples per pass (gradients of the passes are summed into the batch's); default: chosen from memory. */
  microBatchSize?: number;
}
export interface EnsembleSpec { id: string; prompts: string[] }
export interface EvaluationSpec {
  generation: boolean;
  /** Default: rank for a label task, exactMatch for a text target. */
  metric: HeadlineMetric;
  ensembles: EnsembleSpec[]; rankScoring: 'sum' | 'mean';
  /** Text targets: the most tokens generated (default: the longest train target's tokens, with a margin). */
  maxNewTokens?: number;
  /** Text targets: generation stops before the first of these strings (which is left out of the output). */
  stop: string[];
  /** Text targets: assertions on every prompt's output. */
  assert: AssertionSpec[];
  /** Text targets: 0 is greedy decoding; above 0, sampling at this temperature (with topP and seed). */
  temperature: number; topP: number; seed: number;
}

/** Whether a spec's task answers with a label from a fixed set or with a free text. */
export function taskKind(spec: Pick<Spec, 'data'>): TaskKind {
  return spec.data.target !== undefined ? 'target' : 'label';
}
export interface ModelTuningSpec { optimizer: 'adafactor' | 'adam'; learningRate: number; steps: number; batchSize: number }
export interface Spec {
  name: string; model: string; revision?: string; data: DataSpec; discretePrompts: DiscretePromptSpec[];
  softPrompt: SoftPromptSpec; training: TrainingSpec; evaluation: EvaluationSpec;
  modelTuning: ModelTuningSpec;
  pipelines: PipelineSpec[];
}

export interface LoadedSpec {
  spec: Spec;
  file: string;
  dir: string;
  /** 1-based line of a field, for messages and for opening the spec at that place. */
  lineOf(path: (string | number)[]): number | undefined;
  /** A path in the spec resolved against the spec's folder. */
  resolvePath(p: string): string;
}

// ajv is CommonJS with a default export; under ESM interop the class is on .default
const Ajv = ((AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule) as unknown as new (o: object) => { compile(schema: object): ValidateFunction };
let validator: ValidateFunction | undefined;
export function specSchemaPath(): string { return join(packageRoot(), 'schema', 'ptune.schema.json'); }
function validate() {
  if (!validator) {
    // useDefaults: the schema's defaults are written into the spec as it is validated
    const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
    validator = ajv.compile(JSON.parse(readFileSync(specSchemaPath(), 'utf8')));
  }
  return validator;
}

/** 1-based line and column of every offset in a text, from the offsets where its lines start. */
function positions(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

/** A place in the spec's text: 1-based, the end exclusive. */
export interface SpecRange { line: number; column: number; endLine: number; endColumn: number }

/** Everything wrong with a spec's text, and the spec itself where its structure allows loading it. */
export interface SpecAnalysis {
  problems: InputProblem[];
  /** Absent when the text is not JSON or breaks the schema. */
  loaded?: LoadedSpec;
  /** The place of a field: its key for a property, else its first character. */
  rangeOf(path: (string | number)[]): SpecRange | undefined;
  /** The place of `needle` inside a string field (a {field} in a template), else the field's. */
  rangeIn(path: (string | number)[], needle: string): SpecRange | undefined;
}

type Report = (path: (string | number)[], message: string) => void;

/**
 * A key given twice in one object: JSON.parse keeps the last one without a word, so an edit to the
 * first would silently do nothing.
 */
function findDuplicateKeys(node: Node, at: (string | number)[], lineAt: (offset: number) => number, report: (line: number, field: string, message: string) => void): void {
  if (node.type === 'array') node.children?.forEach((child, i) => findDuplicateKeys(child, [...at, i], lineAt, report));
  if (node.type !== 'object') return;
  const firstLine = new Map<string, number>();
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (!key) continue;
    const name = String(key.value);
    const field = [...at, name].join('.');
    const line = lineAt(key.offset);
    const first = firstLine.get(name);
    if (first !== undefined) report(line, field, `${field} is given twice (first on line ${first}); JSON keeps only the last, so remove one of them`);
    else firstLine.set(name, line);
    if (value) findDuplicateKeys(value, [...at, name], lineAt, report);
  }
}

export function loadSpec(file: string): LoadedSpec {
  const { path, text } = readSpecText(file);
  return parseSpec(text, path);
}

/** A spec file's absolute path and text. */
export function readSpecText(file: string): { path: string; text: string } {
  const path = resolve(file);
  if (!existsSync(path)) throw new InputError(`${path}: spec file not found`, { file: path });
  if (statSync(path).isDirectory()) throw new InputError(`${path}: is a folder; give a spec file (*.ptune.json)`, { file: path });
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (e) {
    throw fileSystemError(e) ?? e;
  }
}

/** The spec, or an InputError naming the first problem of `analyseSpec` at its line. */
export function parseSpec(text: string, path: string): LoadedSpec {
  const { problems, loaded } = analyseSpec(text, path);
  const first = problems.find((p) => p.severity === 'error');
  if (first || !loaded) throw problemError(first ?? { file: path, severity: 'error', message: 'cannot be read' });
  return loaded;
}

/**
 * Every problem of a spec's text at once: JSON syntax, keys given twice, the schema, and the
 * checks across fields. Syntax errors stop before the schema, schema errors before the defaults.
 */
export function analyseSpec(text: string, path: string): SpecAnalysis {
  const problems: InputProblem[] = [];
  const positionAt = positions(text);
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const span = (offset: number, length: number): SpecRange => {
    const start = positionAt(offset);
    const end = positionAt(offset + Math.max(length, 1));
    return { line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
  };
  if (errors.length > 0 || !tree) {
    if (errors.length === 0) problems.push({ file: path, line: 1, column: 1, severity: 'error', message: 'not valid JSON (empty file); fix the syntax and run again' });
    for (const e of errors) problems.push({ file: path, ...span(e.offset, e.length), severity: 'error', message: `not valid JSON (${printParseErrorCode(e.error)}); fix the syntax and run again` });
    return { problems, rangeOf: () => undefined, rangeIn: () => undefined };
  }
  const nodeOf = (p: (string | number)[]): Node | undefined => {
    let node: Node | undefined = findNodeAtLocation(tree, p);
    // a field that is not there is placed at the nearest object that is
    for (let q = p.slice(0, -1); !node; q = q.slice(0, -1)) {
      node = q.length === 0 ? tree : findNodeAtLocation(tree, q);
      if (q.length === 0) break;
    }
    return node;
  };
  const rangeOf = (p: (string | number)[]): SpecRange | undefined => {
    const node = nodeOf(p);
    // a property's place is its key
    const key = node?.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    if (key) return span(key.offset, key.length);
    return node ? span(node.offset, node.type === 'object' || node.type === 'array' ? 1 : node.length) : undefined;
  };
  const rangeIn = (p: (string | number)[], needle: string): SpecRange | undefined => {
    const node = findNodeAtLocation(tree, p);
    const at = node?.type === 'string' ? text.indexOf(needle, node.offset) : -1;
    return node && at >= 0 && at + needle.length <= node.offset + node.length ? span(at, needle.length) : rangeOf(p);
  };
  const lineOf = (p: (string | number)[]) => rangeOf(p)?.line;
  const report: Report = (p, message) => {
    const field = p.join('.');
    problems.push({ file: path, field, ...rangeOf(p), severity: 'error', message: `${field} ${message}` });
  };
  findDuplicateKeys(tree, [], (offset) => positionAt(offset).line, (line, field, message) => problems.push({ file: path, line, field, severity: 'error', message }));
  const raw = JSON.parse(text);
  const check = validate();
  if (!check(raw)) {
    const seen = new Set<string>();
    for (const err of check.errors ?? []) {
      const segments = err.instancePath.split('/').slice(1).map((s: string) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
      let field = segments.join('.') || '(top level)';
      let message = err.message ?? 'is invalid';
      if (err.keyword === 'additionalProperties') {
        const extra = (err.params as { additionalProperty: string }).additionalProperty;
        segments.push(extra);
        field = segments.join('.');
        message = 'is not a known field (see schema/ptune.schema.json)';
      } else if (err.keyword === 'required') {
        const missing = (err.params as { missingProperty: string }).missingProperty;
        field = [...segments, missing].join('.');
        message = 'is required';
      } else if (err.keyword === 'enum') {
        message = `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      const text = `${field} ${message}`;
      if (seen.has(text)) continue;
      seen.add(text);
      problems.push({ file: path, field, ...rangeOf(segments), severity: 'error', message: text });
    }
    return { problems, rangeOf, rangeIn };
  }
  findTemplateWithMessages(raw as Record<string, any>, report);
  const dir = dirname(path);
  const spec = withDerivedDefaults(raw as Record<string, any>);
  const loaded: LoadedSpec = { spec, file: path, dir, lineOf, resolvePath: (p) => resolve(dir, p) };
  checkConsistency(loaded, report);
  return { problems, loaded, rangeOf, rangeIn };
}

/** A prompt is a template or chat messages: given both, one would be silently ignored. */
function findTemplateWithMessages(raw: Record<string, any>, report: Report): void {
  const prompts: [(string | number)[], Record<string, unknown> | undefined][] = [
    ...((raw.discretePrompts ?? []) as Record<string, unknown>[]).map((p, i): [(string | number)[], Record<string, unknown>] => [['discretePrompts', i], p]),
    [['softPrompt'], raw.softPrompt],
  ];
  for (const [at, p] of prompts) {
    if (!p) continue;
    const fail = (field: string, message: string) => report([...at, field], message);
    if (p.template !== undefined && p.messages !== undefined) fail('messages', 'and template exclude each other: a prompt is either a text template or chat messages');
    if (at[0] === 'discretePrompts' && p.template === undefined && p.messages === undefined) fail('template', 'is required (or messages, for a chat prompt)');
  }
}

/**
 * The defaults that depend on other fields; every other default is the schema's, filled in by ajv
 * (useDefaults) while validating, so the schema is the one place a default is written.
 */
function withDerivedDefaults(raw: Record<string, any>): Spec {
  // editor metadata, not part of the experiment
  delete raw.$schema;
  const spec = raw as Spec;
  spec.softPrompt.template ??= spec.data.text;
  spec.training.checkpointEvery ??= spec.training.evalEvery;
  spec.modelTuning.steps ??= spec.training.steps;
  spec.modelTuning.batchSize ??= spec.training.batchSize;
  spec.evaluation.metric ??= taskKind(spec) === 'target' ? 'exactMatch' : 'rank';
  // a text-target task has no label set: the empty verbalizer (checkTask refuses one given with a target)
  spec.data.verbalizer ??= {};
  return spec;
}

/** Every list of assertions in a spec, with its place. */
function assertionLists(spec: Spec): [(string | number)[], AssertionSpec[] | undefined][] {
  return [
    [['evaluation', 'assert'], spec.evaluation.assert],
    [['softPrompt', 'assert'], spec.softPrompt.assert],
    ...spec.discretePrompts.map((p, i): [(string | number)[], AssertionSpec[] | undefined] => [['discretePrompts', i, 'assert'], p.assert]),
  ];
}

/** The metrics each kind of task can lead with. */
const LABEL_METRICS: readonly HeadlineMetric[] = ['rank', 'generate'];

/**
 * A task is a label from a fixed set (label + verbalizer) or a text target, never both: each
 * combination the schema cannot say is named here at its field, with what to do.
 */
function checkTask(spec: Spec, fail: Report): void {
  const { data, evaluation } = spec;
  if (data.target !== undefined) {
    if (data.label !== undefined) fail(['data', 'label'], 'and data.target exclude each other: a task answers with a label from a fixed set (label + verbalizer) or with a text (target); remove one');
    else if (Object.keys(data.verbalizer).length > 0) fail(['data', 'verbalizer'], 'belongs to a label task; a text-target task (data.target) has no label set: remove it');
    if (templateFields(data.target).length === 0) fail(['data', 'target'], `(${JSON.stringify(data.target)}) names no field of the data, so every example would expect the same output; name the record's field holding the answer, as {field}`);
    if (LABEL_METRICS.includes(evaluation.metric)) fail(['evaluation', 'metric'], `"${evaluation.metric}" scores labels; a text-target task leads with exactMatch, tokenF1, chrF, rougeL, nll or passRate`);
    if (evaluation.metric === 'passRate' && evaluation.assert.length === 0 && ![...spec.discretePrompts, spec.softPrompt].some((p) => p.assert?.length)) fail(['evaluation', 'metric'], 'is "passRate", but no assertion is given: add evaluation.assert (or a prompt\'s assert), or pick another metric');
    if (spec.training.sampling === 'balanced') fail(['training', 'sampling'], 'is "balanced", which draws each class equally often; a text-target task has no classes: use "random"');
    if (spec.pipelines.length > 0) fail(['pipelines'], 'score a label from their second stage; a text-target task cannot use them yet: remove pipelines, or make it a label task');
    for (const [path, list] of assertionLists(spec)) {
      list?.forEach((a, i) => {
        const problem = validateAssertion(a);
        if (problem) fail([...path, i], problem);
      });
    }
    return;
  }
  if (data.label === undefined) {
    fail(['data', 'label'], Object.keys(data.verbalizer).length ? 'is required with data.verbalizer (the field holding the gold label)' : 'or data.target is required: label (with verbalizer) for an answer from a fixed set, target (a template such as "{answer}") for a text');
    return;
  }
  if (Object.keys(data.verbalizer).length === 0) fail(['data', 'verbalizer'], 'is required with data.label: map each label value to the text the model should produce');
  if (!LABEL_METRICS.includes(evaluation.metric)) fail(['evaluation', 'metric'], `"${evaluation.metric}" scores text outputs; a label task leads with "rank" or "generate" (or give data.target instead of label to make it a text-target task)`);
  for (const [path, list] of assertionLists(spec)) if (list?.length) fail(path, 'checks text outputs; a label task is scored by its labels: remove it, or give data.target to make this a text-target task');
}

function checkConsistency(loaded: LoadedSpec, fail: Report): void {
  const { spec } = loaded;
  checkTask(spec, fail);
  const ids = new Set<string>();
  spec.discretePrompts.forEach((p, i) => {
    if (ids.has(p.id)) fail(['discretePrompts', i, 'id'], `"${p.id}" is used twice; prompt ids must be unique`);
    ids.add(p.id);
  });
  if (ids.has(spec.softPrompt.id)) fail(['softPrompt', 'id'], `"${spec.softPrompt.id}" is also a discrete prompt's id`);
  spec.pipelines.forEach((p, i) => {
    if (ids.has(p.id) || p.id === spec.softPrompt.id) fail(['pipelines', i, 'id'], `"${p.id}" is already a prompt's id`);
    // stage one alone is reported as <id>/stage1 beside the pipeline
    const stageOne = `${p.id}/stage1`;
    if (ids.has(stageOne) || stageOne === spec.softPrompt.id) fail(['pipelines', i, 'id'], `"${stageOne}", the result row of its first stage alone, is already a prompt's id`);
    ids.add(p.id);
    ids.add(stageOne);
    if (!p.stage2.template.includes('{stage1}')) fail(['pipelines', i, 'stage2', 'template'], 'must use {stage1}, the first stage\'s text');
  });
  if (spec.softPrompt.stageOneOf && !spec.pipelines.some((p) => p.id === spec.softPrompt.stageOneOf)) fail(['softPrompt', 'stageOneOf'], `"${spec.softPrompt.stageOneOf}" is not a pipeline id (${spec.pipelines.map((p) => p.id).join(', ') || 'none defined'})`);
  if (spec.softPrompt.stageOneOf && spec.softPrompt.stage1) fail(['softPrompt', 'stageOneOf'], 'and softPrompt.stage1 exclude each other: a soft prompt is tuned for one stage');
  if (spec.softPrompt.stage1 && !spec.pipelines.some((p) => p.id === spec.softPrompt.stage1)) fail(['softPrompt', 'stage1'], `"${spec.softPrompt.stage1}" is not a pipeline id (${spec.pipelines.map((p) => p.id).join(', ') || 'none defined'})`);
  const textOf = new Map<string, string>();
  for (const [label, text] of Object.entries(spec.data.verbalizer)) {
    const key = text.trim();
    if (!key) fail(['data', 'verbalizer', label], 'is blank; each label needs a text the model can produce');
    const other = textOf.get(key);
    // rank classification could never tell the two apart: the first would always win
    if (other !== undefined) fail(['data', 'verbalizer', label], `has the same text as label "${other}" ("${text}"); each label needs its own text`);
    textOf.set(key, label);
  }
  const templates: [(string | number)[], string][] = [
    [['data', 'text'], spec.data.text],
    [['softPrompt', 'template'], spec.softPrompt.template],
    ...spec.discretePrompts.flatMap((p, i): [(string | number)[], string][] => (p.template !== undefined ? [[['discretePrompts', i, 'template'], p.template]] : [])),
    ...spec.pipelines.map((p, i): [(string | number)[], string] => [['pipelines', i, 'stage1', 'template'], p.stage1.template]),
  ];
  for (const [path, template] of templates) {
    // the same text for every example: the prompt could not depend on the input
    if (templateFields(template).length === 0) fail(path, `(${JSON.stringify(template)}) names no field of the data, so every example would get the same input; put the record's field in it, as {field}`);
  }
  const chats: [(string | number)[], ChatMessage[]][] = [
    ...spec.discretePrompts.flatMap((p, i): [(string | number)[], ChatMessage[]][] => (p.messages ? [[['discretePrompts', i, 'messages'], p.messages]] : [])),
    ...(spec.softPrompt.messages ? [[['softPrompt', 'messages'], spec.softPrompt.messages] as [(string | number)[], ChatMessage[]]] : []),
  ];
  for (const [path, messages] of chats) {
    // the label is scored as the assistant's reply to the last user turn
    const last = messages[messages.length - 1];
    if (last.role !== 'user') fail([...path, messages.length - 1, 'role'], `is "${last.role}"; the last message must be the user's, since the label is scored as the assistant's reply to it`);
    if (messages.every((m) => templateFields(m.content).length === 0)) fail(path, 'name no field of the data in any content, so every example would get the same input; put the record\'s field in the user message, as {field}');
  }
  if (spec.softPrompt.init === 'text' && !spec.softPrompt.initText) fail(['softPrompt', 'initText'], 'is required when init is "text"');
  if (spec.softPrompt.init === 'file' && !spec.softPrompt.initFile) fail(['softPrompt', 'initFile'], 'is required when init is "file"');
  if (spec.data.header === false && !spec.data.columns) fail(['data', 'columns'], 'is required when header is false (name the CSV/TSV columns)');
  if (spec.training.schedule.startsWith('warmup') && spec.training.warmupSteps >= spec.training.steps) fail(['training', 'warmupSteps'], `(${spec.training.warmupSteps}) must be below steps (${spec.training.steps})`);
}
