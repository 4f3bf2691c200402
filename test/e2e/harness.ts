// The harness every end-to-end file shares: a fresh code-server with the packaged extension
// installed over a copy of test/e2e/workspace, a Chromium page on it, and the palette and
// quick-input moves a user makes. Run by scripts/e2e.mjs, which provides code-server, its
// Node 24 and the packaged VSIX.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const root = resolve(import.meta.dirname ?? '.', '..', '..');
export const results = join(root, 'test-results');

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface VsCodeSession {
  page: Page;
  /** The copy of test/e2e/workspace the window has open. */
  workspace: string;
  /** Runs a command from the palette by its title. */
  command(title: string): Promise<void>;
  /** Answers the quick input titled `title` (null: accept what is there). */
  quickInput(title: RegExp | string, answer: string | null, timeout?: number): Promise<void>;
  /** Saves a screenshot as test-results/NAME.png. */
  shot(name: string): Promise<void>;
  /** The frame (webviews are nested iframes) holding `selector`. */
  frameWith(selector: string): Promise<Frame | undefined>;
  close(): Promise<void>;
}

/**
 * Starts code-server on a free port with its own user data, extensions and HOME (named `name`
 * in the logs), installs the VSIX, and opens the workspace in Chromium. `prepare` adds files to
 * the workspace copy before the window opens it.
 */
export async function openVsCode(name: string, settings: Record<string, unknown> = {}, viewport = { width: 1600, height: 1000 }, prepare?: (workspace: string) => void): Promise<VsCodeSession> {
  const node24 = process.env.PTUNE_E2E_NODE;
  const codeServer = process.env.PTUNE_E2E_CODE_SERVER;
  const vsix = process.env.PTUNE_E2E_VSIX;
  assert.ok(node24 && codeServer && vsix, 'run through `npm run test:e2e`');
  mkdirSync(results, { recursive: true });
  const base = mkdtempSync(join(tmpdir(), 'ptune-e2e-'));
  const home = join(base, 'home');
  const userData = join(base, 'user-data');
  const extensions = join(base, 'extensions');
  const workspace = join(base, 'workspace');
  for (const d of [home, userData, extensions, join(base, 'tmp'), join(userData, 'User')]) mkdirSync(d, { recursive: true });
  cpSync(join(root, 'test', 'e2e', 'workspace'), workspace, { recursive: true });
  prepare?.(workspace);
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
    'extensions.ignoreRecommendations': true, 'security.workspace.trust.enabled': false, 'update.mode': 'none',
    'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'promptTuning.device': 'cpu',
    'editor.codeLens': true, 'window.commandCenter': false, ...settings,
  }));
  const env = { ...process.env, HOME: home, TMPDIR: join(base, 'tmp'), XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local', 'share') };
  execFileSync(node24, [codeServer, '--install-extension', vsix, '--extensions-dir', extensions, '--user-data-dir', userData], { env, stdio: 'pipe' });
  const port = await freePort();
  const serverLog: string[] = [];
  const server: ChildProcess = spawn(node24, [codeServer, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', extensions, workspace], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [server.stdout!, server.stderr!]) s.on('data', (b: Buffer) => serverLog.push(b.toString()));
  await waitFor('code-server to listen', () => serverLog.join('').includes('HTTP server listening'), 60_000);
  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  await page.waitForTimeout(3000);

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

  async function frameWith(selector: string): Promise<Frame | undefined> {
    for (const f of page.frames()) {
      try {
        if (await f.$(selector)) return f;
      } catch {
        /* the frame navigated or was detached while we looked */
      }
    }
    return undefined;
  }

  return {
    page, workspace, command, quickInput, frameWith,
    shot: async (shotName) => { await page.screenshot({ path: join(results, `${shotName}.png`) }); },
    async close() {
      await browser.close();
      if (server.pid) {
        try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
      }
      writeFileSync(join(results, `code-server-${name}.log`), serverLog.join(''));
    },
  };
}

/** The inline marks VS Code draws before dataset lines (their ::before content), once some show. */
export function inlineMarks(page: Page): Promise<string[]> {
  return waitFor('the marks on the lines', () => page.evaluate(() => {
    const texts: string[] = [];
    document.querySelectorAll('.view-lines .view-line span').forEach((el) => {
      const content = getComputedStyle(el, '::before').content;
      if (content && content.includes('soft')) texts.push(content);
    });
    return texts.length ? texts : undefined;
  }), 30_000);
}
