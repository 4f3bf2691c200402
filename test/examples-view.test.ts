// The comparison panel's examples view without a browser: the per-prompt filters, the sort, search
// hits, the detail of one example (every label's log-prob and the prompt as the model read it,
// demonstrations included), the column widths, and the colours made to reach WCAG AA.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { filterExamples, filterLabel, goldMargin, keepsRow, matchesSearch, nextSort, searchHits, sortExamples, splitHits, validFilter } from '../src/common/example-filter.js';
import { kShotText, promptSource, renderPrompt, renderedText, sourceText } from '../src/common/prompt-render.js';
import type { ComparisonData, ExampleCell, ExampleRow, PromptSummary } from '../src/common/protocol.js';
import type { Spec } from '../src/common/spec.js';
import { loadSpec } from '../src/common/spec.js';
import { readSplit } from '../src/common/data.js';
import { loadComparison } from '../src/extension/logic/comparison-data.js';
import { openModel } from '../src/models/load.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { blend, contrastRatio, parseColor, readableColor, over } from '../webview/common/contrast.js';
import { columnWidths } from '../webview/comparison/layout.js';
import { labelShares } from '../webview/comparison/detail.js';
import { root, storiesDir, tempDir } from './helpers.js';

const cell = (prediction: string, correct: boolean, margin: number | null = null, generated?: string): ExampleCell => ({ prediction, correct, score: -1, margin, ...(generated !== undefined ? { generated } : {}) });
const row = (line: number, input: string, gold: string, cells: Record<string, ExampleCell>): ExampleRow => ({ line, file: '/d/test.jsonl', input, gold, cells });
const prompt = (key: string, kind: PromptSummary['kind']): PromptSummary => ({ key, id: key, run: 'r', kind, accuracy: 0, macroF1: 0, nll: 0, auc: null, exactMatch: null, accuracyInterval: null, perClass: null, confusion: [], predictedRate: {}, count: 0, taskParameters: 0 });

/** Three labels, three prompts: a (discrete), b (discrete), s (soft). */
function synthetic(): ComparisonData {
  const examples = [
    row(1, 'The cat sat', 'pos', { a: cell('pos', true, 2), b: cell('neg', false, -1), s: cell('pos', true, 0.5) }),
    row(2, 'A dog ran', 'neg', { a: cell('pos', false, -3), b: cell('neu', false, -0.2), s: cell('neg', true, 1) }),
    row(3, 'Birds sing', 'neu', { a: cell('pos', false, -0.5), b: cell('neg', false, -2), s: cell('pos', false, -1, 'positive, surely') }),
    row(4, 'cats and CATS', 'pos', { a: cell('pos', true, 4), b: cell('pos', true, 3), s: cell('pos', true, 2) }),
  ];
  return { runs: [], labels: ['pos', 'neg', 'neu'], prompts: [prompt('a', 'discrete'), prompt('b', 'discrete'), prompt('s', 'soft')], examples, curves: [] };
}

