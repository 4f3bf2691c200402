// Prompt templates: "{field}" is replaced by a record's field; "{{" and "}}" are literal braces.
import { InputError, type InputLocation } from './errors.js';

const FIELD = /\{\{|\}\}|\{([^{}]+)\}/g;

/** The field names a template refers to, in order of first use. */
export function templateFields(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(FIELD)) if (m[1] !== undefined && !names.includes(m[1].trim())) names.push(m[1].trim());
  return names;
}

export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function fillTemplate(template: string, fields: Record<string, unknown>, where?: InputLocation & { what?: string }): string {
  return template.replace(FIELD, (whole, name: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const key = name!.trim();
    if (!(key in fields)) {
      const at = where ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : '';
      throw new InputError(`${at}field "${key}" is missing${where?.what ? ` (${where.what} uses it)` : ''}; fields here: ${Object.keys(fields).join(', ') || 'none'}`, where);
    }
    return valueText(fields[key]);
  });
}
