// Results on the lines of dataset files (end-of-line decorations, a hover with label scores, a
// CodeLens summary at the top) and malformed lines as diagnostics.
import * as vscode from 'vscode';
import { hoverMarkdown, inlineText, lintDataset, resultsForDataset, specsUsingFile, type FileResults } from './logic/inline-results.js';

const DATA_FILE = /\.(jsonl|ndjson|csv|tsv)$/i;

export class InlineResults implements vscode.HoverProvider, vscode.CodeLensProvider {
  private right = vscode.window.createTextEditorDecorationType({ after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' }, isWholeLine: false });
  private wrong = vscode.window.createTextEditorDecorationType({ after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorError.foreground'), fontStyle: 'italic' }, isWholeLine: false });
  // a compact mark per prompt at the start of the line: long JSONL records push the end-of-line text out of view
  private marks = vscode.window.createTextEditorDecorationType({ before: { margin: '0 0.8em 0 0', color: new vscode.ThemeColor('editorCodeLens.foreground') } });
  private diagnostics = vscode.languages.createDiagnosticCollection('promptTuning');
  private cache = new Map<string, FileResults | null>();
  private lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;
  private specFiles: string[] = [];


  get enabled(): boolean { return vscode.workspace.getConfiguration('promptTuning').get<boolean>('inlineResults', true); }

  async refresh(): Promise<void> {
    this.cache.clear();
    this.specFiles = (await vscode.workspace.findFiles('**/*.ptune.json', '**/{node_modules,.ptune}/**')).map((u) => u.fsPath);
    for (const editor of vscode.window.visibleTextEditors) await this.decorate(editor);
    this.lensChanged.fire();
  }

  private results(file: string): FileResults | null {
    if (!this.cache.has(file)) this.cache.set(file, resultsForDataset(file, this.specFiles));
    return this.cache.get(file) ?? null;
  }

  async decorate(editor: vscode.TextEditor): Promise<void> {
    const doc = editor.document;
    if (doc.uri.scheme !== 'file' || !DATA_FILE.test(doc.fileName)) return;
    // the specs that read this file: parsed once per decoration, for diagnostics and label texts
    const users = specsUsingFile(doc.fileName, this.specFiles);
    await this.lint(doc, users);
    const results = this.enabled ? this.results(doc.fileName) : null;
    const right: vscode.DecorationOptions[] = [];
    const wrong: vscode.DecorationOptions[] = [];
    const marks: vscode.DecorationOptions[] = [];
    if (results) {
      const verbalizer = users[0]?.loaded.spec.data.verbalizer;
      for (const r of results.lines.values()) {
        if (r.line - 1 >= doc.lineCount) continue;
        const line = doc.lineAt(r.line - 1);
        const target = r.predictions.every((p) => p.correct) ? right : wrong;
        target.push({ range: new vscode.Range(line.range.end, line.range.end), renderOptions: { after: { contentText: inlineText(r, verbalizer) } } });
        marks.push({ range: new vscode.Range(line.range.start, line.range.start), renderOptions: { before: { contentText: r.predictions.map((p) => (p.correct ? '✓' : '✗')).join('') } }, hoverMessage: `${r.predictions.map((p) => `${p.promptId}: ${p.prediction}`).join(', ')} (gold ${r.gold})` });
      }
    }
    editor.setDecorations(this.right, right);
    editor.setDecorations(this.wrong, wrong);
    editor.setDecorations(this.marks, marks);
  }

  private async lint(doc: vscode.TextDocument, users: ReturnType<typeof specsUsingFile>): Promise<void> {
    if (users.length === 0) {
      this.diagnostics.delete(doc.uri);
      return;
    }
    const problems = await lintDataset(doc.fileName, users[0].loaded);
    this.diagnostics.set(doc.uri, problems.map((p) => {
      const line = Math.min(Math.max(0, p.line - 1), doc.lineCount - 1);
      const d = new vscode.Diagnostic(doc.lineAt(line).range, `${p.message} (${users[0].split} split of ${users[0].loaded.spec.name})`, vscode.DiagnosticSeverity.Error);
      d.source = 'Prompt Tuning';
      return d;
    }));
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    if (!this.enabled) return undefined;
    const results = this.results(doc.fileName);
    const r = results?.lines.get(position.line + 1);
    if (!results || !r) return undefined;
    const md = new vscode.MarkdownString(hoverMarkdown(r, results.runId));
    return new vscode.Hover(md, doc.lineAt(position.line).range);
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.enabled || !DATA_FILE.test(doc.fileName)) return [];
    const results = this.results(doc.fileName);
    if (!results) return [];
    const counts = new Map<string, { right: number; total: number }>();
    for (const r of results.lines.values()) for (const p of r.predictions) {
      const c = counts.get(p.promptId) ?? { right: 0, total: 0 };
      c.total++;
      if (p.correct) c.right++;
      counts.set(p.promptId, c);
    }
    const summary = [...counts].map(([id, c]) => `${id} ${((100 * c.right) / c.total).toFixed(1)}%`).join(' · ');
    return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: `Prompt Tuning (${results.split}, run ${results.runId}): ${summary}`, command: 'promptTuning.openComparison', arguments: [{ kind: 'run', runDir: results.runDir }] })];
  }

  dispose(): void {
    this.right.dispose();
    this.wrong.dispose();
    this.marks.dispose();
    this.diagnostics.dispose();
  }
}
