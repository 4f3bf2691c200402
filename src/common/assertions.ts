// promptfoo's deterministic assertions on a text output (https://promptfoo.dev/docs/configuration/
// expected-outputs/deterministic/): each type is one small check with its pass rule, in one table.
// A string value is a template whose {field}s are filled from the record, a list value element by
// element; a failed check says why in a few words, for the detail pane.
import AjvModule, { type ValidateFunction } from 'ajv';
import { distance } from 'fastest-levenshtein';
import { bootstrapPercentile } from './intervals.js';
import type { InputLocation } from './errors.js';
import { fillTemplate, templateFields } from './template.js';
import type { AssertionResult, AssertionSpec, AssertionType } from './task-types.js';
import type { MetricAggregate } from './text-metrics.js';

/** levenshtein's most edits when the assertion gives no threshold (promptfoo's default). */
export const DEFAULT_LEVENSHTEIN_THRESHOLD = 5;

type Schema = Record<string, unknown>;

/** One assertion type: what its value is, and its check on an output given the filled value. */
interface AssertionKind {
  /** 'text': one template; 'texts': a list, or a comma-separated string (contains-any); 'schema': an optional JSON Schema object. */
  value: 'text' | 'texts' | 'schema';
  check(output: string, value: FilledValue, spec: AssertionSpec): string | null;
}
type FilledValue = string | string[] | Schema | undefined;

const shown = (s: string, max = 60) => JSON.stringify(s.length > max ? `${s.slice(0, max - 1)}…` : s);

const KINDS: Record<AssertionType, AssertionKind> = {
  equals: { value: 'text', check: (out, v) => (out === v ? null : `is not ${shown(v as string)}`) },
  contains: { value: 'text', check: (out, v) => (out.includes(v as string) ? null : `does not contain ${shown(v as string)}`) },
  icontains: { value: 'text', check: (out, v) => (out.toLowerCase().includes((v as string).toLowerCase()) ? null : `does not contain ${shown(v as string)} (in any case)`) },
  'contains-any': {
    value: 'texts',
    check: (out, v) => ((v as string[]).some((x) => out.includes(x)) ? null : `contains none of ${(v as string[]).map((x) => shown(x, 30)).join(', ')}`),
  },
  regex: {
    value: 'text',
    check(out, v) {
      const compiled = compileRegex(v as string);
      if (typeof compiled === 'string') return `the regex does not compile: ${compiled}`;
      return compiled.test(out) ? null : `does not match /${v as string}/`;
    },
  },
  'starts-with': { value: 'text', check: (out, v) => (out.startsWith(v as string) ? null : `does not start with ${shown(v as string)}`) },
  'is-json': {
    value: 'schema',
    check(out, v) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch (e) {
        return `not JSON: ${(e as Error).message}`;
      }
      if (v === undefined) return null;
      const validate = schemaValidator(v as Schema);
      if (typeof validate === 'string') return `the JSON Schema does not compile: ${validate}`;
      return validate(parsed) ? null : `JSON that does not fit the schema: ${ajv().errorsText(validate.errors, { dataVar: 'output' })}`;
    },
  },
  levenshtein: {
    value: 'text',
    check(out, v, spec) {
      const threshold = spec.threshold ?? DEFAULT_LEVENSHTEIN_THRESHOLD;
      const d = distance(out, v as string);
      return d <= threshold ? null : `distance ${d} > ${threshold}`;
    },
  },
};

/**
 * One assertion's verdict on one output. String values are filled from the record's fields first
 * (a field the record lacks is an InputError, as in a prompt template, placed at `where`); the
 * result carries the filled value and, on a fail, why.
 */
export function checkAssertion(spec: AssertionSpec, output: string, fields: Record<string, unknown>, where?: InputLocation): AssertionResult {
  const kind = KINDS[spec.type];
  if (!kind) throw new RangeError(`unknown assertion type "${String(spec.type)}"; the types are ${ASSERTION_TYPES.join(', ')}`);
  const value = fillValue(spec, kind, fields, where);
  const reason = kind.check(output, value, spec);
  return { type: spec.type, ...(value === undefined ? {} : { value }), pass: reason === null, ...(reason === null ? {} : { reason }) };
}

export function checkAssertions(list: readonly AssertionSpec[], output: string, fields: Record<string, unknown>, where?: InputLocation): AssertionResult[] {
  return list.map((spec) => checkAssertion(spec, output, fields, where));
}

/** The share of one example's assertions that pass; null where it had none. */
export function examplePassRate(results: readonly AssertionResult[]): number | null {
  return results.length === 0 ? null : results.filter((r) => r.pass).length / results.length;
}

/**
 * The share of all (example, assertion) checks that pass, and its 95% interval: a seeded bootstrap
 * over examples (an example's checks stay together, since they judge one output). null where no
 * example had an assertion.
 */
export function passRate(results: readonly (readonly AssertionResult[])[]): MetricAggregate | null {
  const checked = results.filter((r) => r.length > 0);
  if (checked.length === 0) return null;
  const passes = checked.map((r) => r.filter((x) => x.pass).length);
  const totals = checked.map((r) => r.length);
  const ratio = (indices: Iterable<number>) => {
    let p = 0, t = 0;
    for (const i of indices) { p += passes[i]; t += totals[i]; }
    return p / t;
  };
  const value = ratio(checked.keys());
  if (value === 0 || value === 1) return { value, interval: [value, value] };
  return { value, interval: bootstrapPercentile(checked.length, ratio) };
}

/** The assertion types, in the order promptfoo's documentation lists them. */
export const ASSERTION_TYPES = Object.keys(KINDS) as AssertionType[];