describe('examples view: filters', () => {
  const d = synthetic();
  const lines = (f: Parameters<typeof filterExamples>[1], search = '') => filterExamples(d, f, search).map((r) => r.line);

  it('per prompt: X wrong; X right and Y wrong; every prompt wrong; no two prompts agree', () => {
    assert.deepEqual(lines({ kind: 'wrong', prompt: 'a' }), [2, 3]);
    assert.deepEqual(lines({ kind: 'wrong', prompt: 'b' }), [1, 2, 3]);
    assert.deepEqual(lines({ kind: 'rightWrong', right: 's', wrong: 'b' }), [1, 2]);
    assert.deepEqual(lines({ kind: 'rightWrong', right: 'a', wrong: 'b' }), [1]);
    assert.deepEqual(lines({ kind: 'rightWrong', right: 'b', wrong: 'a' }), []);
    assert.deepEqual(lines({ kind: 'allWrong' }), [3]);
    // line 2: pos, neu, neg (all different); line 3: pos, neg, pos (two alike)
    assert.deepEqual(lines({ kind: 'allDisagree' }), [2]);
  });

  it('the named filters still hold: disagreements, a soft or a discrete prompt wrong', () => {
    assert.deepEqual(lines('all'), [1, 2, 3, 4]);
    assert.deepEqual(lines('disagreements'), [1, 2, 3]);
    assert.deepEqual(lines('soft-wrong'), [3]);
    assert.deepEqual(lines('discrete-wrong'), [1, 2, 3]);
  });

  it('a prompt missing from a row is neither right nor wrong there', () => {
    const r = row(9, 'x', 'pos', { a: cell('pos', true) });
    const kinds = new Map(d.prompts.map((p) => [p.key, p.kind]));
    assert.equal(keepsRow(r, { kind: 'wrong', prompt: 'b' }, kinds), false);
    assert.equal(keepsRow(r, { kind: 'rightWrong', right: 'a', wrong: 'b' }, kinds), false);
    assert.equal(keepsRow(r, { kind: 'allDisagree' }, kinds), false);
  });

  it('a saved filter naming prompts the panel does not show falls back to all', () => {
    const keys = ['a', 'b', 's'];
    assert.deepEqual(validFilter({ kind: 'wrong', prompt: 'a' }, keys), { kind: 'wrong', prompt: 'a' });
    assert.equal(validFilter({ kind: 'wrong', prompt: 'gone' }, keys), 'all');
    assert.equal(validFilter({ kind: 'rightWrong', right: 'a', wrong: 'a' }, keys), 'all');
    assert.equal(validFilter({ kind: 'rightWrong', right: 'a', wrong: 'x' }, keys), 'all');
    assert.equal(validFilter('soft-wrong', keys), 'soft-wrong');
    assert.equal(validFilter('nonsense', keys), 'all');
    assert.equal(validFilter(null, keys), 'all');
    assert.deepEqual(validFilter({ kind: 'allDisagree', extra: 1 }, []), { kind: 'allDisagree' });
    assert.equal(filterLabel({ kind: 'rightWrong', right: 's', wrong: 'b' }), 's right, b wrong');
    assert.equal(filterLabel({ kind: 'wrong', prompt: 'a' }), 'a is wrong');
  });

  it('search matches the input, the gold label and generated text, case ignored, and combines with a filter', () => {
    assert.deepEqual(lines('all', 'CAT'), [1, 4]);
    assert.deepEqual(lines('all', 'surely'), [3]);
    assert.deepEqual(lines({ kind: 'wrong', prompt: 'a' }, 'dog'), [2]);
    assert.equal(matchesSearch(d.examples[0], '   '), true);
  });
});

describe('examples view: sorting and search hits', () => {
  const d = synthetic();
  it('sorts by line, input, gold, and by a prompt: most surely wrong first, most surely right last', () => {
    const order = (s: Parameters<typeof sortExamples>[1]) => sortExamples(d.examples, s).map((r) => r.line);
    assert.deepEqual(order({ column: 'line', descending: true }), [4, 3, 2, 1]);
    assert.deepEqual(order({ column: 'input', descending: false }), [2, 3, 4, 1]);
    // gold: neg, neu, pos, pos (ties in line order)
    assert.deepEqual(order({ column: 'gold', descending: false }), [2, 3, 1, 4]);
    // a: wrong with margins -3 (2), -0.5 (3); right with 2 (1), 4 (4)
    assert.deepEqual(order({ column: { prompt: 'a' }, descending: false }), [2, 3, 1, 4]);
    assert.deepEqual(order({ column: { prompt: 'a' }, descending: true }), [4, 1, 3, 2]);
    assert.deepEqual(order(null), [1, 2, 3, 4]);
    // the rows given are left as they were
    assert.deepEqual(d.examples.map((r) => r.line), [1, 2, 3, 4]);
  });

  it('a cell without a margin sorts after those with one in its group; a missing cell last', () => {
    const rows = [row(1, '', 'p', { a: cell('p', true, null) }), row(2, '', 'p', {}), row(3, '', 'p', { a: cell('p', true, 0.1) }), row(4, '', 'p', { a: cell('q', false, null) })];
    assert.deepEqual(sortExamples(rows, { column: { prompt: 'a' }, descending: false }).map((r) => r.line), [4, 3, 1, 2]);
  });

  it('a heading click sorts ascending, then descending, then not at all; another heading starts again', () => {
    const a = nextSort(null, { prompt: 'a' });
    assert.deepEqual(a, { column: { prompt: 'a' }, descending: false });
    const b = nextSort(a, { prompt: 'a' });
    assert.deepEqual(b, { column: { prompt: 'a' }, descending: true });
    assert.equal(nextSort(b, { prompt: 'a' }), null);
    assert.deepEqual(nextSort(b, 'line'), { column: 'line', descending: false });
  });

  it('the gold margin: the gold label\'s log-prob less the best other label\'s', () => {
    assert.equal(goldMargin({ pos: -1, neg: -3, neu: -2 }, 'pos'), 1);
    assert.equal(goldMargin({ pos: -1, neg: -3, neu: -2 }, 'neg'), -2);
    assert.equal(goldMargin(null, 'pos'), null);
    assert.equal(goldMargin({ pos: -1 }, 'pos'), null);
    assert.equal(goldMargin({ pos: -1, neg: -2 }, 'other'), null);
  });

  it('search hits: every match, case ignored, not overlapping; the text cut into marked pieces', () => {
    assert.deepEqual(searchHits('cats and CATS', 'cat'), [[0, 3], [9, 12]]);
    assert.deepEqual(searchHits('aaaa', 'aa'), [[0, 2], [2, 4]]);
    assert.deepEqual(searchHits('abc', ''), []);
    assert.deepEqual(searchHits('abc', '  b '), [[1, 2]]);
    assert.deepEqual(splitHits('cats and CATS', 'cat'), [{ text: 'cat', hit: true }, { text: 's and ', hit: false }, { text: 'CAT', hit: true }, { text: 'S', hit: false }]);
    assert.deepEqual(splitHits('plain', 'zz'), [{ text: 'plain', hit: false }]);
    assert.deepEqual(splitHits('', 'zz'), [{ text: '', hit: false }]);
    // the pieces always put the text back together
    for (const [t, s] of [['Straße STRASSE', 'ss'], ['x', 'x'], ['İstanbul', 'i']]) assert.equal(splitHits(t, s).map((p) => p.text).join(''), t);
  });
});

