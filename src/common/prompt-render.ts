// What a prompt puts before the label for one record: k-shot demonstrations and the query for a
// discrete prompt, the soft prompt's place, a chat prompt's turns, a pipeline's second stage with
// its first stage's text. The evaluator scores the text `kShotText` and `chatConversation` build;
// the comparison panel shows the same text (`renderPrompt`) for the example it has selected.
import type { ChatMessage, Spec } from './spec.js';
import type { PromptKind } from './run-files.js';
import { fillTemplate } from './template.js';

/** A demonstration of a k-shot prompt: a train record and its label's text. */
export interface Demonstration { fields: Record<string, unknown>; labelText: string }

/**
 * A discrete prompt's text for a record: each demonstration filled from its record and followed by
 * the label separator and its label's text, then the record's own text, joined by the shot separator.
 */
export function kShotText(template: string, fields: Record<string, unknown>, demos: Demonstration[], labelSeparator: string, shotSeparator: string, what?: string): string {
  const query = fillTemplate(template, fields, what ? { file: 'record', what } : undefined);
  if (demos.length === 0) return query;
  return [...demos.map((d) => fillTemplate(template, d.fields) + labelSeparator + d.labelText), query].join(shotSeparator);
}

/**
 * The conversation for one record: each message filled from it, and each demonstration as a user
 * turn (the last user message filled from the demonstration) answered by an assistant turn (its
 * label text), placed before the last user message, after the system message and any fixed turns.
 */
export function chatConversation(messages: ChatMessage[], fields: Record<string, unknown>, demos: Demonstration[] = [], what = 'a chat prompt'): ChatMessage[] {
  const query = messages.map((m) => m.role).lastIndexOf('user');
  const fill = (m: ChatMessage, f: Record<string, unknown>): ChatMessage => ({ role: m.role, content: fillTemplate(m.content, f, { file: 'record', what }) });
  const turns = demos.flatMap((d): ChatMessage[] => [fill(messages[query], d.fields), { role: 'assistant', content: d.labelText }]);
  return [...messages.slice(0, query).map((m) => fill(m, fields)), ...turns, ...messages.slice(query).map((m) => fill(m, fields))];
}

/** Where a prompt's text comes from in the spec. */
export interface PromptSource {
  template?: string;
  messages?: ChatMessage[];
  /** Demonstrations drawn from the train split for each example. */
  shots: number;
  shotSeparator: string;
  /** Soft prompt tokens before the text: a count, null where the spec does not say (another run's prompt), 0 for none. */
  softTokens: number | null;
  /** An ensemble: several soft prompts, each before the same text. */
  ensemble: boolean;
  /** A pipeline's second stage: {stage1} is the first stage's text. */
  usesStage1: boolean;
}

const pipelineOf = (spec: Spec, id: string) => spec.pipelines?.find((p) => p.id === id) ?? spec.pipelines?.find((p) => p.id === id.split('+')[0]);

/**
 * The spec's source of an evaluated prompt (as eval.json names it), or null where the spec has none
 * (a prompt from elsewhere). Soft prompts, ensembles and the tuned model read the soft prompt's
 * template, as the evaluator does.
 */
export function promptSource(spec: Spec, id: string, kind: PromptKind): PromptSource | null {
  const base = { shots: 0, shotSeparator: '\n\n', softTokens: 0, ensemble: false, usesStage1: false };
  if (kind === 'discrete') {
    const d = spec.discretePrompts.find((p) => p.id === id);
    return d ? { ...base, template: d.template, messages: d.messages, shots: d.shots ?? 0, shotSeparator: d.shotSeparator ?? '\n\n' } : null;
  }
  if (kind === 'soft' || kind === 'ensemble' || kind === 'model') {
    const s = spec.softPrompt;
    const softTokens = kind === 'model' ? 0 : kind === 'soft' && id === s.id ? s.length : null;
    return { ...base, template: s.template, messages: s.messages, softTokens, ensemble: kind === 'ensemble' };
  }
  if (kind === 'pipeline') {
    const p = pipelineOf(spec, id);
    return p ? { ...base, template: p.stage2.template, softTokens: p.stage2.softPrompt ? null : 0, usesStage1: true } : null;
  }
  if (kind === 'pipeline-stage1') {
    const owner = id.endsWith('/stage1') ? id.slice(0, -'/stage1'.length) : id;
    const p = pipelineOf(spec, owner);
    return p ? { ...base, template: p.stage1.template, softTokens: p.stage1.softPrompt || owner.includes('+') ? null : 0 } : null;
  }
  return null;
}

