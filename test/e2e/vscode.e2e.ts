// End to end in real VS Code (code-server) driven through Chromium: create an experiment from
// the command palette, train, open the comparison, and see results on the dataset's lines.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { runLabel } from '../../src/extension/logic/experiments.js';
import { openVsCode, waitFor, type VsCodeSession, inlineMarks } from './harness.js';

describe('Prompt Tuning Studio in VS Code', { timeout: 15 * 60_000 }, () => {
  let vscode: VsCodeSession;
  let page: Page;
  let workspace: string;
  let command: VsCodeSession['command'];
  let quickInput: VsCodeSession['quickInput'];
  let shot: VsCodeSession['shot'];
  let frameWith: VsCodeSession['frameWith'];

  before(async () => {
    vscode = await openVsCode('main');
    ({ page, workspace, command, quickInput, shot, frameWith } = vscode);
  });

  after(async () => { await vscode?.close(); });

  it('creates an experiment, trains, compares, and shows results on the dataset', async () => {
    // 1. New Experiment through the command palette
    await command('Prompt Tuning: New Experiment');
    await quickInput(/^New Experiment$/, 'A label from a fixed set');
    await quickInput('New Experiment (1/6)', 'stories260K');
    await quickInput('New Experiment (2/6)', 'train.jsonl');
    await quickInput('New Experiment (3/6)', 'mood');
    await quickInput('New Experiment (4/6)', 'story');
    await quickInput('New Experiment (5/6)', null);
    await quickInput('New Experiment (5/6)', null);
    await quickInput('New Experiment (6/6)', '{story} In the end, everyone was');
    await quickInput('New Experiment: name', 'mood');
    const specFile = join(workspace, 'mood.ptune.json');
    await waitFor('the spec file', () => existsSync(specFile), 30_000);
    const spec = JSON.parse(readFileSync(specFile, 'utf8'));
    assert.equal(spec.data.test, './data/test.jsonl');
    assert.deepEqual(spec.data.verbalizer, { happy: 'happy', sad: 'sad' });
    await page.locator('.tab', { hasText: 'mood.ptune.json' }).waitFor();
    await shot('1-new-experiment');

    // 2. Train from the palette (the spec is the active editor)
    await command('Prompt Tuning: Train Soft Prompt');
    const runsDir = join(workspace, '.ptune', 'runs');
    const runDir = await waitFor('a run folder', () => existsSync(runsDir) && readdirSync(runsDir).map((d) => join(runsDir, d)).find((d) => existsSync(join(d, 'run.json'))), 120_000);
    await page.waitForTimeout(4000);
    await shot('2-training');
    await waitFor('the run to complete', () => JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).status === 'completed', 8 * 60_000, 2000);
    await page.locator('.notification-toast', { hasText: 'training finished' }).waitFor({ timeout: 60_000 });
    const evalJson = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8'));

    // 3. The Experiments tree shows the finished run
    await page.locator('.activitybar .action-item [aria-label^="Prompt Tuning"], .activitybar .action-label[aria-label^="Prompt Tuning"]').first().click();
    const row = page.locator('.monaco-list-row', { hasText: runLabel(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'))) });
    await row.waitFor({ timeout: 30_000 });
    const soft = evalJson.results.find((r: { kind: string }) => r.kind === 'soft');
    assert.match(await row.innerText(), new RegExp(`soft ${(100 * soft.accuracy).toFixed(1)}%`));
    await shot('3-experiments-tree');

    // 4. The comparison panel shows the accuracies of eval.json
    await command('Prompt Tuning: Open Comparison');
    // two webviews live in the window (the Run view and this panel): take the one with results
    const frame = await waitFor('the comparison webview', () => frameWith('#results tbody tr'), 60_000);
    for (const r of evalJson.results as { id: string; accuracy: number; accuracyInterval?: [number, number] }[]) {
      const cell = frame.locator(`#results tr[data-prompt="${r.id}"] td.accuracy`);
      assert.equal((await cell.innerText()).trim(), accuracyText(r.accuracy, r.accuracyInterval), r.id);
    }
    await frame.locator('#examples tbody tr').first().waitFor();
    assert.match(await frame.locator('#example-count').innerText(), /^30 of 30$/);
    await page.waitForTimeout(1000);
    await shot('4-comparison');

    // 5. The test split shows results inline: a CodeLens summary and, at each line's start, the
    // soft prompt against the best discrete prompt
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('data/test.jsonl');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'test.jsonl' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'test.jsonl' }).waitFor();
    const lens = page.locator('.codelens-decoration', { hasText: 'Prompt Tuning (test, run' });
    await lens.waitFor({ timeout: 30_000 });
    const inline = await inlineMarks(page);
    assert.match(inline[0], /^"soft (✓|✗ (happy|sad)) · best (✓|✗ (happy|sad))"$/);
    await shot('5-inline-results');

    // 6. After a window reload the comparison panel comes back with its run
    await command('Developer: Reload Window');
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    await page.locator('.tab', { hasText: 'Compare:' }).first().click({ timeout: 60_000 });
    const restored = await waitFor('the restored comparison', () => frameWith('#results tbody tr'), 60_000);
    const soft2 = evalJson.results.find((r: { kind: string }) => r.kind === 'soft');
    assert.equal((await restored.locator(`#results tr[data-prompt="${soft2.id}"] td.accuracy`).innerText()).trim(), accuracyText(soft2.accuracy, soft2.accuracyInterval));
    await shot('6-restored-after-reload');
  });
});