describe('examples view: layout and colours', () => {
  it('column widths: minimums first; the input takes most of the rest; a bounded column stops at its maximum', () => {
    const needs = [{ min: 40, grow: 0 }, { min: 120, grow: 5 }, { min: 60, grow: 0 }, { min: 80, max: 200, grow: 1 }, { min: 80, max: 200, grow: 1 }];
    assert.deepEqual(columnWidths(300, needs), [40, 120, 60, 80, 80]);
    const at700 = columnWidths(660, needs);
    assert.deepEqual([at700[0], at700[2], at700[3], at700[4]], [40, 60, 80 + 40, 80 + 40]);
    assert.equal(at700[1], 120 + 200);
    const wide = columnWidths(3000, needs);
    assert.deepEqual([wide[3], wide[4]], [200, 200]);
    assert.ok(Math.abs(wide.reduce((s, w) => s + w, 0) - 3000) <= needs.length);
  });

  it('contrast: parses the theme\'s colour forms, and computes WCAG ratios', () => {
    assert.deepEqual(parseColor('#fff'), { rgb: [255, 255, 255], alpha: 1 });
    assert.deepEqual(parseColor('#ea5c0055')!.rgb, [234, 92, 0]);
    assert.ok(Math.abs(parseColor('#ea5c0055')!.alpha - 0x55 / 255) < 1e-9);
    assert.deepEqual(parseColor('rgba(1, 2, 3, 0.5)'), { rgb: [1, 2, 3], alpha: 0.5 });
    assert.equal(parseColor('var(--x)'), null);
    assert.equal(Math.round(contrastRatio([0, 0, 0], [255, 255, 255])), 21);
    assert.equal(contrastRatio([10, 20, 30], [10, 20, 30]), 1);
    assert.deepEqual(over({ rgb: [0, 0, 0], alpha: 0.5 }, [255, 255, 255]), [127.5, 127.5, 127.5]);
    assert.equal(blend('#6fc3df', '#000000', 0.5), '#386270');
    assert.equal(blend('nonsense', '#000000', 0.5), 'nonsense');
  });

  it('right and wrong colours reach 4.5:1 in the light, dark and high-contrast themes', () => {
    // the themes' testing.iconPassed and errorForeground on their editor, hover and selection backgrounds
    const themes = [
      { name: 'Light Modern', fg: '#3b3b3b', bgs: ['#ffffff', '#f2f2f2', '#e4e6f1'], right: '#388a34', wrong: '#f85149' },
      { name: 'Dark Modern', fg: '#cccccc', bgs: ['#1f1f1f', '#2a2d2e', '#37373d'], right: '#73c991', wrong: '#f85149' },
      { name: 'High Contrast', fg: '#ffffff', bgs: ['#000000'], right: '#73c991', wrong: '#f48771' },
      { name: 'High Contrast Light', fg: '#292929', bgs: ['#ffffff'], right: '#388a34', wrong: '#b5200d' },
    ];
    for (const t of themes) {
      for (const c of [t.right, t.wrong]) {
        const made = readableColor(c, t.bgs, t.fg, 4.5);
        for (const bg of t.bgs) assert.ok(contrastRatio(parseColor(made)!.rgb, parseColor(bg)!.rgb) >= 4.5, `${t.name}: ${c} made ${made} on ${bg}`);
      }
    }
    // a colour that reads already is kept
    assert.equal(readableColor('#000000', ['#ffffff'], '#333333', 4.5), '#000000');
    // Light Modern's error red on white is below AA as it is
    assert.ok(contrastRatio(parseColor('#f85149')!.rgb, [255, 255, 255]) < 4.5);
  });

  it('the bars of the detail pane: each label\'s share of the probability the labels have between them', () => {
    const s = labelShares({ happy: Math.log(0.3), sad: Math.log(0.1) });
    assert.ok(Math.abs(s.happy - 0.75) < 1e-12 && Math.abs(s.sad - 0.25) < 1e-12);
    const far = labelShares({ a: -1000, b: -1001 });
    assert.ok(Math.abs(far.a + far.b - 1) < 1e-12 && far.a > far.b);
    assert.deepEqual(labelShares({}), {});
  });
});

