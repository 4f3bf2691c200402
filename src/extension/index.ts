// Activation: wires the plain-Node logic to VS Code's views, commands and editors.
import * as vscode from 'vscode';
import { registerCommands, type Context } from './commands.js';
import { ComparisonPanel, ComparisonSerializer } from './comparison-panel.js';
import { ExperimentsTree } from './experiments-tree.js';
import { InlineResults } from './inline.js';
import { JobManager } from './logic/jobs.js';
import { SpecProblems } from './problems.js';
import { RunViewProvider } from './run-view.js';

let jobs: JobManager | undefined;

export function activate(extension: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Prompt Tuning');
  jobs = new JobManager({ trainerPath: vscode.Uri.joinPath(extension.extensionUri, 'dist', 'trainer.cjs').fsPath });
  const tree = new ExperimentsTree();
  const inline = new InlineResults();
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.command = 'promptTuning.runView.focus';

  const ctx: Context = {
    extension, jobs, tree, inline, output,
    async refreshAll() {
      tree.refresh();
      await inline.refresh();
      await ComparisonPanel.refreshAll();
    },
  };

  jobs.onLog((line) => output.appendLine(line));
  jobs.onQueueChange((queued) => {
    tree.queue = queued;
    tree.refresh();
  });
  let lastLiveRefresh = 0;
  jobs.onEvent((e, live) => {
    if (live?.runDir) tree.live = { runDir: live.runDir, step: live.step, steps: live.steps, loss: live.loss.at(-1)?.[1] };
    if (!live) {
      tree.live = undefined;
      status.hide();
      void vscode.commands.executeCommand('setContext', 'promptTuning.running', false);
      tree.refresh();
      return;
    }
    void vscode.commands.executeCommand('setContext', 'promptTuning.running', true);
    status.text = live.status === 'evaluating' ? '$(sync~spin) Prompt Tuning: evaluating' : `$(sync~spin) Prompt Tuning: step ${live.step}/${live.steps || '?'}`;
    status.tooltip = 'Show the run';
    status.show();
    // the running row's step and loss follow the Run view, a few seconds behind at most (each
    // refresh reads every run folder once, so not at every step)
    const now = Date.now();
    if (e.type === 'eval' || e.type === 'checkpoint' || e.type === 'run' || (e.type === 'progress' && now - lastLiveRefresh >= 3000)) {
      lastLiveRefresh = now;
      tree.refresh();
    }
  });

  registerCommands(ctx);
  extension.subscriptions.push(
    output, status, inline, new SpecProblems(),
    vscode.window.registerTreeDataProvider('promptTuning.experiments', tree),
    vscode.window.registerWebviewViewProvider(RunViewProvider.viewType, new RunViewProvider(extension.extensionUri, jobs)),
    vscode.window.registerWebviewPanelSerializer(ComparisonPanel.viewType, new ComparisonSerializer(extension.extensionUri)),
    vscode.languages.registerHoverProvider([{ scheme: 'file', pattern: '**/*.{jsonl,csv,tsv}' }], inline),
    vscode.languages.registerCodeLensProvider([{ scheme: 'file', pattern: '**/*.{jsonl,csv,tsv}' }], inline),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => void inline.decorate(e))),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.fileName.endsWith('.ptune.json') || /\.(jsonl|csv|tsv)$/.test(doc.fileName)) void ctx.refreshAll();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('promptTuning.inlineResults')) void inline.refresh();
      // which prompts the marks show changes nothing read: only redraw
      else if (e.affectsConfiguration('promptTuning.inline.prompts')) for (const editor of vscode.window.visibleTextEditors) void inline.decorate(editor);
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => tree.refresh()),
    { dispose: () => jobs?.dispose() },
  );
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.ptune.json');
  watcher.onDidCreate(() => void ctx.refreshAll());
  watcher.onDidDelete(() => void ctx.refreshAll());
  extension.subscriptions.push(watcher);
  void inline.refresh();
}

export function deactivate(): void {
  // closing VS Code or disabling the extension ends the trainer
  jobs?.dispose();
}
