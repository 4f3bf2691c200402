// The Problems view for experiments: every problem of an open spec and of the data files it names,
// checked on open, edit and save of the spec, and on open or save of one of its data files.
import * as vscode from 'vscode';
import { resolve } from 'node:path';
import type { InputProblem } from '../common/errors.js';
import { checkSpec } from '../common/spec-problems.js';
import { specsUsingFile } from './logic/inline-results.js';

/** Quiet time after the last keystroke or save before a check: typing must not read data files on every key. */
const DEBOUNCE_MS = 400;

const severities: Record<InputProblem['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

function diagnostic(problem: InputProblem): vscode.Diagnostic {
  const line = Math.max(0, (problem.line ?? 1) - 1);
  const column = Math.max(0, (problem.column ?? 1) - 1);
  // without a column the whole line is marked
  const range = problem.column === undefined
    ? new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER)
    : new vscode.Range(line, column, Math.max(0, (problem.endLine ?? problem.line ?? 1) - 1), Math.max(column + 1, (problem.endColumn ?? column + 2) - 1));
  const d = new vscode.Diagnostic(range, problem.message, severities[problem.severity]);
  d.source = 'Prompt Tuning';
  return d;
}

const isSpec = (doc: vscode.TextDocument) => doc.uri.scheme === 'file' && doc.fileName.endsWith('.ptune.json');
const isData = (doc: vscode.TextDocument) => doc.uri.scheme === 'file' && /\.(jsonl|ndjson|csv|tsv)$/i.test(doc.fileName);

export class SpecProblems implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('promptTuning');
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Each checked spec's problems by file: a data file named by two specs shows both. */
  private readonly bySpec = new Map<string, Map<string, vscode.Diagnostic[]>>();
  private readonly dataFilesOf = new Map<string, string[]>();
  /** The latest check of each spec: an older one finishing later is dropped. */
  private readonly generation = new Map<string, number>();
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.subscriptions = [
      this.collection,
      vscode.workspace.onDidOpenTextDocument((doc) => {
        if (isSpec(doc)) this.schedule(doc.fileName);
        else if (isData(doc)) void this.checkSpecsReading(doc.fileName);
      }),
      vscode.workspace.onDidChangeTextDocument((e) => { if (isSpec(e.document)) this.schedule(e.document.fileName); }),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (isSpec(doc)) this.schedule(doc.fileName);
        const saved = resolve(doc.fileName);
        for (const [spec, files] of this.dataFilesOf) if (files.includes(saved)) this.schedule(spec);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => { if (isSpec(doc)) this.forget(resolve(doc.fileName)); }),
    ];
    for (const doc of vscode.workspace.textDocuments) {
      if (isSpec(doc)) this.schedule(doc.fileName);
      else if (isData(doc)) void this.checkSpecsReading(doc.fileName);
    }
  }

  /** A data file opened alone: the workspace's specs that read it are checked (and so is it). */
  private async checkSpecsReading(dataFile: string): Promise<void> {
    const specs = await vscode.workspace.findFiles('**/*.ptune.json', '**/{node_modules,.ptune}/**');
    for (const { loaded } of specsUsingFile(dataFile, specs.map((u) => u.fsPath))) this.schedule(loaded.file);
  }

  private schedule(fileName: string): void {
    const spec = resolve(fileName);
    clearTimeout(this.timers.get(spec));
    this.timers.set(spec, setTimeout(() => {
      this.timers.delete(spec);
      void this.check(spec);
    }, DEBOUNCE_MS));
  }

  private async check(spec: string): Promise<void> {
    const generation = (this.generation.get(spec) ?? 0) + 1;
    this.generation.set(spec, generation);
    // the editor's text, saved or not; the data files as saved on disk
    const doc = vscode.workspace.textDocuments.find((d) => resolve(d.fileName) === spec);
    let result;
    try {
      result = await checkSpec(spec, { text: doc?.getText() });
    } catch (e) {
      result = { problems: [{ file: spec, severity: 'error' as const, message: `could not be checked: ${(e as Error).message}` }], dataFiles: [] };
    }
    if (this.generation.get(spec) !== generation) return;
    if (doc?.isClosed) return;
    const byFile = new Map<string, vscode.Diagnostic[]>([[spec, []]]);
    for (const problem of result.problems) {
      const file = resolve(problem.file);
      byFile.set(file, [...(byFile.get(file) ?? []), diagnostic(problem)]);
    }
    const before = this.bySpec.get(spec);
    this.bySpec.set(spec, byFile);
    this.dataFilesOf.set(spec, result.dataFiles);
    this.publish([...byFile.keys(), ...(before?.keys() ?? [])]);
  }

  private forget(spec: string): void {
    clearTimeout(this.timers.get(spec));
    this.timers.delete(spec);
    this.generation.set(spec, (this.generation.get(spec) ?? 0) + 1);
    const before = this.bySpec.get(spec);
    this.bySpec.delete(spec);
    this.dataFilesOf.delete(spec);
    this.publish([spec, ...(before?.keys() ?? [])]);
  }

  /** Sets each file's diagnostics to the union over the specs that report on it. */
  private publish(files: string[]): void {
    for (const file of new Set(files)) {
      const all = [...this.bySpec.values()].flatMap((byFile) => byFile.get(file) ?? []);
      this.collection.set(vscode.Uri.file(file), all);
    }
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.subscriptions.forEach((s) => s.dispose());
  }
}