describe('examples view: rendered prompts', () => {
  const spec = {
    data: { labelSeparator: ' ', verbalizer: { pos: 'good', neg: 'bad' }, label: 'y', text: '{x}' },
    discretePrompts: [{ id: 'k', template: 'Review: {x} It was', shots: 2, shotSeparator: '\n\n' }, { id: 'chat', messages: [{ role: 'system', content: 'Judge.' }, { role: 'user', content: '{x}' }], shots: 1, shotSeparator: '\n\n' }],
    softPrompt: { id: 'soft', length: 5, init: 'random-uniform', template: '{x} =' },
    pipelines: [{ id: 'pipe', stage1: { template: 'Summarise: {x}', maxNewTokens: 8 }, stage2: { template: '{stage1} Verdict:', softPrompt: 'p.safetensors' } }],
  } as unknown as Spec;

  it('a k-shot prompt: its demonstrations with their labels, then the record, as the evaluator joins them', () => {
    const source = promptSource(spec, 'k', 'discrete')!;
    assert.equal(sourceText(source), '2 shots + Review: {x} It was');
    const demos = [{ line: 7, fields: { x: 'A' }, labelText: 'good' }, { line: 3, fields: { x: 'B' }, labelText: 'bad' }];
    const r = renderPrompt(source, { fields: { x: 'C' }, demonstrations: demos, labelSeparator: ' ' });
    assert.equal(renderedText(r), 'Review: A It was good\n\nReview: B It was bad\n\nReview: C It was');
    assert.equal(renderedText(r), kShotText('Review: {x} It was', { x: 'C' }, demos, ' ', '\n\n'));
    assert.deepEqual(r.parts.filter((p) => p.kind === 'shot').map((p) => (p as { line?: number }).line), [7, 3]);
    assert.equal(r.note, undefined);
    const unknown = renderPrompt(source, { fields: { x: 'C' }, demonstrations: null, labelSeparator: ' ' });
    assert.equal(renderedText(unknown), 'Review: C It was');
    assert.match(unknown.note!, /2 demonstrations were drawn from the train split .*did not record which/);
  });

  it('soft prompts, chat prompts and pipelines', () => {
    const soft = renderPrompt(promptSource(spec, 'soft', 'soft')!, { fields: { x: 'C' }, demonstrations: [], labelSeparator: ' ' });
    assert.equal(renderedText(soft), '⟨soft prompt: 5 tokens⟩C =');
    assert.equal(sourceText(promptSource(spec, 'other-run', 'soft')!), '⟨soft prompt⟩ {x} =');
    assert.equal(promptSource(spec, 'model-tuning', 'model')!.softTokens, 0);
    const chat = renderPrompt(promptSource(spec, 'chat', 'discrete')!, { fields: { x: 'C' }, demonstrations: [{ line: 2, fields: { x: 'A' }, labelText: 'good' }], labelSeparator: ' ' });
    assert.equal(renderedText(chat), 'system: Judge.\nuser: A\nassistant: good\nuser: C');
    assert.match(chat.note!, /chat template/);
    const pipe = renderPrompt(promptSource(spec, 'pipe', 'pipeline')!, { fields: { x: 'C' }, demonstrations: [], stage1: 'short', labelSeparator: ' ' });
    assert.equal(renderedText(pipe), '⟨soft prompt⟩short Verdict:');
    assert.equal(renderedText(renderPrompt(promptSource(spec, 'pipe/stage1', 'pipeline-stage1')!, { fields: { x: 'C' }, demonstrations: [], labelSeparator: ' ' })), 'Summarise: C');
    assert.equal(promptSource(spec, 'gone', 'discrete'), null);
  });
});

