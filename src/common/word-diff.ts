// A generated output against its expected target, word by word: the output's words that are in the
// target, those that are not (extra), and the target's words the output lacks (missing), placed
// where they belong. Words compare as exact match compares them (SQuAD normalisation: case,
// punctuation and the articles a, an, the left out), so an output that matches exactly shows no
// difference. Pure: the comparison panel draws it, and tests check it.
import { normalizeAnswer } from './text-metrics.js';

/** A piece of the diff, in reading order; whitespace pieces are 'same'. */
export interface DiffPiece { kind: 'same' | 'extra' | 'missing'; text: string }

interface Word { text: string; key: string; space: string }

/** A word's key as exact match sees it; '' where normalisation drops it (punctuation, an article). */
export function wordKey(word: string): string {
  return normalizeAnswer(word);
}

function words(text: string): { words: Word[]; tail: string } {
  const out: Word[] = [];
  const re = /(\s*)(\S+)/g;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text))) {
    out.push({ space: m[1], text: m[2], key: wordKey(m[2]) });
    end = re.lastIndex;
  }
  return { words: out, tail: text.slice(end) };
}

/** Pairs (i, j) of a longest common subsequence of a and b, in order. */
function commonPairs(a: string[], b: string[]): [number, number][] {
  // equal ends first: most outputs share a prefix or suffix with the target, and the table shrinks
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const pairs: [number, number][] = [];
  for (let k = 0; k < start; k++) pairs.push([k, k]);
  const n = endA - start;
  const m = endB - start;
  // a very long output against a very long target: the middle is shown as replaced, not aligned
  if (n > 0 && m > 0 && n * m <= 4_000_000) {
    const width = m + 1;
    const table = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * width + j] = a[start + i] === b[start + j] ? table[(i + 1) * width + j + 1] + 1 : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
      }
    }
    for (let i = 0, j = 0; i < n && j < m;) {
      if (a[start + i] === b[start + j]) { pairs.push([start + i, start + j]); i++; j++; }
      else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) i++;
      else j++;
    }
  }
  for (let k = 0; k < a.length - endA; k++) pairs.push([endA + k, endB + k]);
  return pairs;
}

/**
 * The output's text, every character of it in order, with the words the target lacks marked extra,
 * and the target's words the output lacks inserted as missing (after the extra words of the same
 * place, each preceded by a space).
 */
export function wordDiff(target: string, output: string): DiffPiece[] {
  const t = words(target);
  const o = words(output);
  // only the words exact match sees take part: the rest of the output stays as it is
  const tIdx = t.words.flatMap((w, i) => (w.key ? [i] : []));
  const oIdx = o.words.flatMap((w, i) => (w.key ? [i] : []));
  const pairs = commonPairs(tIdx.map((i) => t.words[i].key), oIdx.map((i) => o.words[i].key));
  const pieces: DiffPiece[] = [];
  const push = (kind: DiffPiece['kind'], text: string) => {
    if (!text) return;
    const last = pieces[pieces.length - 1];
    if (last && last.kind === kind) last.text += text;
    else pieces.push({ kind, text });
  };
  let nextOut = 0;
  let nextTarget = 0;
  for (const [ti, oi] of [...pairs, [tIdx.length, oIdx.length] as [number, number]]) {
    const outEnd = oi < oIdx.length ? oIdx[oi] : o.words.length;
    for (; nextOut < outEnd; nextOut++) {
      const w = o.words[nextOut];
      push('same', w.space);
      push(w.key ? 'extra' : 'same', w.text);
    }
    const inserted = nextTarget < ti;
    for (; nextTarget < ti; nextTarget++) {
      const last = pieces[pieces.length - 1];
      push('same', last && !/\s$/.test(last.text) ? ' ' : '');
      push('missing', t.words[tIdx[nextTarget]].text);
    }
    if (oi < oIdx.length) {
      const w = o.words[nextOut++];
      // a word after inserted ones keeps a space from them
      push('same', inserted && !w.space ? ' ' : w.space);
      push('same', w.text);
      nextTarget = ti + 1;
    }
  }
  push('same', o.tail);
  // a run of extra (or missing) words reads as one piece, the spaces between them inside it
  const joined: DiffPiece[] = [];
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k];
    const prev = joined[joined.length - 1];
    const next = pieces[k + 1];
    if (p.kind === 'same' && /^\s+$/.test(p.text) && prev && next && prev.kind !== 'same' && prev.kind === next.kind) {
      prev.text += p.text + next.text;
      k++;
    } else if (prev && prev.kind === p.kind) prev.text += p.text;
    else joined.push({ ...p });
  }
  return joined;
}

/** Whether a diff shows any difference. */
export function differs(pieces: DiffPiece[]): boolean {
  return pieces.some((p) => p.kind !== 'same');
}

