// End to end in real VS Code (code-server) driven through Chromium: create an experiment from
// the command palette, train, open the comparison, and see results on the dataset's lines.
// Run by scripts/e2e.mjs, which provides code-server, its Node 24 and the packaged VSIX.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { accuracyText } from '../../src/common/accuracy-text.js';
import { runLabel } from '../../src/extension/logic/experiments.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
const results = join(root, 'test-results');
const node24 = process.env.PTUNE_E2E_NODE!;
const codeServer = process.env.PTUNE_E2E_CODE_SERVER!;
const vsix = process.env.PTUNE_E2E_VSIX!;

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('Prompt Tuning Studio in VS Code', { timeout: 15 * 60_000 }, () => {
  let server: ChildProcess;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const serverLog: string[] = [];

  before(async () => {
    assert.ok(node24 && codeServer && vsix, 'run through `npm run test:e2e`');
    mkdirSync(results, { recursive: true });
    const base = mkdtempSync(join(tmpdir(), 'ptune-e2e-'));
    const home = join(base, 'home');
    const userData = join(base, 'user-data');
    const extensions = join(base, 'extensions');
    workspace = join(base, 'workspace');
    for (const d of [home, userData, extensions, join(base, 'tmp'), join(userData, 'User')]) mkdirSync(d, { recursive: true });
    cpSync(join(root, 'test', 'e2e', 'workspace'), workspace, { recursive: true });
    writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
      'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
      'extensions.ignoreRecommendations': true, 'security.workspace.trust.enabled': false, 'update.mode': 'none',
      'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'promptTuning.device': 'cpu',
      'editor.codeLens': true, 'window.commandCenter': false,
    }));
    const env = { ...process.env, HOME: home, TMPDIR: join(base, 'tmp'), XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local', 'share') };
    execFileSync(node24, [codeServer, '--install-extension', vsix, '--extensions-dir', extensions, '--user-data-dir', userData], { env, stdio: 'pipe' });
    const port = await freePort();
    server = spawn(node24, [codeServer, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', extensions, workspace], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [server.stdout!, server.stderr!]) s.on('data', (b: Buffer) => serverLog.push(b.toString()));
    await waitFor('code-server to listen', () => serverLog.join('').includes('HTTP server listening'), 60_000);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    await page.waitForTimeout(3000);
  });

  after(async () => {
    await browser?.close();
    if (server?.pid) {
      try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
    }
    writeFileSync(join(results, 'code-server.log'), serverLog.join(''));
  });

  async function command(title: string): Promise<void> {
    // on a loaded machine the extension's commands can reach the palette late: reopen it and look again
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill(`>${title}`);
      try {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 30_000 });
        break;
      } catch (e) {
        if (attempt === 3) throw e;
        await page.keyboard.press('Escape');
      }
    }
    await page.keyboard.press('Enter');
  }

  async function quickInput(title: RegExp | string, answer: string | null, timeout = 30_000): Promise<void> {
    await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout });
    const input = page.locator('.quick-input-widget input');
    if (answer !== null) await input.fill(answer);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
  }

  const shot = (name: string) => page.screenshot({ path: join(results, `${name}.png`) });

  /** The frame (webviews are nested iframes) holding `selector`; frames that navigate meanwhile are skipped. */
  async function frameWith(selector: string) {
    for (const f of page.frames()) {
      try {
        if (await f.$(selector)) return f;
      } catch {
        /* the frame navigated or was detached while we looked */
      }
    }
    return undefined;
  }

  it('creates an experiment, trains, compares, and shows results on the dataset', async () => {
    // 1. New Experiment through the command palette
    await command('Prompt Tuning: New Experiment');
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
    const inline = await waitFor('the marks on the lines', () => page.evaluate(() => {
      const texts: string[] = [];
      document.querySelectorAll('.view-lines .view-line span').forEach((el) => {
        const content = getComputedStyle(el, '::before').content;
        if (content && content.includes('soft')) texts.push(content);
      });
      return texts.length ? texts : undefined;
    }), 30_000);
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
