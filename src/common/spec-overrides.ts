// Changes to a spec made from the command line (`--set softPrompt.length=5`, `--seed 2`) or by a
// sweep, applied to the file's JSON before it is validated, so an override passes the same schema
// and consistency checks as the file itself and the run records the spec it really used.
import { readFileSync } from 'node:fs';
import { InputError } from './errors.js';
import { parseSpec, readSpecText, specSchemaPath, type LoadedSpec } from './spec.js';

/** One override, `path=value` with a dotted path such as `training.seed`. */
export interface SpecOverride { path: string; value: string }

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
}

let schemaRoot: SchemaNode | undefined;
function schema(): SchemaNode {
  schemaRoot ??= JSON.parse(readFileSync(specSchemaPath(), 'utf8')) as SchemaNode;
  return schemaRoot;
}

export function parseOverride(text: string): SpecOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InputError(`override "${text}": expected path=value, for example softPrompt.length=5`);
  return { path: text.slice(0, eq).trim(), value: text.slice(eq + 1) };
}

export const formatOverride = (o: SpecOverride) => `${o.path}=${o.value}`;

/** The schema of a dotted path, or an error naming the first segment that is not a field. */
function fieldSchema(path: string): SchemaNode {
  let node = schema();
  const segments = path.split('.');
  for (const [k, segment] of segments.entries()) {
    const named = node.properties?.[segment];
    const open = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
    const next = named ?? open;
    if (!segment || !next) {
      const parent = segments.slice(0, k).join('.') || 'the spec';
      const known = Object.keys(node.properties ?? {}).filter((f) => f !== '$schema');
      const hint = known.length ? ` (${parent} has: ${known.join(', ')})` : ` (${parent} has no fields to set)`;
      throw new InputError(`override ${path}: ${segments.slice(0, k + 1).join('.')} is not a field of the spec${hint}`, { file: specSchemaPath(), field: path });
    }
    node = next;
  }
  return node;
}

/** The JSON value an override's text stands for, by the type the schema gives the field. */
function overrideValue(o: SpecOverride, node: SchemaNode): unknown {
  const types = node.enum ? [...new Set(node.enum.map((v) => typeof v))] : [node.type ?? 'string'].flat();
  const bad = (expected: string) => new InputError(`override ${formatOverride(o)}: ${o.path} must be ${expected}`, { file: specSchemaPath(), field: o.path });
  if (types.includes('integer') || types.includes('number')) {
    const n = Number(o.value);
    if (o.value.trim() === '' || !Number.isFinite(n)) throw bad(types.includes('integer') ? 'a whole number' : 'a number');
    return n;
  }
  if (types.includes('boolean')) {
    if (o.value !== 'true' && o.value !== 'false') throw bad('true or false');
    return o.value === 'true';
  }
  if (types.includes('object') || types.includes('array')) {
    try {
      return JSON.parse(o.value);
    } catch {
      throw bad(`JSON (an ${types.includes('array') ? 'array' : 'object'})`);
    }
  }
  return o.value;
}

/**
 * The spec of `file` with the overrides applied, checked by the schema and the spec's consistency
 * rules. An error caused by an override names it; lines in later messages stay the file's own.
 */
export function loadSpecWithOverrides(file: string, overrides: (SpecOverride | string)[]): LoadedSpec {
  const { path, text } = readSpecText(file);
  // the file itself must be a valid spec: its errors are reported at its own lines
  const original = parseSpec(text, path);
  const parsed = overrides.map((o) => (typeof o === 'string' ? parseOverride(o) : o));
  if (parsed.length === 0) return original;
  const raw = JSON.parse(text) as Record<string, unknown>;
  for (const o of parsed) {
    const value = overrideValue(o, fieldSchema(o.path));
    const segments = o.path.split('.');
    let target = raw;
    for (const segment of segments.slice(0, -1)) {
      const inner = target[segment];
      if (inner === undefined) target[segment] = {};
      else if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw new InputError(`override ${o.path}: ${segment} is not an object in ${original.file}`, { file: original.file, field: o.path });
      target = target[segment] as Record<string, unknown>;
    }
    target[segments[segments.length - 1]] = value;
  }
  let changed: LoadedSpec;
  try {
    changed = parseSpec(JSON.stringify(raw, null, 2), original.file);
  } catch (e) {
    const location = e instanceof InputError ? e.location : undefined;
    if (!location?.field) throw e;
    const field = location.field;
    const prefix = `${original.file}:${location.line ?? 1}: ${field} `;
    const message = e instanceof Error && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : (e as Error).message;
    const culprit = parsed.find((o) => o.path === field || field.startsWith(`${o.path}.`));
    if (culprit) throw new InputError(`override ${formatOverride(culprit)}: ${field} ${message}`, { file: original.file, field });
    const line = original.lineOf(field.split('.'));
    throw new InputError(`${original.file}:${line ?? 1}: ${field} ${message} (with the overrides ${parsed.map(formatOverride).join(', ')})`, { file: original.file, line, field });
  }
  // the text validated above is a rewrite of the file: lines are looked up in the file itself
  return { ...changed, lineOf: original.lineOf };
}
