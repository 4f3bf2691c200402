// A spec's prompts as functions of a record: discrete (zero- and k-shot, text or chat), soft (and
// ensembles of soft prompts), and the soft prompt's training input, over the one encoder that
// training and evaluation share, so both see the same tokens for the same record.
import { Rng } from '../../engine/random.js';
import { InputError } from '../../common/errors.js';
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import { answerText, type Example, type Split } from '../../common/data.js';
import type { DiscretePromptSpec, Spec } from '../../common/spec.js';
import { fillTemplate } from '../../common/template.js';
import type { AssertionSpec, PromptKind } from '../../common/run-files.js';
import { encoderFor, type Encoded, type SequenceEncoder } from './encoding.js';
import { chatTextForEncoding, renderChatPrompt } from './chat.js';
import { chatConversation, kShotText } from '../../common/prompt-render.js';

export interface PromptUnderTest {
  id: string;
  kind: PromptKind;
  /** The text after the soft prompt(s) for one example. */
  text(example: Example): string;
  /** Soft prompts: one for a soft prompt, several for an ensemble, none for a discrete prompt. */
  soft: SoftPrompt[];
  /** Task-specific parameters stored for this prompt (0 for text, n x d per soft prompt, every weight for model tuning). */
  taskParameters?: number;
  /** Between the text and the label (default data.labelSeparator); none for chat prompts, whose generation prompt ends where the reply starts. */
  labelSeparator?: string;
  /** Chat prompts: the conversation for one example as the model's chat template renders it. */
  rendered?(example: Example): string;
  /** k-shot prompts: the train examples shown before this one (recorded in predictions.jsonl by line). */
  demonstrations?(example: Example): Example[];
  /** Text targets: this prompt's own assertions (beside evaluation.assert). */
  assert?: AssertionSpec[];
}

/**
 * The soft prompt's training sequences (its input text, then the label's text as the target),
 * encoded when a batch asks for them: a large train split is never held tokenised.
 */
export interface TrainingSequences {
  of(example: Example): Encoded;
  /** How many of `examples` are cut to the context (encoding only those long enough to be). */
  truncatedCount(examples: Example[]): number;
  /** The most tokens any of `examples` has (encoding only those long enough to have it). */
  longest(examples: Example[]): number;
}

/**
 * Tokens a text may encode to at most: byte-level BPE and SentencePiece with byte fallback give
 * every token at least one byte, besides a few special and word-start tokens.
 */
const mostTokens = (text: string) => Buffer.byteLength(text, 'utf8') + 4;

export class PromptBuilder {
  readonly encoder: SequenceEncoder;

  constructor(private readonly lm: TunableModel, private readonly spec: Spec, private readonly train?: Split) {
    this.encoder = encoderFor(lm, spec);
  }

  discrete(p: DiscretePromptSpec, seed: number): PromptUnderTest {
    const sep = this.spec.data.labelSeparator;
    // drawing fewer demonstrations than asked would report a k-shot result for a smaller k
    if (p.shots && this.train && p.shots > this.train.examples.length) {
      throw new InputError(`discrete prompt "${p.id}": shots is ${p.shots}, but the train split (${this.train.file}) has only ${this.train.examples.length} examples; lower shots or add train examples`, { file: this.train.file, field: 'shots' });
    }
    const train = this.train;
    const draw = (example: Example): Example[] => {
      if (!p.shots) return [];
      if (!train) throw new Error('k-shot prompts need the train split');
      return drawShots(train.examples, p.shots, seed, p.id, example);
    };
    const demosOf = (example: Example) => draw(example).map((d) => ({ fields: d.fields, labelText: answerText(this.spec, d) }));
    const demonstrations = { ...(p.shots ? { demonstrations: draw } : {}), ...(p.assert?.length ? { assert: p.assert } : {}) };
    if (p.messages) {
      const messages = p.messages;
      return { ...this.chatPrompt(p.id, 'discrete', [], (example) => chatConversation(messages, example.fields, demosOf(example), `discrete prompt ${p.id}`)), ...demonstrations };
    }
    const template = p.template!;
    return {
      id: p.id,
      kind: 'discrete',
      soft: [],
      text: (example) => kShotText(template, example.fields, demosOf(example), sep, p.shotSeparator, `discrete prompt ${p.id}`),
      ...demonstrations,
    };
  }

  soft(id: string, prompt: SoftPrompt, kind: PromptKind = 'soft', extra: SoftPrompt[] = []): PromptUnderTest {
    const messages = this.spec.softPrompt.messages;
    const own = this.spec.softPrompt.assert?.length && kind === 'soft' ? { assert: this.spec.softPrompt.assert } : {};
    // the soft prompt goes before every input token (the rendered conversation too), as PEFT places it
    if (messages) return { ...this.chatPrompt(id, kind, [prompt, ...extra], (example) => chatConversation(messages, example.fields, [], `soft prompt ${id}`)), ...own };
    return { id, kind, soft: [prompt, ...extra], text: (example) => fillTemplate(this.spec.softPrompt.template, example.fields), ...own };
  }

  /** The soft prompt's training input: its text for a record and what goes before the label. */
  softInput(): Pick<PromptUnderTest, 'text' | 'labelSeparator'> {
    return this.soft(this.spec.softPrompt.id, this.lm.emptyPrompt());
  }

  /** The soft prompt's training sequences behind a soft prompt of `softLength` tokens (0 for model tuning). */
  trainingSequences(softLength: number): TrainingSequences {
    const input = this.softInput();
    const sep = input.labelSeparator ?? this.spec.data.labelSeparator;
    const full = (e: Example) => input.text(e) + sep + answerText(this.spec, e);
    const of = (e: Example) => this.encoder.withTarget(input.text(e), sep + answerText(this.spec, e), softLength);
    const room = this.encoder.contextLength - softLength;
    return {
      of,
      truncatedCount: (examples) => examples.reduce((count, e) => count + (mostTokens(full(e)) > room && of(e).truncated ? 1 : 0), 0),
      longest: (examples) => {
        // longest texts first, until no text left could hold more tokens than found
        const bound = examples.map((e) => ({ e, most: mostTokens(full(e)) })).sort((a, b) => b.most - a.most);
        let longest = 0;
        for (const { e, most } of bound) {
          if (most <= longest) break;
          longest = Math.max(longest, of(e).ids.length);
        }
        return longest;
      },
    };
  }

  private chatPrompt(id: string, kind: PromptKind, soft: SoftPrompt[], conversation: (example: Example) => ReturnType<typeof chatConversation>): PromptUnderTest {
    const tok = this.lm.tokenizer!;
    const rendered = (example: Example) => renderChatPrompt(tok, conversation(example), id);
    return { id, kind, soft, labelSeparator: '', rendered, text: (example) => chatTextForEncoding(tok, rendered(example)) };
  }
}

/** k demonstrations for one evaluated example, drawn from train with the seed (never the example itself). */
export function drawShots(train: Example[], k: number, seed: number, promptId: string, example: Example): Example[] {
  let h = seed >>> 0;
  for (const ch of `${promptId}#${example.index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const rng = new Rng(h);
  const pool = train.filter((t) => !(t.fields === example.fields));
  const picked: Example[] = [];
  const used = new Set<number>();
  while (picked.length < Math.min(k, pool.length)) {
    const i = rng.int(pool.length);
    if (used.has(i)) continue;
    used.add(i);
    picked.push(pool[i]);
  }
  return picked;
}
