// The Experiments tree: spec files of the workspace, their queued jobs, their runs with status and
// best metric.
import * as vscode from 'vscode';
import { specNode, type LiveProgress, type QueuedNode, type RunNode, type SpecNode } from './logic/experiments.js';
import type { QueuedJob } from './logic/jobs.js';

type Node = SpecNode | QueuedNode | RunNode;

export class ExperimentsTree implements vscode.TreeDataProvider<Node> {
  private changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  live: LiveProgress | undefined;
  queue: QueuedJob[] = [];

  refresh(): void { this.changed.fire(undefined); }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.kind === 'run' || node?.kind === 'queued') return [];
    // the spec node comes from this refresh's root pass, which has read its runs already
    if (node?.kind === 'spec') return [...node.queued, ...node.runs];
    const files = await vscode.workspace.findFiles('**/*.ptune.json', '**/{node_modules,.ptune}/**');
    return files.map((f) => specNode(f.fsPath, this.live, this.queue)).sort((a, b) => a.label.localeCompare(b.label));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'spec') {
      const hasChildren = node.runs.length > 0 || node.queued.length > 0;
      const item = new vscode.TreeItem(node.label, hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.description = node.description;
      item.resourceUri = vscode.Uri.file(node.file);
      item.iconPath = new vscode.ThemeIcon('beaker');
      item.contextValue = 'experiment';
      item.tooltip = node.file;
      item.command = { command: 'vscode.open', title: 'Open Spec', arguments: [vscode.Uri.file(node.file)] };
      // VS Code keeps an item's collapsed state by id, and a leaf's is collapsed: a spec without
      // runs has an id of its own, so that its first run (trained with the view open) shows expanded
      item.id = hasChildren ? node.file : `${node.file}#no-runs`;
      return item;
    }
    if (node.kind === 'queued') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = node.description;
      item.tooltip = node.tooltip;
      item.contextValue = node.contextValue;
      item.id = `queued:${node.queueId}`;
      item.iconPath = new vscode.ThemeIcon('watch');
      return item;
    }
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    item.id = node.runDir;
    item.iconPath = new vscode.ThemeIcon(node.icon, node.icon === 'pass' ? new vscode.ThemeColor('testing.iconPassed') : node.icon === 'error' ? new vscode.ThemeColor('testing.iconFailed') : undefined);
    if (node.contextValue.includes('evaluated')) item.command = { command: 'promptTuning.openComparison', title: 'Open Comparison', arguments: [node] };
    return item;
  }
}

export type { Node as ExperimentNode };
