// The "Run" webview view: the running job's loss and dev-accuracy curves, live.
import * as vscode from 'vscode';
import { jobSubject, setupMessage, type RunViewFromWebview, type RunViewToWebview } from '../common/protocol.js';
import { outcomeLine, type JobManager } from './logic/jobs.js';
import { webviewHtml } from './webview-html.js';

export class RunViewProvider implements vscode.WebviewViewProvider {
  static readonly viewType = 'promptTuning.runView';
  private view: vscode.WebviewView | undefined;

  constructor(private extensionUri: vscode.Uri, private jobs: JobManager) {
    jobs.onEvent((e, live) => {
      if (e.type === 'run' || e.type === 'log') this.reset();
      else if (e.type === 'progress' && live) this.post({ type: 'progress', step: e.step, steps: e.steps, loss: e.loss, etaSeconds: e.etaSeconds });
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
      if (m.type === 'ready') this.reset();
      if (m.type === 'cancel') void vscode.commands.executeCommand('promptTuning.cancelRun');
    });
  }

  private reset(): void {
    const live = this.jobs.live;
    if (live) return this.post({ type: 'reset', runId: live.runId, steps: live.steps, loss: live.loss, devAccuracy: live.devAccuracy, status: live.status });
    // between jobs the view keeps the last job's curves, headed by how it ended
    const last = this.jobs.lastFinished;
    if (last) return this.post({ type: 'reset', runId: last.live.runId ?? `${last.outcome.job.kind} ${jobSubject(last.outcome.job)}`, steps: last.live.steps, loss: last.live.loss, devAccuracy: last.live.devAccuracy, status: 'idle', ended: outcomeLine(last.outcome) });
    this.post({ type: 'reset', runId: null, steps: 0, loss: [], devAccuracy: [], status: 'idle' });
  }

  private post(message: RunViewToWebview): void { void this.view?.webview.postMessage(message); }
}
