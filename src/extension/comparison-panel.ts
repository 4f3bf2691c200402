// The comparison panel: discrete and soft prompts side by side for one or more runs. It restores
// after a reload (the serializer reopens it with the run folders it showed).
import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { ComparisonFromWebview, ComparisonToWebview } from '../common/protocol.js';
import { validFilter } from '../common/example-filter.js';
import { exportExamples, loadComparison, type ComparisonSource } from './logic/comparison-data.js';
import { showLine } from './inline.js';
import { filterExamples, sortExamples } from '../common/example-filter.js';
import { webviewHtml } from './webview-html.js';

export class ComparisonPanel {
  static readonly viewType = 'promptTuning.comparison';
  private static panels = new Map<string, ComparisonPanel>();
  private source: ComparisonSource | undefined;

  static async show(extensionUri: vscode.Uri, runDirs: string[]): Promise<ComparisonPanel> {
    const key = runDirs.join('|');
    const existing = ComparisonPanel.panels.get(key);
    if (existing) {
      existing.panel.reveal();
      await existing.load();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(ComparisonPanel.viewType, 'Prompt Comparison', vscode.ViewColumn.Active, ComparisonPanel.options(extensionUri));
    return ComparisonPanel.attach(panel, extensionUri, runDirs);
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  static attach(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, runDirs: string[]): ComparisonPanel {
    const c = new ComparisonPanel(panel, extensionUri, runDirs);
    ComparisonPanel.panels.set(runDirs.join('|'), c);
    return c;
  }

  /** Reloads every open panel (a run finished). */
  static async refreshAll(): Promise<void> {
    for (const p of ComparisonPanel.panels.values()) await p.load();
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private runDirs: string[]) {
    panel.title = runDirs.length === 1 ? `Compare: ${runDirs[0].split(/[\\/]/).pop()}` : `Compare ${runDirs.length} runs`;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    panel.webview.options = ComparisonPanel.options(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'comparison', 'Prompt Comparison');
    panel.onDidDispose(() => ComparisonPanel.panels.delete(runDirs.join('|')));
    panel.webview.onDidReceiveMessage((m: ComparisonFromWebview) => this.handle(m));
  }

  private async load(): Promise<void> {
    try {
      this.source = await loadComparison(this.runDirs);
      await this.post({ type: 'data', data: this.source.data, runDirs: this.runDirs });
    } catch (e) {
      void vscode.window.showErrorMessage(`Prompt Tuning: cannot show the comparison: ${(e as Error).message}`);
    }
  }

  private async post(message: ComparisonToWebview): Promise<void> {
    await this.panel.webview.postMessage(message);
  }

  private async handle(m: ComparisonFromWebview): Promise<void> {
    if (m.type === 'ready') return this.load();
    if (m.type === 'detail') {
      const detail = this.source ? await this.source.detail(m.file, m.line) : null;
      await this.post({ type: 'detail', file: m.file, line: m.line, detail });
      return;
    }
    if (m.type === 'openLine') {
      await showLine(m.file, m.line, vscode.ViewColumn.Beside);
      return;
    }
    if (m.type === 'export' && this.source) {
      const data = this.source.data;
      const rows = sortExamples(filterExamples(data, validFilter(m.filter, data.prompts.map((p) => p.key)), m.search), m.sort);
      const target = await vscode.window.showSaveDialog({ filters: m.format === 'csv' ? { CSV: ['csv'] } : { Markdown: ['md'] }, saveLabel: 'Export' });
      if (!target) return;
      writeFileSync(target.fsPath, exportExamples(data, rows, m.format));
      void vscode.window.showInformationMessage(`Exported ${rows.length} rows to ${target.fsPath}`);
    }
  }
}

export class ComparisonSerializer implements vscode.WebviewPanelSerializer {
  constructor(private extensionUri: vscode.Uri) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { runDirs?: string[] } | undefined): Promise<void> {
    const runDirs = state?.runDirs ?? [];
    if (runDirs.length === 0) {
      panel.dispose();
      return;
    }
    ComparisonPanel.attach(panel, this.extensionUri, runDirs);
  }
}
