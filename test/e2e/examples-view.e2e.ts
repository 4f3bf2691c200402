// The comparison panel's examples view in real VS Code (code-server) at 700 px: predictions stay
// readable while the input gives way, the charts draw again when the theme changes (and the right
// and wrong colours keep 4.5:1 in the dark, light and high-contrast themes), and the examples
// table works from the keyboard. The run is trained by the CLI before the window opens.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { contrastRatio, parseColor } from '../../webview/common/contrast.js';
import { openVsCode, root, waitFor, type VsCodeSession } from './harness.js';

const SPEC = {
  name: 'examples',
  model: join(root, 'models', 'stories260K'),
  data: {
    train: './data/train.jsonl', dev: './data/dev.jsonl', test: './data/test.jsonl',
    text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' },
  },
  discretePrompts: [
    { id: 'zero-shot', template: '{story} In the end, everyone was' },
    { id: 'question', template: '{story} Was the story happy or sad? It was' },
    { id: '2-shot', template: '{story} In the end, everyone was', shots: 2 },
  ],
  softPrompt: { length: 8, init: 'class-labels' },
  training: { steps: 20, batchSize: 8, evalEvery: 10, seed: 0 },
  evaluation: { generation: true },
};

/** Contrast of the right and wrong predictions' text on the panel's background and on the selected row's. */
async function predictionContrast(frame: Frame): Promise<{ right: number; wrong: number; colors: string[] }> {
  // no named functions inside evaluate: the test's compiler would wrap them in a helper the page lacks
  const colors = await frame.evaluate(() => {
    const selected = document.querySelector('#examples tr.selected td');
    const bg = getComputedStyle(document.body).backgroundColor;
    return [getComputedStyle(document.querySelector('#examples td.prediction.right .line1')!).color, getComputedStyle(document.querySelector('#examples td.prediction.wrong .line1')!).color, bg, selected ? getComputedStyle(selected).backgroundColor : bg];
  });
  const [right, wrong, bg, rowBg] = colors.map((c) => parseColor(c)!);
  // a translucent row background lies over the panel's
  const under = (c: NonNullable<ReturnType<typeof parseColor>>) => c.rgb.map((v, i) => v * c.alpha + bg.rgb[i] * (1 - c.alpha)) as [number, number, number];
  const worst = (fg: typeof right) => Math.min(contrastRatio(fg.rgb, bg.rgb), contrastRatio(fg.rgb, under(rowBg)));
  return { right: worst(right), wrong: worst(wrong), colors };
}

/** Pixels of the loss chart's canvas drawn in `color` (the axis labels and ticks). */
async function canvasPixels(frame: Frame, color: string): Promise<number> {
  return frame.evaluate((hex) => {
    const canvas = document.querySelector('#chart-loss canvas') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const probe = document.createElement('canvas').getContext('2d')!;
    probe.fillStyle = hex;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 24) n++;
    return n;
  }, color);
}

