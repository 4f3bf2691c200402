// A run's lifecycle in real VS Code (code-server) driven through Chromium: the running run's step
// and loss stay in view at the side bar's default width; the window reloads mid-training, the Run
// view shows the interrupted run, and Resume Run finishes it; the finished run's accuracy stays in
// view in a narrow side bar; a spec with three problems shows all three in the Problems view;
// Delete Run from the run's context menu removes its folder and its row.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { effectiveStatus, RunDir } from '../../src/common/run-folder.js';
import type { EvalFile, RunRecord } from '../../src/common/run-files.js';
import { runLabel } from '../../src/extension/logic/experiments.js';
import { openVsCode, root, waitFor, type VsCodeSession } from './harness.js';

const STEPS = 160;
const CHECKPOINT_EVERY = 10;
const template = '{story} In the end, everyone was';

/** Long enough on two shared CPU cores (about a minute and a half) for the reload to land mid-run. */
const longSpec = {
  name: 'long',
  model: './.ptune/models/stories260K',
  data: { train: './data/train.jsonl', dev: './data/dev.jsonl', test: './data/test.jsonl', text: template, label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
  discretePrompts: [{ id: 'zero-shot', template }],
  softPrompt: { length: 20, init: 'class-labels' },
  training: { optimizer: 'adafactor', learningRate: 0.3, schedule: 'linear', steps: STEPS, batchSize: 16, evalEvery: 80, checkpointEvery: CHECKPOINT_EVERY, sampling: 'balanced', seed: 0 },
};

/** Three distinct problems: a missing train file, a template field no record has, a label no record has. */
const threeProblems = `{
  "name": "three",
  "model": "./.ptune/models/stories260K",
  "data": {
    "train": "./data/missing-train.jsonl",
    "dev": "./data/dev.jsonl",
    "test": "./data/test.jsonl",
    "text": "${template}",
    "label": "mood",
    "verbalizer": { "happy": "happy", "sad": "sad", "angry": "angry" }
  },
  "discretePrompts": [
    { "id": "titled", "template": "{title}: ${template}" }
  ],
  "softPrompt": { "length": 20, "init": "class-labels" },
  "training": { "steps": 10 }
}
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a run\'s lifecycle in VS Code', { timeout: 20 * 60_000 }, () => {
  let vscode: VsCodeSession;
  let page: Page;
  let workspace: string;
  let command: VsCodeSession['command'];
  let shot: VsCodeSession['shot'];
  let runDir: string;
  let label: string;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

  before(async () => {
    vscode = await openVsCode('lifecycle', {}, undefined, (ws) => {
      // the model the wizard would copy into the workspace, and a spec made before the window opens
      mkdirSync(join(ws, '.ptune', 'models'), { recursive: true });
      cpSync(join(root, 'models', 'stories260K'), join(ws, '.ptune', 'models', 'stories260K'), { recursive: true });
      writeFileSync(join(ws, 'long.ptune.json'), `${JSON.stringify(longSpec, null, 2)}\n`);
    });
    ({ page, workspace, command, shot } = vscode);
  });

  after(async () => { await vscode?.close(); });

  const readRecord = (): RunRecord => JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
  const runRow = (): Locator => page.locator('.monaco-list-row', { hasText: label });

  /** A test's body; on a failure, a screenshot and the rows of the side bar and the panel. */
  const step = (name: string, body: () => Promise<void>) => async () => {
    try {
      await body();
    } catch (e) {
      await shot(`lifecycle-failed-${name}`).catch(() => undefined);
      console.log(`# side bar: ${JSON.stringify(await page.locator('.part.sidebar .monaco-list-row').allInnerTexts().catch(() => []))}`);
      console.log(`# panel: ${JSON.stringify(await page.locator('.part.panel .monaco-list-row').allInnerTexts().catch(() => []))}`);
      throw e;
    }
  };

  /** Hovers `target` until a hover with `text` shows; whether it did. */
  async function hoverUntil(target: Locator, text: string): Promise<boolean> {
    const hover = page.locator('.workbench-hover, .monaco-hover', { hasText: text }).first();
    for (let attempt = 0; attempt < 5; attempt++) {
      await page.mouse.move(700, 500);
      await target.hover({ position: { x: 80 + 10 * attempt, y: 10 } });
      try {
        await hover.waitFor({ timeout: 3000 });
        return true;
      } catch {
        /* not yet */
      }
    }
    console.log(`# no hover with "${text}" showed`);
    return false;
  }

  /** Where the row's label box clips (ending it with an ellipsis), and the right edge of each of `texts` in the row (NaN: not in it). */
  async function rightEdges(row: Locator, texts: string[]): Promise<{ clip: number; rights: number[] }> {
    // (no named functions in here: the test's compiler would wrap them in a helper the page lacks)
    const [clip, ...rights] = await row.evaluate((el, wanted) => {
      const edges = [Math.min((el.querySelector('.monaco-icon-label-container') ?? el).getBoundingClientRect().right, el.getBoundingClientRect().right)];
      for (const text of wanted) {
        let right: number | null = null;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n && right === null; n = walker.nextNode()) {
          const at = (n.textContent ?? '').indexOf(text);
          if (at < 0) continue;
          const range = document.createRange();
          range.setStart(n, at);
          range.setEnd(n, at + text.length);
          right = range.getBoundingClientRect().right;
        }
        edges.push(right ?? Number.NaN);
      }
      return edges;
    }, texts);
    return { clip, rights };
  }

  async function openFile(name: string): Promise<void> {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: name }).waitFor();
  }

  it('reloading the window mid-training leaves the run interrupted; Resume Run finishes it', step('reload', async () => {
    await openFile('long.ptune.json');
    await command('Focus on Experiments View');
    await page.locator('.monaco-list-row', { hasText: 'long' }).first().waitFor({ timeout: 60_000 });
    await command('Prompt Tuning: Train Soft Prompt');
    const runsDir = join(workspace, '.ptune', 'runs');
    runDir = await waitFor('a run folder', () => existsSync(runsDir) && readdirSync(runsDir).map((d) => join(runsDir, d)).find((d) => existsSync(join(d, 'run.json'))), 120_000);
    label = runLabel(readRecord());
    // run.json names the step of the last checkpoint: wait for one past the one made before step 1
    const checkpointed = await waitFor('a checkpoint after step 0', () => {
      const r = readRecord();
      return r.step >= CHECKPOINT_EVERY && r;
    }, 240_000, 250);
    console.log(`# first checkpoint at step ${checkpointed.step} after ${elapsed()}`);
    assert.equal(checkpointed.status, 'running');
    assert.ok(checkpointed.pid && alive(checkpointed.pid), 'the trainer runs');
    assert.ok(new RunDir(runDir).readCheckpoint()!.step >= checkpointed.step);
    assert.ok(existsSync(join(runDir, 'metrics.jsonl')));
    // the row follows the live step (redrawn at each checkpoint and evaluation)
    const progress = /step (\d+)\/160, loss \d+\.\d{3}/;
    await waitFor('the row to show the checkpoint\'s step', async () => {
      const shown = progress.exec((await runRow().allInnerTexts()).join(' '));
      return shown !== null && Number(shown[1]) >= checkpointed.step;
    }, 30_000);
    // the step and loss lead the row, whole at the side bar's default width, which cuts the row's end
    // (measured again where the row changed between reading and measuring it)
    const running = await waitFor('the running row measured', async () => {
      const shown = progress.exec((await runRow().allInnerTexts()).join(' '))?.[0];
      const edges = shown ? await rightEdges(runRow(), [shown]) : null;
      if (!edges || Number.isNaN(edges.rights[0])) return false;
      return { shown, clip: edges.clip, right: edges.rights[0] };
    }, 30_000, 100);
    console.log(`# running row: ${JSON.stringify(running)}`);
    assert.ok(running.right <= running.clip, `the running row's progress is cut off: ${JSON.stringify(running)}`);
    await shot('lifecycle-1-training-before-reload');

    // Developer: Reload Window ends the extension host, and with it the trainer
    await page.evaluate(() => { (window as unknown as { beforeReload: boolean }).beforeReload = true; });
    await command('Developer: Reload Window');
    const reloaded = Date.now();
    await waitFor('the window to reload', async () => {
      try {
        return await page.evaluate(() => !(window as unknown as { beforeReload?: boolean }).beforeReload && !!document.querySelector('.monaco-workbench'));
      } catch {
        return false; // the page was navigating
      }
    }, 120_000);
    await waitFor('the trainer to end', () => !alive(checkpointed.pid!), 60_000);
    const stopped = readRecord();
    assert.equal(effectiveStatus(stopped), 'interrupted');
    assert.ok(stopped.step >= checkpointed.step && stopped.step < STEPS, `stopped at step ${stopped.step}`);
    console.log(`# reloaded with the run at step ${stopped.step} after ${elapsed()}`);

    // the Run view, restored by the reload, shows the run the reload interrupted, how it ended and
    // its curves up to the checkpoint, not an empty view: the new extension host has run no job yet
    const runView = await waitFor('the Run view', () => vscode.frameWith('#app .heading'), 90_000, 250);
    await runView.locator('.heading', { hasText: `Last job, ${new RunDir(runDir).id}: interrupted at step ${stopped.step}/${STEPS}` }).waitFor({ timeout: 30_000 });
    console.log(`# the Run view showed the interrupted run ${((Date.now() - reloaded) / 1000).toFixed(1)} s after the reload`);
    for (const chart of ['training loss', 'dev accuracy']) assert.equal(await runView.locator('.u-title', { hasText: chart }).count(), 1, `the ${chart} chart`);

    // the Experiments view, restored by the reload, shows the run interrupted at its checkpoint
    const interrupted = runRow().filter({ hasText: `interrupted at step ${stopped.step}/${STEPS}` });
    await interrupted.waitFor({ timeout: 90_000 });
    assert.equal(await interrupted.locator('.codicon-debug-pause').count(), 1);
    // the tree wrote what it found into run.json
    assert.equal(readRecord().status, 'interrupted');
    assert.match(readRecord().error ?? '', new RegExp(`pid ${checkpointed.pid}\\) ended before the run finished`));
    // the palette has the extension's commands after the reload
    await command('Prompt Tuning: Refresh');
    await interrupted.waitFor({ timeout: 30_000 });
    // for the screenshot, the row's tooltip, which says why (the side bar cuts the row's end);
    // a hover can miss its first mouse move after a redraw, so move off and on again
    await hoverUntil(interrupted, 'status: interrupted');
    await shot('lifecycle-2-interrupted-after-reload');

    // Resume Run from the palette: the only resumable run starts again from its checkpoint
    await command('Prompt Tuning: Resume Run');
    await waitFor('the resumed run to start', () => readRecord().status === 'running' && readRecord().pid !== checkpointed.pid, 120_000);
    await waitFor('the resumed run to complete', () => readRecord().status === 'completed', 10 * 60_000, 2000);
    const done = readRecord();
    console.log(`# completed after ${elapsed()}`);
    assert.equal(done.step, STEPS);
    assert.deepEqual(done.resumedFrom, [stopped.step]);
    assert.equal(done.error, undefined);
    assert.ok(existsSync(join(runDir, 'eval.json')));
    const evalJson: EvalFile = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8'));
    const soft = evalJson.results.find((r) => r.kind === 'soft')!;
    assert.ok(soft);
    const completed = runRow().filter({ hasText: `soft ${(100 * soft.accuracy).toFixed(1)}%` });
    await completed.waitFor({ timeout: 60_000 });
    assert.equal(await completed.locator('.codicon-pass').count(), 1);
    await page.locator('.notification-toast', { hasText: 'training finished' }).waitFor({ timeout: 60_000 });
    await shot('lifecycle-3-resumed-and-completed');
  }));

  it('keeps the accuracy of a run in view in a side bar 250 px wide', step('narrow', async () => {
    const soft = (JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8')) as EvalFile).results.find((r) => r.kind === 'soft')!;
    const accuracy = `soft ${(100 * soft.accuracy).toFixed(1)}%`;
    // drag the sash on the side bar's right edge
    const sidebar = page.locator('.part.sidebar');
    const box = (await sidebar.boundingBox())!;
    const sash = await page.evaluate((right) => {
      for (const el of Array.from(document.querySelectorAll('.monaco-sash.vertical'))) {
        const r = el.getBoundingClientRect();
        if (Math.abs(r.left + r.width / 2 - right) < 6 && r.height > 200) return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
      }
      return null;
    }, box.x + box.width);
    assert.ok(sash, 'the side bar has a sash');
    await page.mouse.move(sash.x, sash.y);
    await page.mouse.down();
    await page.mouse.move(box.x + 250, sash.y, { steps: 10 });
    await page.mouse.up();
    const width = (await sidebar.boundingBox())!.width;
    assert.ok(Math.abs(width - 250) <= 6, `side bar ${width} px wide`);

    const row = runRow();
    const { clip, rights: [accuracyRight, discreteRight] } = await rightEdges(row, [accuracy, 'best discrete']);
    const shown = { clip, accuracy: accuracyRight, discrete: discreteRight };
    console.log(`# narrow row: ${JSON.stringify(shown)}`);
    assert.ok(shown.accuracy <= shown.clip, `${accuracy} is cut off: ${JSON.stringify(shown)}`);
    // the row is too long for the side bar: what comes last is cut, so the accuracy must come first
    assert.ok(shown.discrete > shown.clip, `the row fits whole: ${JSON.stringify(shown)}`);
    await hoverUntil(row, 'accuracy (95% interval)');
    await shot('lifecycle-4-narrow-sidebar');
  }));

  it('shows the three problems of a spec in the Problems view', step('problems', async () => {
    const spec = join(workspace, 'three.ptune.json');
    writeFileSync(spec, threeProblems);
    await openFile('three.ptune.json');
    // an edit and a save, as a user makes them
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+S');
    await waitFor('the save', async () => (await page.locator('.tab.dirty', { hasText: 'three.ptune.json' }).count()) === 0, 30_000);
    await command('View: Toggle Problems');
    const panel = page.locator('.markers-panel');
    await panel.waitFor({ timeout: 30_000 });
    const messages = [
      `data.train: ${join(workspace, 'data', 'missing-train.jsonl')} not found; create it or correct the path`,
      'discretePrompts.0.template names field {title}, which no record of ./data/dev.jsonl or ./data/test.jsonl has',
      'data.verbalizer.angry: no record of ./data/missing-train.jsonl, ./data/dev.jsonl, ./data/test.jsonl has the label "angry"',
    ];
    for (const m of messages) await panel.locator('.monaco-list-row', { hasText: m }).first().waitFor({ timeout: 30_000 });
    const rows = await panel.locator('.monaco-list-row').allInnerTexts();
    console.log(`# problems:\n${rows.join('\n---\n')}`);
    // three problems, all from this extension and all on this spec
    const fileRow = panel.locator('.monaco-list-row', { hasText: 'three.ptune.json' }).first();
    assert.match(await fileRow.innerText(), /\b3\b/);
    assert.equal(rows.filter((r) => r.includes('Prompt Tuning')).length, 3);
    await shot('lifecycle-5-three-problems');
  }));

  it('deletes a run from its context menu', step('delete', async () => {
    await command('Focus on Experiments View');
    const row = runRow();
    await row.click({ button: 'right' });
    const item = page.locator('.monaco-menu .action-label', { hasText: /^Delete Run$/ });
    const dialog = page.locator('.monaco-dialog-box');
    // a click that lands while the menu is still opening can be dropped (the menu stays, item
    // highlighted): click again while the menu is there and no dialog is
    for (let attempt = 0; attempt < 3 && !(await dialog.isVisible()); attempt++) {
      if (await item.isVisible()) await item.click();
      await dialog.waitFor({ timeout: 5_000 }).catch(() => undefined);
    }
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), new RegExp(`Delete run ${new RunDir(runDir).id}\\?`));
    // code-server is a browser window on a host with no trash: one question, to delete for good
    assert.match(await dialog.innerText(), /deleted for good: this window's host has no trash/);
    await shot('lifecycle-6-delete-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Delete Permanently' }).click();
    await waitFor('the run folder to go', () => !existsSync(runDir), 60_000);
    assert.equal(await page.locator('.monaco-dialog-box').isVisible(), false, 'no second question');
    console.log(`# deleted after ${elapsed()}`);
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await page.locator('.monaco-list-row', { hasText: 'long' }).first().isVisible(), true, 'the spec stays');
    await shot('lifecycle-7-run-deleted');
  }));
});
