// Tokenizers come from @huggingface/transformers (AutoTokenizer reads tokenizer.json and
// tokenizer_config.json exactly as the Python library does), not from code of our own.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import type { ChatMessage } from '../common/spec.js';
import { frequencyRankedTokens, ordinaryTokens } from './token-ranking.js';

export interface Tokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Ordinary tokens, most frequent first, as the tokenizer ranks them (token-ranking.ts). */
  frequentTokens(): number[];
  /** Every ordinary token (no special or byte token), in id order (token-ranking.ts). */
  ordinaryTokens(): number[];
  /** Whether tokenizer_config.json holds a chat template, which renderChat needs. */
  readonly hasChatTemplate?: boolean;
  /**
   * A conversation as the model's chat template renders it, as Python's
   * apply_chat_template(tokenize=False); `addGenerationPrompt` ends it where the assistant's reply starts.
   */
  renderChat?(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
}

/**
 * `chatTemplateOptions`: what the family's chat template is rendered with (Qwen3's and SmolLM3's
 * enable_thinking: false, so the assistant's reply is the answer itself, not a reasoning trace).
 */
export async function loadTokenizer(modelFolder: string, options: { chatTemplateOptions?: Readonly<Record<string, unknown>> } = {}): Promise<Tokenizer> {
  // transformers.js reads relative names as hub ids under its local model path
  const folder = resolve(modelFolder);
  if (!existsSync(join(folder, 'tokenizer.json'))) throw new InputError(`${folder}: no tokenizer.json; the model folder needs the Hugging Face tokenizer.json (and tokenizer_config.json)`);
  const tokenizerFile = join(folder, 'tokenizer.json');
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  let tok: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  try {
    tok = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  } catch (e) {
    // the library's own messages ("Unexpected end of JSON input") do not say which file: read
    // the files ourselves only now, so a good tokenizer is parsed once
    const tokenizerJson = readJsonFile(tokenizerFile);
    if (tokenizerJson === null || typeof tokenizerJson !== 'object' || typeof (tokenizerJson as { model?: unknown }).model !== 'object') {
      throw new InputError(`${tokenizerFile}: has no "model" section, so it is not a Hugging Face tokenizer.json; re-download the model's tokenizer files`, { file: tokenizerFile });
    }
    if (existsSync(join(folder, 'tokenizer_config.json'))) readJsonFile(join(folder, 'tokenizer_config.json'));
    throw new InputError(`${tokenizerFile}: cannot load the tokenizer (${(e as Error).message}); re-download the model's tokenizer files`, { file: tokenizerFile });
  }
  const idOf = (id: unknown) => (typeof id === 'number' ? id : null);
  const chatOptions = options.chatTemplateOptions ?? {};
  let ranked: number[] | undefined;
  let ordinary: number[] | undefined;
  // read again only for the vocabulary rankings, which the library does not expose
  let json: Parameters<typeof frequencyRankedTokens>[0] | undefined;
  const tokenizerJson = () => (json ??= JSON.parse(readFileSync(tokenizerFile, 'utf8')) as Parameters<typeof frequencyRankedTokens>[0]);
  return {
    encode: (text, options = {}) => tok.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }),
    // the library refuses no ids; an output that ended at once is the empty text
    decode: (ids, options = {}) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? true })),
    bosTokenId: idOf(tok.bos_token_id),
    eosTokenId: idOf(tok.eos_token_id),
    padTokenId: idOf(tok.pad_token_id),
    frequentTokens: () => (ranked ??= frequencyRankedTokens(tokenizerJson())),
    ordinaryTokens: () => (ordinary ??= ordinaryTokens(tokenizerJson())),
    hasChatTemplate: tok.chat_template !== null && tok.chat_template !== undefined,
    renderChat: (messages, options = {}) => {
      const text = tok.apply_chat_template(messages.map((m) => ({ role: m.role, content: m.content })), { ...chatOptions, tokenize: false, add_generation_prompt: options.addGenerationPrompt ?? false });
      if (typeof text !== 'string') throw new Error('apply_chat_template returned no text');
      return text;
    },
  };
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message}); the file is truncated or damaged: re-download it`, { file });
  }
}

/**
 * The tokens `text` adds when it follows other text. Encoding it alone is not that: SentencePiece
 * tokenizers prepend a word-boundary marker to the start of every encoded string.
 */
export function continuationIds(tok: Tokenizer, text: string): number[] {
  const head = tok.encode('a', { addSpecialTokens: false });
  const full = tok.encode(`a${text}`, { addSpecialTokens: false });
  let common = 0;
  while (common < head.length && head[common] === full[common]) common++;
  return full.slice(common);
}