/**
 * What is wrong with an assertion as written, for the spec checker to report at the field; null
 * when it is fine. An unknown type is the schema's to catch; this checks the values.
 */
export function validateAssertion(spec: AssertionSpec): string | null {
  const kind = KINDS[spec.type];
  if (!kind) return `unknown assertion type "${String(spec.type)}"; the types are ${ASSERTION_TYPES.join(', ')}`;
  const v: unknown = spec.value;
  if (spec.threshold !== undefined && !(typeof spec.threshold === 'number' && Number.isFinite(spec.threshold) && spec.threshold >= 0)) {
    return `"threshold" must be a number of at least 0 (the most edits ${spec.type} allows), not ${JSON.stringify(spec.threshold)}`;
  }
  if (kind.value === 'schema') {
    if (v === undefined) return null;
    if (!isSchema(v)) return `"${spec.type}" takes a JSON Schema object as its value (or no value, for any JSON), not ${JSON.stringify(v)}`;
    const validate = schemaValidator(v);
    return typeof validate === 'string' ? `the JSON Schema in "value" does not compile: ${validate}` : null;
  }
  if (kind.value === 'texts') {
    if (v === undefined || v === '') return `"${spec.type}" needs a value: a list of texts, any of which the output must contain`;
    if (!(typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))) return `"${spec.type}" takes a list of texts or one comma-separated text as its value, not ${JSON.stringify(v)}`;
    const texts = typeof v === 'string' ? splitCommas(v) : v;
    if (typeof texts === 'string') return `"value": ${texts}`;
    if (texts.filter((t) => t !== '').length === 0) return `"${spec.type}" needs at least one text in its value`;
    return null;
  }
  if (v === undefined || v === '') return `"${spec.type}" needs a value: ${NEEDS[spec.type] ?? 'the text to check against'}`;
  if (typeof v !== 'string') return `"${spec.type}" takes one text as its value, not ${JSON.stringify(v)}`;
  if (spec.type === 'regex') {
    // the record's fields are not known here: each {field} is tried as empty text
    const blank = Object.fromEntries(templateFields(regexTemplate(v)).map((name) => [name, '']));
    const compiled = compileRegex(fillTemplate(regexTemplate(v), blank));
    if (typeof compiled === 'string') return `the regex does not compile: ${compiled}`;
  }
  return null;
}

const NEEDS: Partial<Record<AssertionType, string>> = {
  equals: 'the text the output must equal',
  contains: 'the text the output must contain',
  icontains: 'the text the output must contain (in any case)',
  regex: 'the regular expression the output must match',
  'starts-with': 'the text the output must start with',
  levenshtein: 'the text the output must be within "threshold" edits of',
};

function fillValue(spec: AssertionSpec, kind: AssertionKind, fields: Record<string, unknown>, where: InputLocation | undefined): FilledValue {
  const v = spec.value;
  const fill = (t: string) => fillTemplate(t, fields, where && { ...where, what: `the ${spec.type} assertion` });
  if (kind.value === 'schema') return isSchema(v) ? v : undefined;
  if (kind.value === 'texts') {
    const texts = typeof v === 'string' ? splitCommas(fill(v)) : (v as string[] | undefined ?? []).map(fill);
    if (typeof texts === 'string') throw new RangeError(`${spec.type} value: ${texts}`);
    return texts.filter((t) => t !== '');
  }
  if (typeof v !== 'string') throw new RangeError(`the ${spec.type} assertion needs one text as its value; check it with validateAssertion first`);
  return spec.type === 'regex' ? fill(regexTemplate(v)) : fill(v);
}

/**
 * A regex value as a template: its quantifiers ({3}, {2,}, {2,5}) stay literal braces, where a
 * template would take them for fields; any other {name} is a field, {{ and }} literal braces.
 */
function regexTemplate(pattern: string): string {
  return pattern.replace(/(?<!\{)\{(\d+(?:,\d*)?)\}(?!\})/g, '{{$1}}');
}

function compileRegex(pattern: string): RegExp | string {
  try {
    return new RegExp(pattern);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * contains-any's comma-separated form: fields split at commas and trimmed; a field in double
 * quotes keeps its commas ("" inside is one quote). An unclosed quote is a message.
 */
export function splitCommas(text: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i <= text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        if (i >= text.length) return `a quoted text is not closed: ${text}`;
        if (text[i] === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
        if (text[i] === '"') { i++; break; }
        field += text[i++];
      }
      while (i < text.length && /\s/.test(text[i])) i++;
      if (i < text.length && text[i] !== ',') return `expected a comma after the quoted text "${field}"`;
      out.push(field);
    } else {
      const end = text.indexOf(',', i);
      out.push(text.slice(i, end < 0 ? text.length : end).trim());
      i = end < 0 ? text.length : end;
    }
    i++;
  }
  return out.filter((t) => t !== '');
}

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

// ajv is CommonJS with a default export; under ESM interop the class is on .default
interface AjvInstance { compile(schema: object): ValidateFunction; errorsText(errors: ValidateFunction['errors'], options?: { dataVar?: string }): string }
const Ajv = ((AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule) as unknown as new (o: object) => AjvInstance;
let instance: AjvInstance | undefined;
const ajv = () => (instance ??= new Ajv({ allErrors: true, strict: false }));
/** Compiled schemas by their JSON, so a schema is compiled once per run, not once per example. */
const validators = new Map<string, ValidateFunction | string>();

function schemaValidator(schema: Schema): ValidateFunction | string {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (v === undefined) {
    try {
      v = ajv().compile(schema);
    } catch (e) {
      v = (e as Error).message;
    }
    validators.set(key, v);
  }
  return v;
}
