// Results on the lines of dataset files (a short mark per line, a hover with its legend and label
// scores, a CodeLens summary at the top). Malformed lines are the Problems view's (problems.ts).
import * as vscode from 'vscode';
import { hoverMarkdown, INLINE_PROMPT_CHOICES, inlinePrompts, lineMarks, promptFigure, resultsForDataset, type FileResults, type InlinePromptChoice } from './logic/inline-results.js';

const DATA_FILE = /\.(jsonl|ndjson|csv|tsv)$/i;

/**
 * Opens `file` with the cursor at the start of line `line` (1-based), the line in view. Monaco
 * reveals a range on one line horizontally too, and the start of a line lies after its mark: in a
 * narrow editor that scrolls right, cutting off the marks. A range over two lines is revealed
 * from the left edge.
 */
export async function showLine(file: string, line: number, viewColumn?: vscode.ViewColumn): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const editor = await vscode.window.showTextDocument(doc, viewColumn);
  const at = Math.min(Math.max(0, line - 1), doc.lineCount - 1);
  const start = new vscode.Position(at, 0);
  editor.selection = new vscode.Selection(start, start);
  // the line and the next, or the one before where it is the last
  const first = at + 1 < doc.lineCount ? at : Math.max(0, at - 1);
  editor.revealRange(new vscode.Range(first, 0, first + 1, 0), vscode.TextEditorRevealType.InCenter);
  return editor;
}

export class InlineResults implements vscode.HoverProvider, vscode.CodeLensProvider {
  // the mark goes at the start of the line, where long JSONL records cannot push it out of view;
  // its colour says whether the shown prompts were all right, all wrong or split
  private markTypes = {
    right: this.markType(new vscode.ThemeColor('testing.iconPassed')),
    mixed: this.markType(new vscode.ThemeColor('editorInlayHint.foreground')),
    wrong: this.markType(new vscode.ThemeColor('testing.iconFailed')),
  };
  private cache = new Map<string, FileResults | null>();
  private lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;
  private specFiles: string[] = [];


  get enabled(): boolean { return vscode.workspace.getConfiguration('promptTuning').get<boolean>('inlineResults', true); }

  private get choice(): InlinePromptChoice {
    const value = vscode.workspace.getConfiguration('promptTuning').get<string>('inline.prompts');
    return INLINE_PROMPT_CHOICES.find((c) => c === value) ?? 'soft-vs-best';
  }

  private markType(color: vscode.ThemeColor): vscode.TextEditorDecorationType {
    return vscode.window.createTextEditorDecorationType({ before: { margin: '0 0.8em 0 0', color, backgroundColor: new vscode.ThemeColor('editorInlayHint.background') } });
  }

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
    const results = this.enabled ? this.results(doc.fileName) : null;
    const byOutcome = { right: [] as vscode.DecorationOptions[], mixed: [] as vscode.DecorationOptions[], wrong: [] as vscode.DecorationOptions[] };
    if (results) {
      const { marks, width } = lineMarks(results.lines.values(), inlinePrompts(results.prompts, this.choice));
      for (const m of marks) {
        if (m.line - 1 >= doc.lineCount) continue;
        const start = doc.lineAt(m.line - 1).range.start;
        byOutcome[m.outcome].push({ range: new vscode.Range(start, start), renderOptions: { before: { contentText: m.text, width: `${width}ch` } } });
      }
    }
    for (const outcome of ['right', 'mixed', 'wrong'] as const) editor.setDecorations(this.markTypes[outcome], byOutcome[outcome]);
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    if (!this.enabled) return undefined;
    const results = this.results(doc.fileName);
    const r = results?.lines.get(position.line + 1);
    if (!results || !r) return undefined;
    const md = new vscode.MarkdownString(hoverMarkdown(r, results, inlinePrompts(results.prompts, this.choice)));
    return new vscode.Hover(md, doc.lineAt(position.line).range);
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.enabled || !DATA_FILE.test(doc.fileName)) return [];
    const results = this.results(doc.fileName);
    if (!results) return [];
    const summary = results.prompts.map((p) => `${p.id} ${promptFigure(p)}`).join(' · ');
    return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: `Prompt Tuning (${results.split}, run ${results.runId}): ${summary}`, command: 'promptTuning.openComparison', arguments: [{ kind: 'run', runDir: results.runDir }] })];
  }

  dispose(): void {
    for (const type of Object.values(this.markTypes)) type.dispose();
  }
}
