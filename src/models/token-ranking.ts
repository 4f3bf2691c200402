// Vocabulary ranked as the tokenizer itself ranks it, for the paper's "sampled vocabulary"
// initialisation (Lester et al. 2021, section 3: the 5,000 most common tokens). Token ids are not a
// ranking: byte-fallback vocabularies start with <0x00>..<0xFF>, special tokens sit anywhere. A
// BPE tokenizer ranks a token by the merge that makes it (merges are learnt most frequent first);
// a Unigram tokenizer by its log-probability. Specials, byte tokens and single characters (BPE's
// alphabet, which no merge makes) are never in the list.

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  model?: { type?: string; vocab?: Record<string, number> | [string, number][]; merges?: (string | [string, string])[] };
}

/** Whether a token is ordinary: neither special (added_tokens) nor a byte-fallback token <0xNN>. */
function ordinaryTest(json: TokenizerJson): (id: number | undefined, piece: string) => id is number {
  const specials = new Set((json.added_tokens ?? []).map((t) => t.id));
  return (id: number | undefined, piece: string): id is number => id !== undefined && !specials.has(id) && !BYTE_TOKEN.test(piece);
}

/** Every ordinary token id (no special or byte token), in id order, from the contents of tokenizer.json. */
export function ordinaryTokens(json: TokenizerJson): number[] {
  const ordinary = ordinaryTest(json);
  const vocab = json.model?.vocab;
  if (!vocab) return [];
  const entries: [string, number][] = Array.isArray(vocab) ? vocab.map(([piece], id) => [piece, id]) : Object.entries(vocab);
  return entries.filter(([piece, id]) => ordinary(id, piece)).map(([, id]) => id).sort((a, b) => a - b);
}

/** Ordinary token ids, most frequent first, from the contents of tokenizer.json. */
export function frequencyRankedTokens(json: TokenizerJson): number[] {
  const model = json.model ?? {};
  const ordinary = ordinaryTest(json);
  const ranked: number[] = [];
  if (model.type === 'Unigram' && Array.isArray(model.vocab)) {
    const entries = model.vocab.map(([piece, score], id) => ({ piece, score, id }));
    entries.sort((a, b) => b.score - a.score || a.id - b.id);
    for (const e of entries) if (ordinary(e.id, e.piece) && [...e.piece.replace(/^▁/, '')].length > 0) ranked.push(e.id);
  } else if (model.type === 'BPE' && model.vocab && !Array.isArray(model.vocab)) {
    const vocab = model.vocab;
    const seen = new Set<number>();
    for (const merge of model.merges ?? []) {
      const [a, b] = typeof merge === 'string' ? merge.split(' ') : merge;
      const piece = a + b;
      const id = vocab[piece];
      if (ordinary(id, piece) && !seen.has(id)) {
        seen.add(id);
        ranked.push(id);
      }
    }
  } else if (model.vocab && !Array.isArray(model.vocab)) {
    // WordPiece and others: no ranking of their own beyond the vocabulary's order
    for (const [piece, id] of Object.entries(model.vocab).sort((x, y) => x[1] - y[1])) if (ordinary(id, piece) && [...piece].length > 1) ranked.push(id);
  }
  return ranked;
}