describe('examples view: one example\'s detail from a trained run', { timeout: 10 * 60_000 }, () => {
  let runDir: string;
  let specFile: string;
  before(async () => {
    const ws = tempDir('ptune-examples-');
    mkdirSync(join(ws, 'data'));
    for (const [name, count] of [['train', 30], ['dev', 8], ['test', 12]] as const) {
      const lines = readFileSync(join(root, 'data', 'mood', `${name}.jsonl`), 'utf8').split('\n').slice(0, count);
      writeFileSync(join(ws, 'data', `${name}.jsonl`), lines.join('\n') + '\n');
    }
    specFile = join(ws, 'view.ptune.json');
    writeFileSync(specFile, JSON.stringify({
      name: 'view', model: storiesDir,
      data: { train: './data/train.jsonl', dev: './data/dev.jsonl', test: './data/test.jsonl', text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
      discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }, { id: '3-shot', template: '{story} Everyone was', shots: 3 }],
      softPrompt: { length: 4, init: 'class-labels' },
      training: { steps: 3, batchSize: 4, evalEvery: 3 },
      evaluation: { generation: true },
    }));
    runDir = (await runJob({ kind: 'train', specFile, device: 'cpu' }, () => undefined)).runDir;
  });

  it('predictions.jsonl records the demonstrations of a k-shot prompt by their train lines', () => {
    const rows = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of rows) {
      if (r.promptId === '3-shot') assert.equal(r.shots.length, 3);
      else assert.equal(r.shots, undefined);
    }
  });

  it('the detail holds every label\'s log-prob, the generated text, and the prompt exactly as the model read it', async () => {
    const source = await loadComparison([runDir]);
    const { data } = source;
    const predictions = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // the text the evaluator scores, from the same records and seed
    const loaded = loadSpec(specFile);
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const evaluator = new Evaluator(lm, loaded.spec, await readSplit(loaded, 'train'));
    const test = await readSplit(loaded, 'test');
    for (const example of test.examples.slice(0, 4)) {
      const detail = (await source.detail(data.examples[0].file, example.line))!;
      assert.equal(detail.line, example.line);
      assert.deepEqual(detail.prompts.map((p) => p.key), ['zero-shot', '3-shot', 'soft']);
      for (const p of detail.prompts) {
        const written = predictions.find((r) => r.promptId === p.key && r.line === example.line);
        assert.deepEqual(p.scores, written.scores);
        assert.equal(p.generated, written.generated);
        assert.equal(p.correct, written.correct);
        const row = data.examples.find((r) => r.line === example.line)!;
        assert.equal(row.cells[p.key].margin, goldMargin(written.scores, written.gold));
      }
      for (const d of loaded.spec.discretePrompts) {
        const shown = detail.prompts.find((p) => p.key === d.id)!.prompt!;
        assert.equal(renderedText(shown), evaluator.prompts.discrete(d, loaded.spec.training.seed).text(example), `${d.id} line ${example.line}`);
      }
      const kshot = detail.prompts.find((p) => p.key === '3-shot')!.prompt!;
      assert.deepEqual(kshot.parts.filter((x) => x.kind === 'shot').map((x) => (x as { line: number }).line), predictions.find((r) => r.promptId === '3-shot' && r.line === example.line).shots);
      assert.equal(renderedText(detail.prompts.find((p) => p.key === 'soft')!.prompt!), `⟨soft prompt: 4 tokens⟩${evaluator.prompts.softInput().text(example)}`);
    }
    // each column's heading: its template, and the whole prompt for the first example
    assert.equal(data.prompts.find((p) => p.key === '3-shot')!.template, '3 shots + {story} Everyone was');
    const preview = data.prompts.find((p) => p.key === '3-shot')!.preview!;
    assert.equal(preview.line, data.examples[0].line);
    assert.equal(preview.text, evaluator.prompts.discrete(loaded.spec.discretePrompts[1], loaded.spec.training.seed).text(test.examples[0]));
    assert.equal(await source.detail(data.examples[0].file, 99999), null);
  });

  it('a run evaluated before the demonstrations were recorded says so in place of them', async () => {
    const old = tempDir();
    for (const f of ['run.json', 'eval.json', 'metrics.jsonl']) copyFileSync(join(runDir, f), join(old, f));
    const rows = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    writeFileSync(join(old, 'predictions.jsonl'), rows.map(({ shots: _s, ...r }) => JSON.stringify(r)).join('\n') + '\n');
    const source = await loadComparison([old]);
    const first = source.data.examples[0];
    const detail = (await source.detail(first.file, first.line))!;
    const kshot = detail.prompts.find((p) => p.key === '3-shot')!.prompt!;
    assert.equal(kshot.parts.some((p) => p.kind === 'shot'), false);
    assert.match(kshot.note!, /3 demonstrations .*evaluate it again/);
  });
});
