// A text-target task in real VS Code (code-server): the bundled subject task (stories260K names
// the thing a story is about), trained from the palette with few steps, then its row in the
// Experiments tree and its dev curve in the Run view led by exact match, the comparison panel's
// text metrics and cost, outputs beside their targets with the difference marked, the detail
// pane's figures and assertion verdicts at 1400 px and 700 px with nothing cut unreadably, and
// pass or fail marks on the test file's lines with output and target in the hover.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { runLabel } from '../../src/extension/logic/experiments.js';
import { openVsCode, root, waitFor, type VsCodeSession, inlineMarks } from './harness.js';

const TEST_LINES = 40;

/** The bundled example, made small: few steps, a short soft prompt, 40 test stories. */
function prepare(workspace: string): void {
  const spec = JSON.parse(readFileSync(join(root, 'examples', 'subject', 'subject.ptune.json'), 'utf8'));
  mkdirSync(join(workspace, 'subject'), { recursive: true });
  for (const split of ['train', 'dev', 'test']) cpSync(join(root, 'data', 'subject', `${split}.jsonl`), join(workspace, 'subject', `${split}.jsonl`));
  const test = readFileSync(join(workspace, 'subject', 'test.jsonl'), 'utf8').split('\n').slice(0, TEST_LINES);
  writeFileSync(join(workspace, 'subject', 'test.jsonl'), `${test.join('\n')}\n`);
  const dev = readFileSync(join(workspace, 'subject', 'dev.jsonl'), 'utf8').split('\n').slice(0, 16);
  writeFileSync(join(workspace, 'subject', 'dev.jsonl'), `${dev.join('\n')}\n`);
  delete spec.$schema;
  Object.assign(spec, {
    model: join(root, 'models', 'stories260K'),
    data: { ...spec.data, train: './subject/train.jsonl', dev: './subject/dev.jsonl', test: './subject/test.jsonl' },
    softPrompt: { ...spec.softPrompt, length: 8 },
    training: { ...spec.training, steps: 12, batchSize: 8, evalEvery: 6 },
  });
  writeFileSync(join(workspace, 'subject.ptune.json'), JSON.stringify(spec, null, 2));
}

interface Clipping { page: number[]; viewport: number[]; cut: string[]; outputs: number; clamped: { line: string; prompt: string; text: string }[]; widths: number[] }

/** What the examples table shows and cuts: sideways scrolling, words cut, outputs clamped to two lines. */
async function clipping(frame: Frame): Promise<Clipping> {
  return frame.evaluate(() => {
    const viewport = document.querySelector('#examples .viewport') as HTMLElement;
    const cells = Array.from(document.querySelectorAll('#examples td.output-cell .line1, #examples td.target .line1')) as HTMLElement[];
    const outputs = Array.from(document.querySelectorAll('#examples td.output-cell')) as HTMLElement[];
    return {
      page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
      viewport: [viewport.scrollWidth, viewport.clientWidth],
      // a word wider than its cell: cut sideways, unreadable
      cut: cells.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent ?? ''),
      outputs: outputs.length,
      // more than two lines: the cell ends in an ellipsis, the detail pane has it whole
      clamped: outputs.filter((td) => { const l = td.querySelector('.line1') as HTMLElement; return l.scrollHeight > l.clientHeight + 1; })
        .map((td) => ({ line: td.closest('tr')!.querySelector('td')!.textContent ?? '', prompt: String(td.getAttribute('aria-colindex')), text: td.title })),
      widths: Array.from(document.querySelectorAll('#examples th.col-prompt')).map((th) => th.getBoundingClientRect().width),
    };
  });
}

/** The detail pane's parts for one prompt, and whether any text of it is cut. */
async function detailOf(frame: Frame, prompt: string): Promise<{ output: string; diff: string | null; metrics: string[]; assertions: string[]; cut: number }> {
  return frame.evaluate((key) => {
    const section = document.querySelector(`#example-detail section[data-prompt="${key}"]`)!;
    const texts = Array.from(section.querySelectorAll('.output-text, .diff-text')) as HTMLElement[];
    return {
      output: section.querySelector('.output-text')?.textContent ?? '',
      diff: section.querySelector('.diff-text')?.textContent ?? null,
      metrics: Array.from(section.querySelectorAll('table.text-metrics tr')).map((tr) => tr.getAttribute('data-metric') ?? (tr.querySelector('th')?.textContent ?? '')),
      assertions: Array.from(section.querySelectorAll('.assertions li')).map((li) => (li as HTMLElement).innerText),
      cut: texts.filter((t) => t.scrollWidth > t.clientWidth + 1).length,
    };
  }, prompt);
}

