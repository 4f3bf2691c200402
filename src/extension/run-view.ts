// The "Run" webview view: the running job's loss and dev-accuracy curves (a text target's headline
// metric), live.
import * as vscode from 'vscode';
import { setupMessage, type RunViewFromWebview, type RunViewToWebview } from '../common/protocol.js';
import { specFiles } from './commands.js';
import type { JobManager } from './logic/jobs.js';
import { newestRun, runViewReset } from './logic/run-view.js';
import { webviewHtml } from './webview-html.js';

export class RunViewProvider implements vscode.WebviewViewProvider {
  static readonly viewType = 'promptTuning.runView';
  private view: vscode.WebviewView | undefined;

  constructor(private extensionUri: vscode.Uri, private jobs: JobManager) {
    jobs.onEvent((e, live) => {
      if (e.type === 'run' || e.type === 'log') void this.reset();
      else if (e.type === 'progress' && live) this.post({ type: 'progress', step: e.step, steps: e.steps, loss: e.loss, etaSeconds: e.etaSeconds });
      // a text target's dev figure is its headline metric (a step that lacks it draws nothing)
      else if (e.type === 'eval' && e.metric) { if (e.metric.value !== null) this.post({ type: 'eval', step: e.step, accuracy: e.metric.value, metric: e.metric.name }); }
      else if (e.type === 'eval') this.post({ type: 'eval', step: e.step, accuracy: e.accuracy });
      else if (e.type === 'setup') this.post({ type: 'status', status: setupMessage(e) });
      else if (e.type === 'evalProgress') this.post({ type: 'status', status: live?.status === 'cancelling' ? 'cancelling' : `evaluating ${e.promptId} ${e.done}/${e.total}` });
    });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')] };
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'run-view', 'Run');
    view.webview.onDidReceiveMessage((m: RunViewFromWebview) => {
      if (m.type === 'ready') void this.reset();
      if (m.type === 'cancel') void vscode.commands.executeCommand('promptTuning.cancelRun');
    });
  }

  private async reset(): Promise<void> {
    // a window that has run no job (a reload ended its last one) shows the run written to last
    const newest = this.jobs.live || this.jobs.lastFinished ? null : newestRun(await specFiles());
    // read live state after the wait: a job may have started meanwhile
    this.post(runViewReset(this.jobs.live, this.jobs.lastFinished, newest));
  }

  private post(message: RunViewToWebview): void { void this.view?.webview.postMessage(message); }
}