async function switchTheme(page: Page, theme: string): Promise<void> {
  // the palette's first row for "Color Theme" may be the marketplace's browser: pick the row by its name
  await page.keyboard.press('F1');
  const palette = page.locator('.quick-input-widget input');
  await palette.waitFor({ state: 'visible' });
  await palette.fill('>Preferences: Color Theme');
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: /^Preferences: Color Theme$/ }) }).first().click({ timeout: 30_000 });
  const input = page.locator('.quick-input-widget input[placeholder*="Color Theme"]');
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  await input.fill(theme);
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^(Default )?${theme}$`) }) }).first().click({ timeout: 30_000 });
}

describe('the examples view in VS Code', { timeout: 15 * 60_000 }, () => {
  let vscode: VsCodeSession;
  let page: Page;
  let command: VsCodeSession['command'];
  let shot: VsCodeSession['shot'];
  let frame: Frame;
  let testFile: string;

  before(async () => {
    vscode = await openVsCode('examples', { 'workbench.colorTheme': 'Default Dark Modern' }, { width: 700, height: 1000 }, (workspace) => {
      const spec = join(workspace, 'examples.ptune.json');
      writeFileSync(spec, JSON.stringify(SPEC, null, 2));
      // a finished run, trained by the CLI: the window opens on a workspace that has one
      execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'train', spec, '--device', 'cpu'], { cwd: workspace, stdio: 'pipe', timeout: 5 * 60_000 });
      testFile = join(workspace, 'data', 'test.jsonl');
    });
    ({ page, command, shot } = vscode);
  });

  after(async () => { await vscode?.close(); });

  it('at 700 px the predictions stay readable, the input gives way, the results become cards', async () => {
    await command('View: Close Primary Side Bar');
    await command('Prompt Tuning: Open Comparison');
    frame = await waitFor('the comparison webview', () => vscode.frameWith('#examples tbody tr[data-index]'), 90_000);
    await frame.locator('#example-count').filter({ hasText: /^30 of 30$/ }).waitFor();
    await page.waitForTimeout(500);
    await shot('examples-0-700px-summary-cards');
    const layout = await frame.evaluate(() => {
      const predictions = Array.from(document.querySelectorAll('#examples td.prediction .line1')) as HTMLElement[];
      const inputs = Array.from(document.querySelectorAll('#examples td.input .line1')) as HTMLElement[];
      const viewport = document.querySelector('#examples .viewport') as HTMLElement;
      return {
        page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
        viewport: [viewport.scrollWidth, viewport.clientWidth],
        clipped: predictions.filter((p) => p.scrollWidth > p.clientWidth).map((p) => p.textContent),
        predictionWidths: Array.from(document.querySelectorAll('#examples th.col-prompt')).map((th) => th.getBoundingClientRect().width),
        predictions: predictions.length,
        truncatedInputs: inputs.filter((p) => p.scrollWidth > p.clientWidth).length,
        cards: getComputedStyle(document.querySelector('#results tbody tr')!).display,
        headerTitle: (document.querySelector('#examples th.col-prompt[title*="2-shot"]') as HTMLElement).title,
        detailBelow: (document.querySelector('#example-detail') as HTMLElement).getBoundingClientRect().top > viewport.getBoundingClientRect().bottom - 1,
      };
    });
    assert.ok(layout.page[1] >= 600 && layout.page[1] <= 700, `the panel is ${layout.page[1]} px wide`);
    assert.ok(layout.page[0] <= layout.page[1], `the panel scrolls sideways: ${layout.page}`);
    assert.ok(layout.viewport[0] <= layout.viewport[1], `the table scrolls sideways: ${layout.viewport}`);
    assert.ok(layout.predictions >= 4 * 10, `${layout.predictions} prediction cells`);
    assert.deepEqual(layout.clipped, [], 'no prediction is cut');
    for (const w of layout.predictionWidths) assert.ok(w >= 70, `a prediction column ${w} px wide`);
    assert.ok(layout.truncatedInputs > 0, 'the long inputs are the ones cut');
    assert.equal(layout.cards, 'grid', 'the results are cards');
    assert.match(layout.headerTitle, /rendered for line 1:\n[^\n]*In the end, everyone was (happy|sad)\n\n/);
    assert.ok(layout.detailBelow, 'the detail pane is under the table');
    // colour is not the only sign: every prediction starts with ✓ or ✗
    const marks = await frame.locator('#examples td.prediction .mark').allInnerTexts();
    assert.ok(marks.length > 0 && marks.every((m) => m === '✓' || m === '✗'));
    const dark = await predictionContrast(frame);
    assert.ok(dark.right >= 4.5 && dark.wrong >= 4.5, `dark: ${JSON.stringify(dark)}`);

    // a search marks its hits in the inputs
    await frame.locator('#search input').fill('kite');
    await frame.locator('#example-count').filter({ hasText: /^[1-9]\d* of 30$/ }).waitFor();
    const hits = await frame.locator('#examples td.input mark').allInnerTexts();
    assert.ok(hits.length > 0 && hits.every((h) => h.toLowerCase() === 'kite'), `hits: ${hits}`);
    await frame.locator('#search input').fill('');
    await frame.locator('#example-count').filter({ hasText: /^30 of 30$/ }).waitFor();

    // a prompt's heading sorts: the examples it gets most surely wrong first
    const soft = frame.locator('#examples th.col-prompt', { hasText: 'soft' });
    await soft.locator('button').click();
    assert.equal(await soft.getAttribute('aria-sort'), 'ascending');
    // line, input, gold, zero-shot, question, 2-shot, soft
    const softCell = frame.locator('#examples tbody tr[data-index="0"] td:nth-child(7)');
    assert.match(await softCell.getAttribute('class') ?? '', /wrong/);
    await soft.locator('button').click();
    assert.equal(await soft.getAttribute('aria-sort'), 'descending');
    assert.match(await softCell.getAttribute('class') ?? '', /right/);
    await soft.locator('button').click();
    assert.equal(await soft.getAttribute('aria-sort'), 'none');

    // the detail pane of a clicked example: every label's log-prob, the 2-shot prompt's demonstrations
    await frame.locator('#examples tbody tr[data-index="1"] td.input').click();
    await frame.locator('#example-detail .detail-head', { hasText: 'Line 2' }).waitFor();
    assert.equal(await frame.locator('#example-detail section[data-prompt="2-shot"] pre.rendered .part.shot').count(), 2);
    assert.equal(await frame.locator('#example-detail section[data-prompt="soft"] table.label-scores tbody tr').count(), 2);
    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    await page.waitForTimeout(500);
    await shot('examples-1-700px-dark');
    await frame.locator('#example-detail section[data-prompt="2-shot"]').evaluate((section) => section.scrollIntoView());
    await page.waitForTimeout(300);
    await shot('examples-1b-700px-detail-2-shot');
  });

  it('a theme switch draws the charts again in the theme\'s colours; right and wrong keep 4.5:1', async () => {
    await frame.evaluate(() => document.getElementById('charts')!.scrollIntoView());
    const chart = frame.locator('#chart-loss');
    const before = { theme: await chart.getAttribute('data-theme'), draws: Number(await chart.getAttribute('data-draws')), axis: (await chart.getAttribute('data-axis-color'))! };
    assert.equal(before.theme, 'dark');
    assert.ok(await canvasPixels(frame, before.axis) > 20, 'the dark axis labels are on the canvas');

    await switchTheme(page, 'Light Modern');
    await waitFor('the charts drawn for the light theme', async () => (await chart.getAttribute('data-theme')) === 'light', 30_000);
    const light = { draws: Number(await chart.getAttribute('data-draws')), axis: (await chart.getAttribute('data-axis-color'))! };
    assert.ok(light.draws > before.draws, `drawn again (${before.draws} -> ${light.draws})`);
    assert.notEqual(light.axis, before.axis);
    assert.ok(await canvasPixels(frame, light.axis) > 20, 'the light axis labels are on the canvas');
    assert.equal(await canvasPixels(frame, before.axis), 0, 'nothing left of the dark drawing');
    assert.equal(await frame.locator('#chart-accuracy').getAttribute('data-theme'), 'light');
    const lightContrast = await predictionContrast(frame);
    assert.ok(lightContrast.right >= 4.5 && lightContrast.wrong >= 4.5, `light: ${JSON.stringify(lightContrast)}`);
    await page.waitForTimeout(500);
    await shot('examples-2-light-theme-charts');
    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    await page.waitForTimeout(300);
    await shot('examples-3-light-theme-examples');

    await switchTheme(page, 'Dark High Contrast');
    await waitFor('the charts drawn for high contrast', async () => (await chart.getAttribute('data-theme')) === 'high-contrast', 30_000);
    const hc = await predictionContrast(frame);
    assert.ok(hc.right >= 4.5 && hc.wrong >= 4.5, `high contrast: ${JSON.stringify(hc)}`);
    await frame.evaluate(() => document.getElementById('charts')!.scrollIntoView());
    await page.waitForTimeout(500);
    await shot('examples-4-high-contrast');
    await switchTheme(page, 'Dark Modern');
    await waitFor('the dark theme again', async () => (await chart.getAttribute('data-theme')) === 'dark', 30_000);
  });

  it('the examples table from the keyboard: arrows move the selection, End and Home, Enter opens the record\'s line', async () => {
    const grid = frame.locator('#examples table[role="grid"]');
    await frame.evaluate(() => document.getElementById('examples-heading')!.scrollIntoView());
    await grid.focus();
    // the row clicked before is still selected: line 2
    const selected = frame.locator('#examples tbody tr[aria-selected="true"]');
    assert.equal(await selected.getAttribute('aria-rowindex'), '3');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await selected.getAttribute('aria-rowindex'), '5');
    assert.equal(await frame.locator('#examples tbody tr[aria-selected="true"]').count(), 1);
    assert.equal(await grid.getAttribute('aria-activedescendant'), await selected.getAttribute('id'));
    await frame.locator('#example-detail .detail-head', { hasText: 'Line 4' }).waitFor();
    await page.keyboard.press('ArrowUp');
    assert.equal(await selected.getAttribute('aria-rowindex'), '4');
    await page.keyboard.press('End');
    assert.equal(await selected.getAttribute('aria-rowindex'), '31');
    assert.equal(await grid.getAttribute('aria-rowcount'), '31');
    await page.keyboard.press('Home');
    assert.equal(await selected.getAttribute('aria-rowindex'), '2');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
    const line = Number(await selected.locator('td').first().innerText());
    assert.equal(line, 5);
    await frame.locator('#example-detail .detail-head', { hasText: `Line ${line}` }).waitFor();
    await page.waitForTimeout(300);
    await shot('examples-5-keyboard-selection');

    await page.keyboard.press('Enter');
    const tab = page.locator('.tab.active', { hasText: 'test.jsonl' });
    await tab.waitFor({ timeout: 30_000 });
    const cursor = page.locator('[id="status.editor.selection"]');
    await waitFor('the cursor on the record\'s line', async () => (await cursor.innerText()).startsWith(`Ln ${line}, Col 1`), 30_000);
    const record = readFileSync(testFile, 'utf8').split('\n')[line - 1];
    assert.ok(record.startsWith('{"story"'));
    await page.waitForTimeout(500);
    await shot('examples-6-enter-opens-line');
    // the marks before the lines stay whole: the narrow editor beside the panel is not scrolled right
    const view = await page.locator('.editor-group-container.active .monaco-editor .editor-scrollable').first().evaluate((scrollable) => {
      const content = scrollable.querySelector('.lines-content') as HTMLElement;
      const left = scrollable.getBoundingClientRect().left;
      const marks = Array.from(scrollable.querySelectorAll('.view-line span')).filter((s) => !['none', 'normal'].includes(getComputedStyle(s, '::before').content));
      return { scrollLeft: -parseFloat(content.style.left || '0') || 0, marks: marks.length, cut: marks.filter((m) => m.getBoundingClientRect().left < left - 0.5).length };
    });
    assert.ok(view.marks >= 10, `the lines have their marks: ${JSON.stringify(view)}`);
    assert.deepEqual({ scrollLeft: view.scrollLeft, cut: view.cut }, { scrollLeft: 0, cut: 0 }, `the marks are cut off at the left: ${JSON.stringify(view)}`);
  });
});