describe('a text-target task in VS Code', { timeout: 20 * 60_000 }, () => {
  let vscode: VsCodeSession;
  let page: Page;
  let workspace: string;
  let command: VsCodeSession['command'];
  let shot: VsCodeSession['shot'];
  let frameWith: VsCodeSession['frameWith'];
  let runDir: string;
  let evalJson: { task: string; metric: string; results: { id: string; kind: string; accuracy: number; accuracyInterval?: [number, number]; promptTokens?: number; passRate?: number }[] };
  let predictions: { line: number; promptId: string; output: string; target: string; correct: boolean; assertions?: { pass: boolean; reason?: string }[] }[];
  let frame: Frame;

  before(async () => {
    vscode = await openVsCode('targets', { 'workbench.colorTheme': 'Default Dark Modern' }, { width: 1400, height: 1000 }, prepare);
    ({ page, workspace, command, shot, frameWith } = vscode);
  });

  after(async () => { await vscode?.close(); });

  it('trains from the palette; the tree and the Run view lead with exact match', async () => {
    await command('Prompt Tuning: Train Soft Prompt');
    const runsDir = join(workspace, '.ptune', 'runs');
    runDir = await waitFor('a run folder', () => existsSync(runsDir) && readdirSync(runsDir).map((d) => join(runsDir, d)).find((d) => existsSync(join(d, 'run.json'))), 120_000);
    await waitFor('the run to complete', () => JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).status === 'completed', 10 * 60_000, 2000);
    await page.locator('.notification-toast', { hasText: 'training finished' }).waitFor({ timeout: 60_000 });
    evalJson = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8'));
    predictions = readFileSync(join(runDir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(evalJson.task, 'target');
    assert.equal(evalJson.metric, 'exactMatch');

    await page.locator('.activitybar .action-item [aria-label^="Prompt Tuning"], .activitybar .action-label[aria-label^="Prompt Tuning"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: runLabel(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'))) });
    await row.waitFor({ timeout: 30_000 });
    const soft = evalJson.results.find((r) => r.kind === 'soft')!;
    assert.match(await row.innerText(), new RegExp(`soft exact match ${(100 * soft.accuracy).toFixed(1)}%`));
    const runView = await waitFor('the Run view', () => frameWith('.heading'), 30_000);
    await waitFor('the dev curve named by its metric', async () => (await runView.locator('.u-title').allInnerTexts()).includes('dev exact match'), 30_000);
    await page.waitForTimeout(500);
    await shot('targets-1-tree-and-run-view');
  });

  it('at 1400 px: text metrics and cost per prompt, outputs beside targets with the difference marked, the detail pane whole', async () => {
    await command('View: Close Primary Side Bar');
    await command('Prompt Tuning: Open Comparison');
    frame = await waitFor('the comparison webview', () => frameWith('#examples tbody tr[data-index]'), 90_000);
    await frame.locator('#example-count').filter({ hasText: new RegExp(`^${TEST_LINES} of ${TEST_LINES}$`) }).waitFor();
    for (const r of evalJson.results) {
      assert.equal((await frame.locator(`#results tr[data-prompt="${r.id}"] td.metric-exactMatch`).innerText()).trim(), accuracyText(r.accuracy, r.accuracyInterval), r.id);
      assert.equal((await frame.locator(`#results tr[data-prompt="${r.id}"] td.cost`).first().innerText()).trim(), r.promptTokens!.toFixed(1), `${r.id} prompt tokens`);
    }
    const heads = await frame.locator('#results thead th').allInnerTexts();
    for (const h of ['exact match', 'token F1', 'chrF', 'ROUGE-L', 'NLL/token', 'pass rate', 'prompt tokens', 'output tokens', 'ms/example']) assert.ok(heads.includes(h), `${h} in ${heads}`);
    assert.equal(await frame.locator('#per-class, .confusions').count(), 0, 'no classes for a text target');
    await page.waitForTimeout(500);
    await shot('targets-2-1400px-summary');

    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    const layout = await clipping(frame);
    assert.ok(layout.page[0] <= layout.page[1], `the panel scrolls sideways: ${layout.page}`);
    assert.ok(layout.viewport[0] <= layout.viewport[1], `the table scrolls sideways: ${layout.viewport}`);
    assert.deepEqual(layout.cut, [], 'no output or target cut sideways');
    assert.ok(layout.outputs >= 4 * 10, `${layout.outputs} output cells`);
    for (const w of layout.widths) assert.ok(w >= 90, `an output column ${w} px wide`);
    assert.equal(await frame.locator('#examples th.col-target').innerText(), 'target');
    // every failing output shows how it differs, and the figures under it name the assertions passed
    const wrong = predictions.filter((p) => !p.correct && p.output.trim()).length;
    if (wrong > 0) assert.ok(await frame.locator('#examples td.output-cell del.extra, #examples td.output-cell ins.missing').count() > 0, 'a difference is marked');
    const figures = await frame.locator('#examples td.output-cell .line2').allInnerTexts();
    assert.ok(figures.every((f) => /^F1 \d+% · \d\/2$/.test(f)), `figures: ${figures.slice(0, 4)}`);
    assert.match(await frame.locator('#diff-legend').innerText(), /struck: in the output, not the target/);
    await shot('targets-3-1400px-examples');

    // a failing example: the detail pane has the whole output, the target, each figure, each verdict with its reason
    await frame.evaluate(() => {
      const select = document.getElementById('filter') as HTMLElement & { value: string };
      select.value = 'fails';
      select.dispatchEvent(new Event('change'));
    });
    const failing = predictions.filter((p) => !p.correct || p.assertions?.some((a) => !a.pass));
    const lines = new Set(failing.map((p) => p.line));
    await frame.locator('#example-count').filter({ hasText: new RegExp(`^${lines.size} of ${TEST_LINES}$`) }).waitFor();
    const withReason = failing.find((p) => p.assertions?.some((a) => !a.pass && a.reason)) ?? failing[0];
    const index = [...lines].sort((a, b) => a - b).indexOf(withReason.line);
    await frame.locator(`#examples tbody tr[data-index="${index}"] td.input`).click();
    await frame.locator('#example-detail .detail-head', { hasText: `Line ${withReason.line}` }).waitFor();
    assert.equal((await frame.locator('#example-detail .target-text').innerText()).trim(), withReason.target.trim());
    const detail = await detailOf(frame, withReason.promptId);
    assert.equal(detail.output.trim() || '(empty)', withReason.output.trim() || '(empty)');
    assert.equal(detail.cut, 0, 'the whole output and its difference wrap');
    if (!withReason.correct) assert.ok(detail.diff !== null, 'the difference from the target');
    assert.deepEqual(detail.metrics.slice(0, 5), ['exactMatch', 'tokenF1', 'chrF', 'rougeL', 'nll']);
    assert.equal(detail.assertions.length, withReason.assertions?.length ?? 0);
    const reason = withReason.assertions?.find((a) => !a.pass)?.reason;
    if (reason) assert.ok(detail.assertions.some((a) => a.startsWith('✗ fail') && a.includes(reason)), `the reason "${reason}" in ${detail.assertions}`);
    // the table's clamped outputs are there whole in the detail pane
    for (const c of layout.clamped.slice(0, 3)) assert.match(c.text, /\noutput: /);
    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    await page.waitForTimeout(400);
    await shot('targets-4-1400px-detail');

    // sort a prompt's column by token F1, worst first
    await frame.evaluate(() => {
      const select = document.getElementById('sort-metric') as HTMLElement & { value: string };
      select.value = 'tokenF1';
      select.dispatchEvent(new Event('change'));
    });
    const softHead = frame.locator('#examples th.col-prompt', { hasText: 'soft' });
    await softHead.locator('button').click();
    assert.equal(await softHead.getAttribute('aria-sort'), 'ascending');
    assert.match(await softHead.getAttribute('title') ?? '', /click to sort by token F1, its worst outputs first/);
  });

  it('at 700 px: the results become cards, outputs wrap in their columns, the detail pane goes under the table', async () => {
    await page.setViewportSize({ width: 700, height: 1000 });
    await page.waitForTimeout(1500);
    await frame.evaluate(() => {
      const select = document.getElementById('filter') as HTMLElement & { value: string };
      select.value = 'all';
      select.dispatchEvent(new Event('change'));
    });
    await frame.locator('#example-count').filter({ hasText: new RegExp(`^${TEST_LINES} of ${TEST_LINES}$`) }).waitFor();
    assert.equal(await frame.evaluate(() => getComputedStyle(document.querySelector('#results tbody tr')!).display), 'grid', 'the results are cards');
    await frame.evaluate(() => document.getElementById('results')!.scrollIntoView());
    await page.waitForTimeout(500);
    await shot('targets-5-700px-summary-cards');
    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    await page.waitForTimeout(500);
    const layout = await clipping(frame);
    assert.ok(layout.page[1] >= 600 && layout.page[1] <= 700, `the panel is ${layout.page[1]} px wide`);
    assert.ok(layout.page[0] <= layout.page[1], `the panel scrolls sideways: ${layout.page}`);
    assert.ok(layout.viewport[0] <= layout.viewport[1], `the table scrolls sideways: ${layout.viewport}`);
    assert.deepEqual(layout.cut, [], 'no output or target cut sideways');
    for (const w of layout.widths) assert.ok(w >= 90, `an output column ${w} px wide`);
    await shot('targets-6-700px-examples');
    const below = await frame.evaluate(() => (document.querySelector('#example-detail') as HTMLElement).getBoundingClientRect().top > (document.querySelector('#examples .viewport') as HTMLElement).getBoundingClientRect().bottom - 1);
    assert.ok(below, 'the detail pane is under the table');
    await frame.locator('#example-detail').evaluate((d) => d.scrollIntoView());
    await page.waitForTimeout(400);
    const soft = await detailOf(frame, 'soft');
    assert.equal(soft.cut, 0);
    await shot('targets-7-700px-detail');
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it('the test file\'s lines: pass or fail per prompt, output and target in the hover', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('subject/test.jsonl');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'test.jsonl' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'test.jsonl' }).waitFor();
    await page.locator('.codelens-decoration', { hasText: /Prompt Tuning \(test, run .*soft exact match \d+\.\d%/ }).waitFor({ timeout: 30_000 });
    const marks = await inlineMarks(page);
    for (const m of marks) assert.match(m, /^"soft (✓|✗ [^·]*) · best (✓|✗ .*)"$/);
    // the hover of a line the soft prompt fails: its output against the target, the failed assertions' reasons
    const failing = predictions.find((p) => p.promptId === 'soft' && p.assertions?.some((a) => !a.pass && a.reason))!;
    const top = await page.locator('.view-lines').boundingBox();
    const lineHeight = await page.locator('.view-lines .view-line').first().evaluate((l) => l.getBoundingClientRect().height);
    await page.locator('.view-lines').evaluate((v) => v.closest('.monaco-scrollable-element')!.scrollTop = 0);
    const lineTop = await page.evaluate((n) => Array.from(document.querySelectorAll('.view-lines .view-line')).map((l) => l.getBoundingClientRect().top).sort((a, b) => a - b)[n - 1], failing.line);
    await page.mouse.move(top!.x + 600, lineTop + lineHeight / 2);
    const hover = page.locator('.monaco-hover', { hasText: 'Target:' });
    await hover.waitFor({ timeout: 30_000 });
    const text = await hover.innerText();
    assert.match(text, /mark\s+prompt\s+output\s+exact\s+token F1\s+assertions/);
    assert.match(text, new RegExp(`Target: ${failing.target}`));
    assert.ok(text.includes(failing.assertions!.find((a) => !a.pass)!.reason!), `the reason in ${text}`);
    await page.waitForTimeout(300);
    await shot('targets-8-inline-hover');
    await page.keyboard.press('Escape');
  });

  it('New Experiment for a text output proposes the subject field and writes data.target without a verbalizer', async () => {
    await command('Prompt Tuning: New Experiment');
    await vscode.quickInput(/^New Experiment$/, 'A text output');
    await vscode.quickInput('New Experiment (1/5)', 'stories260K');
    await vscode.quickInput('New Experiment (2/5)', 'subject/train.jsonl');
    // the proposed field comes first: accept it as it is
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'New Experiment (3/5)' }).waitFor();
    const first = page.locator('.quick-input-list .monaco-list-row').first();
    assert.match(await first.innerText(), /^subject\s*\d+ distinct: "[^"]+"[\s\S]*proposed/);
    await shot('targets-9-new-experiment-target-field');
    await vscode.quickInput('New Experiment (3/5)', null);
    await vscode.quickInput('New Experiment (4/5)', 'story');
    await vscode.quickInput('New Experiment (5/5)', '{story} The story is about the');
    await vscode.quickInput('New Experiment: name', 'subject-wizard');
    const specFile = join(workspace, 'subject-wizard.ptune.json');
    await waitFor('the spec file', () => existsSync(specFile), 30_000);
    const spec = JSON.parse(readFileSync(specFile, 'utf8'));
    assert.equal(spec.data.target, '{subject}');
    assert.equal(spec.data.verbalizer, undefined);
    assert.equal(spec.data.label, undefined);
    assert.equal(spec.evaluation, undefined);
    assert.equal(spec.data.test, './subject/test.jsonl');
  });
});
