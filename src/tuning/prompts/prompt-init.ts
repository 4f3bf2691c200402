// Soft-prompt initialisation (Lester et al. 2021, section 3): random uniform in [-0.5, 0.5],
// embeddings of sampled vocabulary, the class labels' embeddings (the paper's best), a text's
// embeddings, or an existing soft prompt (transfer).
import { Rng } from '../../engine/random.js';
import { InputError } from '../../common/errors.js';
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import { continuationIds } from '../../models/tokenizer.js';
import { readSoftPromptSource } from '../../common/run-folder.js';
import type { LoadedSpec } from '../../common/spec.js';
import type { Example } from '../../common/data.js';

/** The paper samples from the 5,000 most common tokens. */
const COMMON_TOKENS = 5000;

/** Embeddings of `count` tokens drawn uniformly from the tokenizer's most frequent ordinary tokens. */
export function sampledVocabRows(lm: TunableModel, count: number, rng: Rng): Float32Array {
  const d = lm.cfg.hiddenSize;
  const pool = lm.tokenizer!.frequentTokens().filter((id) => id < lm.cfg.vocabSize).slice(0, COMMON_TOKENS);
  if (pool.length === 0) throw new InputError('sampled-vocab initialisation: the tokenizer ranks no ordinary tokens (tokenizer.json has no merges or scores); use init "class-labels" or "random-uniform"');
  const ids = Array.from({ length: count }, () => pool[rng.int(pool.length)]);
  return lm.embeddings(ids).slice(0, count * d);
}

/** A class label's embedding: the mean of its text's token embeddings, as the text follows the input. */
export function labelEmbedding(lm: Pick<TunableModel, 'cfg' | 'tokenizer' | 'embeddings'>, separator: string, text: string): { ids: number[]; row: Float32Array } {
  const d = lm.cfg.hiddenSize;
  const ids = continuationIds(lm.tokenizer!, separator + text);
  const emb = lm.embeddings(ids);
  const row = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let t = 0; t < ids.length; t++) s += emb[t * d + j];
    row[j] = s / Math.max(1, ids.length);
  }
  return { ids, row };
}

/**
 * The texts class-labels initialisation starts from: each label's text, or in a text-target task
 * the train split's most frequent targets (the answers the prompt most often has to give), most
 * frequent first, ties in train order.
 */
export function answerTexts(loaded: LoadedSpec, train?: Example[]): string[] {
  const labels = Object.values(loaded.spec.data.verbalizer);
  if (loaded.spec.data.target === undefined) return labels;
  const counts = new Map<string, number>();
  for (const e of train ?? []) counts.set(e.target!, (counts.get(e.target!) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([text]) => text);
}

export function initSoftPrompt(lm: TunableModel, loaded: LoadedSpec, seed: number, train?: Example[]): SoftPrompt {
  const { softPrompt, data } = loaded.spec;
  const n = softPrompt.length;
  const d = lm.cfg.hiddenSize;
  const rng = new Rng(seed * 7 + 1);
  const out = new Float32Array(n * d);
  switch (softPrompt.init) {
    case 'random-uniform':
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-0.5, 0.5);
      break;
    case 'sampled-vocab':
      out.set(sampledVocabRows(lm, n, rng));
      break;
    case 'class-labels': {
      const labels = answerTexts(loaded, train);
      const rows = Math.min(n, labels.length);
      for (let c = 0; c < rows; c++) out.set(labelEmbedding(lm, data.labelSeparator, labels[c]).row, c * d);
      if (n > rows) out.set(sampledVocabRows(lm, n - rows, rng), rows * d);
      break;
    }
    case 'text': {
      const ids = lm.tokenizer!.encode(softPrompt.initText!, { addSpecialTokens: false });
      if (ids.length === 0) throw new InputError(`${loaded.file}: softPrompt.initText encodes to no tokens`, { file: loaded.file, field: 'softPrompt.initText' });
      const filled = Array.from({ length: n }, (_, i) => ids[i % ids.length]);
      out.set(lm.embeddings(filled));
      break;
    }
    case 'file': {
      const source = readSoftPromptSource(loaded.resolvePath(softPrompt.initFile!), d);
      if (source.length !== n) throw new InputError(`${loaded.file}: softPrompt.initFile has ${source.length} virtual tokens but softPrompt.length is ${n}; make them equal`, { file: loaded.file, line: loaded.lineOf(['softPrompt', 'initFile']), field: 'softPrompt.initFile' });
      out.set(source.data);
      break;
    }
  }
  return { length: n, dim: d, data: out };
}
