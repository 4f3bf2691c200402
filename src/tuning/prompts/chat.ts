// Chat prompts: messages whose contents are templates, k-shot demonstrations as user/assistant
// turns, rendered by the model's own chat template (tokenizer_config.json) through the tokenizer,
// never by a renderer of our own.
import { InputError } from '../../common/errors.js';
import type { ChatMessage, LoadedSpec } from '../../common/spec.js';
import type { Tokenizer } from '../../models/tokenizer.js';


/** The conversation rendered by the model's chat template, ending with the generation prompt: the label follows as the assistant's reply. */
export function renderChatPrompt(tok: Tokenizer, conversation: ChatMessage[], promptId: string): string {
  if (!tok.renderChat || !tok.hasChatTemplate) throw new InputError(`prompt "${promptId}" is a chat prompt (messages), but the model's tokenizer_config.json has no chat_template; use a model with a chat template (an instruct model) or write the prompt as a template`);
  return tok.renderChat(conversation, { addGenerationPrompt: true });
}

const bosTexts = new WeakMap<Tokenizer, string | null>();

/**
 * The rendered text as the encoder takes it. Templates that write the BOS token themselves
 * (Llama 3's `<|begin_of_text|>`) would get a second one from a tokenizer that adds BOS on
 * encoding; Python's apply_chat_template(tokenize=True) encodes without special tokens, so the
 * sequence holds it once. The template's copy is dropped; the tokenizer's stands in its place.
 */
export function chatTextForEncoding(tok: Tokenizer, rendered: string): string {
  if (!bosTexts.has(tok)) {
    const adds = tok.bosTokenId !== null && tok.encode('a')[0] === tok.bosTokenId;
    bosTexts.set(tok, adds ? tok.decode([tok.bosTokenId!], { skipSpecialTokens: false }) : null);
  }
  const bos = bosTexts.get(tok);
  return bos && rendered.startsWith(bos) ? rendered.slice(bos.length) : rendered;
}

/**
 * Every chat prompt of the spec needs the model's chat template: said before anything is trained,
 * with the prompt's id, its line in the spec and the model folder.
 */
export function checkChatTemplates(loaded: LoadedSpec, tok: Tokenizer | null | undefined, modelFolder: string): void {
  if (tok?.hasChatTemplate && tok.renderChat) return;
  const { spec } = loaded;
  const chats: { id: string; path: (string | number)[] }[] = [
    ...spec.discretePrompts.flatMap((p, i) => (p.messages ? [{ id: p.id, path: ['discretePrompts', i, 'messages'] }] : [])),
    ...(spec.softPrompt.messages ? [{ id: spec.softPrompt.id, path: ['softPrompt', 'messages'] }] : []),
  ];
  const first = chats[0];
  if (!first) return;
  const line = loaded.lineOf(first.path);
  const field = first.path.join('.');
  throw new InputError(`${loaded.file}:${line ?? 1}: ${field}: prompt "${first.id}" is a chat prompt, but the model ${modelFolder} has no chat template (no chat_template in its tokenizer_config.json); use a model with a chat template (an instruct model) or write the prompt as a template`, { file: loaded.file, line, field });
}
