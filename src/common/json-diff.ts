// Where two JSON values differ, by path: a spec against a run's snapshot, two runs' specs.

export interface JsonDifference { path: string; a?: unknown; b?: unknown }

/**
 * Every difference between two JSON values, by path (`training.learningRate`, `evaluation.prompts[1].template`):
 * objects and arrays are walked, anything else compared whole.
 */
export function jsonDifferences(a: unknown, b: unknown, path = ''): JsonDifference[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((key) => jsonDifferences(a[key], b[key], path ? `${path}.${key}` : key));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => jsonDifferences(a[i], b[i], `${path}[${i}]`)).flat();
  }
  return [{ path: path || '(whole value)', ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}) }];
}

/** One difference as a line: `path: a -> b`. */
export function formatDifference(d: JsonDifference): string {
  return `${d.path}: ${JSON.stringify(d.a) ?? 'unset'} -> ${JSON.stringify(d.b) ?? 'unset'}`;
}
