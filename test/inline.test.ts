// Inline results on a dataset's lines: which prompts a line shows, the text of its mark, and the
// hover's legend. Pure functions on made-up results, so every case is spelled out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hoverMarkdown, inlinePrompts, lineMarks, lineOutcome, markText, truncate, type EvaluatedPrompt, type LineResult } from '../src/extension/logic/inline-results.js';

const prompts: EvaluatedPrompt[] = [
  { id: 'zero-shot', kind: 'discrete', accuracy: 0.4 },
  { id: '4-shot', kind: 'discrete', accuracy: 0.65 },
  { id: 'answer-is', kind: 'discrete', accuracy: 0.65 },
  { id: 'soft', kind: 'soft', accuracy: 0.8 },
  { id: 'ensemble', kind: 'ensemble', accuracy: 0.9 },
];

function line(correct: Record<string, string>, gold = 'happy'): LineResult {
  return {
    line: 3,
    gold,
    predictions: Object.entries(correct).map(([promptId, prediction]) => ({
      promptId,
      kind: prompts.find((p) => p.id === promptId)?.kind ?? 'discrete',
      prediction,
      correct: prediction === gold,
      scores: { happy: -0.25, sad: -1.5 },
    })),
  };
}

describe('inline results', () => {
  it('by default shows the soft prompt and the most accurate discrete prompt, ties going to the smaller id', () => {
    const shown = inlinePrompts(prompts, 'soft-vs-best');
    assert.deepEqual(shown.map((s) => [s.mark, s.id]), [['soft', 'soft'], ['best', '4-shot']]);
    // the order of eval.json does not change the pick
    assert.deepEqual(inlinePrompts([...prompts].reverse(), 'soft-vs-best').map((s) => s.id), ['soft', '4-shot']);
  });

  it('picks the most accurate of several soft prompts, and shows what exists when one kind is missing', () => {
    const twoSoft: EvaluatedPrompt[] = [...prompts, { id: 'soft-b', kind: 'soft', accuracy: 0.85 }];
    assert.deepEqual(inlinePrompts(twoSoft, 'soft-vs-best').map((s) => s.id), ['soft-b', '4-shot']);
    assert.deepEqual(inlinePrompts(prompts.filter((p) => p.kind !== 'soft'), 'soft-vs-best').map((s) => s.mark), ['best']);
    const modelOnly: EvaluatedPrompt[] = [{ id: 'tuned', kind: 'model', accuracy: 0.7 }];
    assert.deepEqual(inlinePrompts(modelOnly, 'soft-vs-best').map((s) => s.mark), ['tuned']);
  });

  it('"all" keeps every prompt, in eval.json order, marked by its id (long ids cut)', () => {
    const long: EvaluatedPrompt[] = [...prompts, { id: 'a-very-long-prompt-name', kind: 'discrete', accuracy: 0.1 }];
    const shown = inlinePrompts(long, 'all');
    assert.deepEqual(shown.map((s) => s.id), long.map((p) => p.id));
    assert.equal(shown.at(-1)!.mark, 'a-very-long…');
    assert.ok(shown.every((s) => [...s.mark].length <= 12));
  });

  it('a mark is short: each shown prompt right or wrong, a wrong one with the label name it predicted', () => {
    const shown = inlinePrompts(prompts, 'soft-vs-best');
    const r = line({ 'zero-shot': 'sad', '4-shot': 'sad', 'answer-is': 'happy', soft: 'happy', ensemble: 'happy' });
    assert.equal(markText(r, shown), 'soft ✓ · best ✗ sad');
    assert.equal(lineOutcome(r, shown), 'mixed');
    assert.equal(lineOutcome(line({ soft: 'happy', '4-shot': 'happy' }), shown), 'right');
    assert.equal(lineOutcome(line({ soft: 'sad', '4-shot': 'sad' }), shown), 'wrong');
    assert.equal(lineOutcome(line({ 'zero-shot': 'sad' }), shown), null);
  });

  it('cuts a long label in the mark with an ellipsis', () => {
    const shown = inlinePrompts(prompts, 'soft-vs-best');
    const r = line({ soft: 'description_of_the_thing', '4-shot': 'happy' });
    assert.equal(markText(r, shown), 'soft ✗ description… · best ✓');
    assert.equal(truncate('short', 12), 'short');
    assert.equal([...truncate('x'.repeat(40), 12)].length, 12);
  });

  it('gives every mark of a file one width, wide enough for the longest', () => {
    const shown = inlinePrompts(prompts, 'soft-vs-best');
    const { marks, width } = lineMarks([line({ soft: 'happy', '4-shot': 'happy' }), { ...line({ soft: 'sad', '4-shot': 'sad' }), line: 4 }], shown);
    assert.deepEqual(marks.map((m) => [m.line, m.text, m.outcome]), [[3, 'soft ✓ · best ✓', 'right'], [4, 'soft ✗ sad · best ✗ sad', 'wrong']]);
    assert.ok(width >= [...'soft ✗ sad · best ✗ sad'].length);
  });

  it('the hover has a legend of the marks, the meaning of ✓ and ✗, and every prompt with full label names', () => {
    const shown = inlinePrompts(prompts, 'soft-vs-best');
    const r = line({ 'zero-shot': 'sad', '4-shot': 'description_of_the_thing', 'answer-is': 'happy', soft: 'happy', ensemble: 'happy' });
    const hover = hoverMarkdown(r, { runId: 'run-1', split: 'test' }, shown);
    assert.match(hover, /\*\*soft\*\* = soft \(soft, 80\.0% on test\)/);
    assert.match(hover, /\*\*best\*\* = 4-shot \(best discrete, 65\.0% on test\)/);
    assert.match(hover, /✓ predicted the gold label, ✗ another label/);
    assert.match(hover, /\| best \| 4-shot \(discrete\) \| ✗ description\\_of\\_the\\_thing \|/);
    assert.match(hover, /\| {2}\| zero-shot \(discrete\) \| ✗ sad \| -0\.250 \| -1\.500 \|/);
    assert.match(hover, /\| mark \| prompt \| prediction \| log P\(happy\) \| log P\(sad\) \|/);
    assert.match(hover, /^\*\*Gold: happy\*\* \(run run-1, test split\)/);
  });
});