/** A prompt's source in one line, for a column heading: its template, or its chat turns. */
export function sourceText(source: PromptSource): string {
  const text = source.template ?? (source.messages ?? []).map((m) => `${m.role}: ${m.content}`).join(' · ');
  const soft = source.softTokens === 0 ? '' : source.ensemble ? '⟨soft prompts⟩ ' : source.softTokens === null ? '⟨soft prompt⟩ ' : `⟨soft prompt: ${source.softTokens} tokens⟩ `;
  const shots = source.shots > 0 ? `${source.shots} shots + ` : '';
  return `${soft}${shots}${text}`;
}

/** One piece of a rendered prompt: what the panel shows apart (a demonstration, the soft prompt, a chat role). */
export type PromptPart =
  | { kind: 'soft'; text: string }
  | { kind: 'shot'; text: string; line?: number }
  | { kind: 'separator'; text: string }
  | { kind: 'role'; text: string }
  | { kind: 'query'; text: string };

export interface RenderedPrompt {
  parts: PromptPart[];
  /** What the rendering cannot show: demonstrations a run did not record, a chat template applied by the model's tokenizer. */
  note?: string;
}

/** The prompt as one text (the soft prompt written as a marker). */
export const renderedText = (r: RenderedPrompt): string => r.parts.map((p) => p.text).join('');

export interface RenderInput {
  fields: Record<string, unknown>;
  /** The demonstrations shown before this record, with their train-file lines; null: the run did not record them. */
  demonstrations: (Demonstration & { line?: number })[] | null;
  /** A pipeline's first-stage text for this record. */
  stage1?: string;
  labelSeparator: string;
}

/** What the model read before the label for one record, in parts; a field the record lacks reads as its {name}. */
export function renderPrompt(source: PromptSource, input: RenderInput): RenderedPrompt {
  const parts: PromptPart[] = [];
  const fields = source.usesStage1 ? { ...input.fields, stage1: input.stage1 ?? '' } : input.fields;
  const fill = (template: string, f: Record<string, unknown>) => {
    try {
      return fillTemplate(template, f);
    } catch {
      return template;
    }
  };
  if (source.softTokens !== 0) parts.push({ kind: 'soft', text: source.ensemble ? '⟨soft prompts, one at a time⟩' : source.softTokens === null ? '⟨soft prompt⟩' : `⟨soft prompt: ${source.softTokens} tokens⟩` });
  const demos = source.shots > 0 ? input.demonstrations ?? [] : [];
  const missing = source.shots > 0 && input.demonstrations === null;
  if (source.messages) {
    const query = source.messages.map((m) => m.role).lastIndexOf('user');
    const turn = (role: string, content: string, shot?: number | true) => {
      parts.push({ kind: 'role', text: `${parts.length && parts[parts.length - 1].kind !== 'soft' ? '\n' : ''}${role}: ` });
      parts.push(shot !== undefined ? { kind: 'shot', text: content, ...(shot === true ? {} : { line: shot }) } : { kind: 'query', text: content });
    };
    source.messages.forEach((m, i) => {
      if (i === query) for (const d of demos) {
        turn('user', fill(m.content, d.fields), d.line ?? true);
        turn('assistant', d.labelText, d.line ?? true);
      }
      turn(m.role, fill(m.content, fields));
    });
    const notes = ['the model\'s chat template wraps these turns in its own markers'];
    if (missing) notes.push(`${source.shots} demonstrations were drawn from the train split; this run did not record which (evaluate it again to see them)`);
    return { parts, note: notes.join('; ') };
  }
  const template = source.template ?? '';
  demos.forEach((d) => {
    parts.push({ kind: 'shot', text: fill(template, d.fields) + input.labelSeparator + d.labelText, ...(d.line !== undefined ? { line: d.line } : {}) });
    parts.push({ kind: 'separator', text: source.shotSeparator });
  });
  parts.push({ kind: 'query', text: fill(template, fields) });
  return missing ? { parts, note: `${source.shots} demonstrations were drawn from the train split before this text; this run did not record which (evaluate it again to see them)` } : { parts };
}
