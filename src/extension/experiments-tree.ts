// The Experiments tree: spec files of the workspace, their runs with status and best metric.
import * as vscode from 'vscode';
import { specNode, type LiveProgress, type RunNode, type SpecNode } from './logic/experiments.js';

type Node = SpecNode | RunNode;

export class ExperimentsTree implements vscode.TreeDataProvider<Node> {
  private changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  live: LiveProgress | undefined;

  refresh(): void { this.changed.fire(undefined); }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.kind === 'run') return [];
    if (node?.kind === 'spec') return specNode(node.file, this.live).runs;
    const files = await vscode.workspace.findFiles('**/*.ptune.json', '**/{node_modules,.ptune}/**');
    return files.map((f) => specNode(f.fsPath, this.live)).sort((a, b) => a.label.localeCompare(b.label));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'spec') {
      const item = new vscode.TreeItem(node.label, node.runs.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.description = node.description;
      item.resourceUri = vscode.Uri.file(node.file);
      item.iconPath = new vscode.ThemeIcon('beaker');
      item.contextValue = 'experiment';
      item.tooltip = node.file;
      item.command = { command: 'vscode.open', title: 'Open Spec', arguments: [vscode.Uri.file(node.file)] };
      item.id = node.file;
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
