// Command handlers: thin glue between VS Code's UI and the plain-Node logic.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { setupMessage, type DeviceName, type Job, type PrecisionName, type SweepAxis } from '../common/protocol.js';
import { effectiveStatus, exportAdapter, listRuns, runsRootFor, RunDir, trainedRecord } from '../common/run-folder.js';
import { writeFileAtomic } from '../common/atomic-file.js';
import { importRunFolder } from '../common/job-import.js';
import { loadSpec, type Spec } from '../common/spec.js';
import { ComparisonPanel } from './comparison-panel.js';
import { readInspection } from './logic/comparison-data.js';
import { diffOfPickedRuns } from './logic/run-diff-view.js';
import type { ExperimentsTree } from './experiments-tree.js';
import { showLine, type InlineResults } from './inline.js';
import { outcomeLine, type JobManager, type JobOutcome } from './logic/jobs.js';
import { resumableRuns } from './logic/experiments.js';
import { buildSpec, experimentName, labelLengthAdvice, modelAdvice, profileDataset, type DatasetProfile } from './logic/new-experiment.js';

export interface Context {
  extension: vscode.ExtensionContext;
  jobs: JobManager;
  tree: ExperimentsTree;
  inline: InlineResults;
  output: vscode.OutputChannel;
  refreshAll(): Promise<void>;
}

type Arg = { kind?: string; file?: string; runDir?: string; queueId?: number } | vscode.Uri | undefined;

const config = () => vscode.workspace.getConfiguration('promptTuning');

/** The workspace's spec files, sorted. */
export async function specFiles(): Promise<string[]> {
  return (await vscode.workspace.findFiles('**/*.ptune.json', '**/{node_modules,.ptune}/**')).map((u) => u.fsPath).sort();
}

/** The spec a command is about: its argument, the active editor, or the user's pick. */
async function pickSpec(arg: Arg, title: string): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg?.kind === 'spec' && arg.file) return arg.file;
  // a run's context menu: the spec the run was made from
  if (arg?.kind === 'run' && arg.runDir) {
    const specFile = new RunDir(arg.runDir).record.specFile;
    if (specFile) return specFile;
  }
  const active = vscode.window.activeTextEditor?.document;
  if (active?.fileName.endsWith('.ptune.json')) return active.fileName;
  const files = await specFiles();
  if (files.length === 0) {
    const choice = await vscode.window.showInformationMessage('No experiment (*.ptune.json) in this workspace yet.', 'New Experiment');
    if (choice) await vscode.commands.executeCommand('promptTuning.newExperiment');
    return undefined;
  }
  if (files.length === 1) return files[0];
  const picked = await vscode.window.showQuickPick(files.map((f) => ({ label: basename(f), description: vscode.workspace.asRelativePath(f), file: f })), { title, placeHolder: 'Experiment spec' });
  return picked?.file;
}

function evaluatedRuns(files: string[]): { label: string; description: string; detail?: string; runDir: string }[] {
  return files.flatMap((f) => listRuns(runsRootFor(dirname(f))).filter((r) => r.has('eval.json') || r.has('scale.json')).map((r) => ({ label: r.id, description: basename(f), runDir: r.dir })))
    .filter((v, i, all) => all.findIndex((w) => w.runDir === v.runDir) === i);
}

function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`Prompt Tuning: ${action} is off in an untrusted workspace, because it loads model and data files from the workspace and runs a trainer process. Trust the workspace to enable it.`, 'Manage Workspace Trust').then((c) => {
    if (c) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

async function trainerEnv(ctx: Context): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the extension host may be Electron: the trainer runs as plain Node
  if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
  const token = await ctx.extension.secrets.get('promptTuning.hfToken');
  if (token) env.HF_TOKEN = token;
  const cache = config().get<string>('huggingFaceCache');
  if (cache) env.HF_HUB_CACHE = cache;
  if (config().get<boolean>('offline')) env.HF_HUB_OFFLINE = '1';
  return env;
}

/** Runs a job, after the running job and those queued before it; undefined if it was removed from the queue. */
async function runJob(ctx: Context, job: Job, title: string): Promise<JobOutcome | undefined> {
  const env = await trainerEnv(ctx);
  const ticket = ctx.jobs.submit(job, env);
  if (ticket.queued) {
    ctx.output.appendLine(`--- ${new Date().toLocaleTimeString()} queued: ${title}`);
    void vscode.window.showInformationMessage(`Prompt Tuning: ${title} is queued and starts when the running job ends. The Experiments view lists it under its spec.`);
    if (!(await ticket.started)) return undefined;
  }
  ctx.output.appendLine(`--- ${new Date().toLocaleTimeString()} ${title}`);
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Prompt Tuning: ${title}`, cancellable: true }, async (progress, token) => {
    token.onCancellationRequested(() => { if (ctx.jobs.live?.job === job) ctx.jobs.cancel(); });
    let last = 0;
    const stop = ctx.jobs.onEvent((e, live) => {
      // the notification follows this job only, not the ones queued after it
      if (live?.job !== job) return;
      if (e.type === 'progress') {
        const pct = (100 * e.step) / e.steps;
        progress.report({ message: `step ${e.step}/${e.steps}, loss ${e.loss.toFixed(3)}`, increment: pct - last });
        last = pct;
      } else if (e.type === 'evalProgress') progress.report({ message: `evaluating ${e.promptId} (${e.done}/${e.total})` });
      else if (e.type === 'setup') progress.report({ message: setupMessage(e) });
      else if (e.type === 'run') void ctx.tree.refresh();
    });
    try {
      return await ticket.outcome;
    } finally {
      stop();
    }
  });
  await ctx.refreshAll();
  if (outcome.error) {
    const actions = ['Show Log', ...(outcome.error.location?.file ? ['Open File'] : [])];
    const choice = await vscode.window.showErrorMessage(`Prompt Tuning: ${outcome.error.message.split('\n')[0]}`, ...actions);
    if (choice === 'Show Log') ctx.output.show();
    if (choice === 'Open File' && outcome.error.location) await showLine(outcome.error.location.file, outcome.error.location.line ?? 1);
  } else if (outcome.summary && job.kind !== 'inspect') {
    const s = outcome.summary;
    // sweeps, scale ablations and imports have no comparison of their own: their commands say what they made
    const comparable = job.kind === 'train' || job.kind === 'eval' || job.kind === 'model-tune';
    if (s.status === 'completed' && !comparable) ctx.output.appendLine(`${job.kind} ${s.status}: ${s.runDir}`);
    else if (s.status === 'completed') {
      const soft = s.results.filter((r) => r.kind !== 'discrete');
      const line = outcomeLine(outcome);
      ctx.output.appendLine(line);
      void vscode.window.showInformationMessage(`Prompt Tuning: ${soft.length ? 'training' : 'evaluation'} finished (${line}).`, 'Open Comparison').then((c) => {
        if (c) void vscode.commands.executeCommand('promptTuning.openComparison', { kind: 'run', runDir: s.runDir });
      });
    } else void vscode.window.showInformationMessage(`Prompt Tuning: run ${s.status}. Resume it from the Experiments view.`);
  }
  return outcome;
}

export function registerCommands(ctx: Context): void {
  const { extension } = ctx;
  const register = (id: string, fn: (...args: any[]) => unknown) => extension.subscriptions.push(vscode.commands.registerCommand(id, fn));
  const device = () => config().get<DeviceName>('device', 'auto');
  // where and how every job runs: the Select Device choice and the precision and threads settings
  const runOptions = () => ({ device: device(), precision: config().get<PrecisionName>('precision', 'auto'), threads: config().get<number>('threads') || undefined });

  register('promptTuning.train', async (arg: Arg) => {
    if (!requireTrust('training')) return;
    const spec = await pickSpec(arg, 'Train a soft prompt');
    if (!spec) return;
    const doc = vscode.workspace.textDocuments.find((d) => d.fileName === spec);
    if (doc?.isDirty) await doc.save();
    await runJob(ctx, { kind: 'train', specFile: spec, ...runOptions() }, `training ${basename(spec)}`);
  });

  register('promptTuning.resumeRun', async (arg: Arg) => {
    if (!requireTrust('training')) return;
    let runDir = arg && !(arg instanceof vscode.Uri) ? arg.runDir : undefined;
    if (!runDir) {
      // from the palette: the interrupted or cancelled runs, the only one at once
      const runs = resumableRuns(await specFiles());
      if (runs.length === 0) return void vscode.window.showInformationMessage('Prompt Tuning: no interrupted or cancelled run to resume.');
      runDir = runs.length === 1 ? runs[0].runDir : (await vscode.window.showQuickPick(runs, { title: 'Resume which run?' }))?.runDir;
      if (!runDir) return;
    }
    const run = RunDir.open(runDir);
    const { specFile } = trainedRecord(run.record, run.path('run.json'));
    await runJob(ctx, { kind: 'train', specFile, ...runOptions(), resume: run.dir }, `resuming ${run.id}`);
  });

  register('promptTuning.removeQueuedJob', (arg: Arg) => {
    if (!arg || arg instanceof vscode.Uri || arg.queueId === undefined) return;
    if (!ctx.jobs.removeQueued(arg.queueId)) void vscode.window.showInformationMessage('Prompt Tuning: that job is no longer queued (it has started or ended).');
  });

  register('promptTuning.deleteRun', async (arg: Arg) => {
    if (!arg || arg instanceof vscode.Uri || !arg.runDir) return;
    const run = RunDir.open(arg.runDir);
    const record = run.record;
    // a live trainer would go on writing into the trashed folder
    if (effectiveStatus(record) === 'running' || ctx.jobs.live?.runDir === run.dir) {
      return void vscode.window.showWarningMessage(`Prompt Tuning: ${run.id} is running (process ${record.pid ?? 'unknown'}). Cancel it before deleting it.`);
    }
    const uri = vscode.Uri.file(run.dir);
    // a browser or remote window deletes on a host with no trash of the user's: say so once,
    // rather than offer the trash and then ask again when it fails
    const hasTrash = vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName;
    if (!hasTrash) {
      const choice = await vscode.window.showWarningMessage(`Delete run ${run.id}?`, { modal: true, detail: `Its folder ${run.dir} (checkpoints, soft prompt, results) is deleted for good: this window's host has no trash.` }, 'Delete Permanently');
      if (choice !== 'Delete Permanently') return;
      await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
      return void (await ctx.refreshAll());
    }
    const choice = await vscode.window.showWarningMessage(`Delete run ${run.id}?`, { modal: true, detail: `Its folder ${run.dir} (checkpoints, soft prompt, results) moves to the trash.` }, 'Move to Trash');
    if (choice !== 'Move to Trash') return;
    try {
      await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
    } catch (e) {
      // some hosts (a remote or web one) have no trash
      const permanent = await vscode.window.showWarningMessage(`Could not move ${run.id} to the trash (${(e as Error).message}). Delete it permanently?`, { modal: true }, 'Delete Permanently');
      if (permanent !== 'Delete Permanently') return;
      await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
    }
    await ctx.refreshAll();
  });

  register('promptTuning.revealRun', async (arg: Arg) => {
    if (!arg || arg instanceof vscode.Uri || !arg.runDir) return;
    const runJson = vscode.Uri.file(join(arg.runDir, 'run.json'));
    // the OS file manager on a desktop; the Explorer where the files live on another machine
    const local = vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop;
    await vscode.commands.executeCommand(local ? 'revealFileInOS' : 'revealInExplorer', runJson);
  });

  register('promptTuning.evaluate', async (arg: Arg) => {
    if (!requireTrust('evaluation')) return;
    let runs: string[] = [];
    let spec: string | undefined;
    if (arg && !(arg instanceof vscode.Uri) && arg.kind === 'run' && arg.runDir) {
      runs = [arg.runDir];
      spec = RunDir.open(arg.runDir).record.specFile ?? undefined;
    }
    spec ??= await pickSpec(arg, 'Evaluate prompts');
    if (!spec) return;
    if (runs.length === 0) {
      const candidates = listRuns(runsRootFor(dirname(spec))).filter((r) => r.has('adapter_config.json'));
      if (candidates.length) {
        const picked = await vscode.window.showQuickPick(candidates.map((r) => ({ label: r.id, runDir: r.dir })), { canPickMany: true, title: 'Soft prompts to evaluate with the discrete prompts (none: discrete only)' });
        if (!picked) return;
        runs = picked.map((p) => p.runDir);
      }
    }
    await runJob(ctx, { kind: 'eval', specFile: spec, ...runOptions(), runs }, `evaluating ${basename(spec)}`);
  });

  register('promptTuning.openComparison', async (arg: Arg) => {
    let runDir = arg && !(arg instanceof vscode.Uri) ? arg.runDir : undefined;
    if (!runDir && arg && !(arg instanceof vscode.Uri) && arg.kind === 'spec' && arg.file) runDir = evaluatedRuns([arg.file])[0]?.runDir;
    if (!runDir) {
      const runs = evaluatedRuns(await specFiles());
      if (runs.length === 0) return void vscode.window.showInformationMessage('Prompt Tuning: no finished run to compare yet. Train a soft prompt first.');
      runDir = runs.length === 1 ? runs[0].runDir : (await vscode.window.showQuickPick(runs, { title: 'Open the comparison of a run' }))?.runDir;
    }
    if (runDir) await ComparisonPanel.show(extension.extensionUri, [runDir]);
  });

  register('promptTuning.compareRuns', async () => {
    const runs = evaluatedRuns(await specFiles());
    const picked = await vscode.window.showQuickPick(runs, { canPickMany: true, title: 'Runs to compare side by side (pick two to see the newer one as a diff of the older)' });
    if (!picked?.length) return;
    const runDirs = picked.map((p) => p.runDir);
    await ComparisonPanel.show(extension.extensionUri, runDirs);
    const diff = diffOfPickedRuns(runDirs);
    if (diff?.kind === 'refused') void vscode.window.showWarningMessage(`Prompt Tuning: no diff of the two runs: ${diff.message}`);
    if (diff?.kind === 'diff') {
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: diff.markdown });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }
  });

  register('promptTuning.cancelRun', () => {
    if (!ctx.jobs.cancel()) void vscode.window.showInformationMessage('Prompt Tuning: no job is running.');
  });

  register('promptTuning.runOnCluster', async (arg: Arg) => {
    if (!requireTrust('exporting a job')) return;
    const spec = await pickSpec(arg, 'Run which experiment on a cluster?');
    if (!spec) return;
    const target = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Write the job here', title: 'Folder for the Accelerate job (train.py, launch.sh, job.sbatch)' });
    if (!target) return;
    const outDir = join(target[0].fsPath, `${basename(spec).replace(/\.ptune\.json$|\.json$/, '')}-accelerate`);
    // the export reads the model's tokenizer and embeddings: a trainer job, never the host
    const outcome = await runJob(ctx, { kind: 'export-job', specFile: spec, outDir }, `exporting ${basename(spec)} as an Accelerate job`);
    if (!outcome?.summary) return;
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(join(outDir, 'launch.sh')));
    void vscode.window.showInformationMessage(`Prompt Tuning: wrote ${outDir}. Run launch.sh on a multi-GPU machine or sbatch job.sbatch under Slurm, then Import Cluster Run on its run folder.`);
  });

  register('promptTuning.importClusterRun', async (arg: Arg) => {
    const spec = await pickSpec(arg, 'Import the run into which experiment?');
    if (!spec) return;
    const source = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Import this run', title: 'The run folder the Accelerate job wrote' });
    if (!source) return;
    try {
      const run = importRunFolder(source[0].fsPath, runsRootFor(dirname(spec)));
      await ctx.refreshAll();
      void vscode.window.showInformationMessage(`Prompt Tuning: imported ${run.id}.`, 'Open Comparison').then((c) => {
        if (c) void vscode.commands.executeCommand('promptTuning.openComparison', { kind: 'run', runDir: run.dir });
      });
    } catch (e) {
      void vscode.window.showErrorMessage(`Prompt Tuning: ${(e as Error).message}`);
    }
  });

  register('promptTuning.exportSoftPrompt', async (arg: Arg) => {
    let runDir = arg && !(arg instanceof vscode.Uri) ? arg.runDir : undefined;
    if (!runDir) {
      const runs = (await specFiles()).flatMap((f) => listRuns(runsRootFor(dirname(f)))).filter((r) => r.has('adapter_config.json'));
      runDir = (await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, runDir: r.dir })), { title: 'Export which soft prompt?' }))?.runDir;
    }
    if (!runDir) return;
    const target = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export PEFT adapter here', title: 'Folder for the adapter' });
    if (!target) return;
    const run = RunDir.open(runDir);
    const out = join(target[0].fsPath, `${run.id}-adapter`);
    const prompt = exportAdapter(run.dir, out);
    void vscode.window.showInformationMessage(`Prompt Tuning: exported ${prompt.length} x ${prompt.dim} soft prompt to ${out} (load it with PeftModel.from_pretrained).`);
  });

  register('promptTuning.inspectSoftPrompt', async (arg: Arg) => {
    if (!requireTrust('inspecting a soft prompt')) return;
    let runDir = arg && !(arg instanceof vscode.Uri) ? arg.runDir : undefined;
    if (!runDir) {
      const runs = (await specFiles()).flatMap((f) => listRuns(runsRootFor(dirname(f)))).filter((r) => r.has('adapter_config.json'));
      if (runs.length === 0) return void vscode.window.showInformationMessage('Prompt Tuning: no soft prompt to inspect yet. Train one first.');
      runDir = (await vscode.window.showQuickPick(runs.map((r) => ({ label: r.id, runDir: r.dir })), { title: 'Inspect which soft prompt?' }))?.runDir;
    }
    if (!runDir) return;
    const run = RunDir.open(runDir);
    const outcome = await runJob(ctx, { kind: 'inspect', runDir: run.dir }, `inspecting ${run.id}`);
    if (outcome?.summary?.status !== 'completed') return;
    const report = readInspection(run);
    if (report) ctx.output.appendLine(`${run.id}: ${report.summary}`);
    // the nearest tokens show in the comparison panel, which needs the run's evaluation
    if (run.has('eval.json')) await ComparisonPanel.show(extension.extensionUri, [run.dir]);
    else if (report) {
      const choice = await vscode.window.showInformationMessage(`Prompt Tuning: ${report.summary}.`, 'Open inspect.json');
      if (choice) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(run.path('inspect.json')));
    }
  });

  register('promptTuning.importSoftPrompt', async () => {
    const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Import PEFT adapter', title: 'A PEFT PROMPT_TUNING adapter folder' });
    if (!folder) return;
    const spec = await pickSpec(undefined, 'Import for which experiment (its model checks the shape)?');
    if (!spec) return;
    const outcome = await runJob(ctx, { kind: 'import-adapter', specFile: spec, device: 'cpu', adapterDir: folder[0].fsPath, name: basename(folder[0].fsPath).replace(/[^A-Za-z0-9._-]/g, '-') }, `importing ${basename(folder[0].fsPath)}`);
    if (outcome?.summary) void vscode.window.showInformationMessage(`Prompt Tuning: imported the soft prompt as ${RunDir.open(outcome.summary.runDir).id}.`);
  });

  register('promptTuning.selectDevice', async () => {
    const items = [
      { label: 'auto', description: 'CUDA if installed, then WebGPU, then the CPU' },
      { label: 'cpu', description: 'onnxruntime on all CPU cores' },
      { label: 'webgpu', description: 'the local GPU of any vendor (Vulkan, D3D12, Metal)' },
      { label: 'cuda', description: "NVIDIA GPUs; needs onnxruntime's CUDA provider" },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: `Device for training and evaluation (now: ${device()})` });
    if (picked) await config().update('device', picked.label, vscode.ConfigurationTarget.Global);
  });

  register('promptTuning.toggleInlineResults', async () => {
    await config().update('inlineResults', !ctx.inline.enabled, vscode.ConfigurationTarget.Global);
    await ctx.inline.refresh();
  });

  register('promptTuning.setHuggingFaceToken', async () => {
    const token = await vscode.window.showInputBox({ title: 'Hugging Face token (kept in VS Code secret storage only)', password: true, ignoreFocusOut: true, placeHolder: 'hf_...' });
    if (token === undefined) return;
    if (token) await extension.secrets.store('promptTuning.hfToken', token);
    else await extension.secrets.delete('promptTuning.hfToken');
  });

  register('promptTuning.tuneModel', async (arg: Arg) => {
    if (!requireTrust('model tuning')) return;
    const spec = await pickSpec(arg, 'Model-tuning baseline');
    if (!spec) return;
    await runJob(ctx, { kind: 'model-tune', specFile: spec, ...runOptions() }, `model tuning ${basename(spec)}`);
  });

  register('promptTuning.scale', async (arg: Arg) => {
    if (!requireTrust('the scaling ablation')) return;
    const spec = await pickSpec(arg, 'Model-scaling ablation');
    if (!spec) return;
    const current = loadSpec(spec).spec.model;
    const answer = await vscode.window.showInputBox({ title: 'Models to compare (comma-separated folders or hub ids, smallest first)', value: current, ignoreFocusOut: true });
    if (!answer) return;
    const models = answer.split(',').map((m) => m.trim()).filter(Boolean).map((m) => (existsSync(join(dirname(spec), m)) ? join(dirname(spec), m) : m));
    const outcome = await runJob(ctx, { kind: 'scale', specFile: spec, ...runOptions(), models, modelTuning: true }, `scaling ablation over ${models.length} models`);
    if (outcome?.summary) await ComparisonPanel.show(extension.extensionUri, [outcome.summary.runDir]);
  });

  register('promptTuning.sweep', async (arg: Arg) => {
    if (!requireTrust('a sweep')) return;
    const spec = await pickSpec(arg, 'Sweep');
    if (!spec) return;
    const axes = await pickSweepAxes(loadSpec(spec).spec);
    if (!axes) return;
    const seeds = await vscode.window.showQuickPick(['1', '3', '5'], { title: 'Seeds per point (mean and standard deviation over them)', ignoreFocusOut: true });
    if (!seeds) return;
    const runs = axes.reduce((n, a) => n * a.values.length, 1) * Number(seeds);
    const outcome = await runJob(ctx, { kind: 'sweep', specFile: spec, ...runOptions(), axes, seeds: Number(seeds) }, `sweep of ${runs} runs`);
    if (outcome?.summary) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(join(outcome.summary.runDir, 'sweep.svg')));
  });

  register('promptTuning.refresh', () => ctx.refreshAll());

  register('promptTuning.newExperiment', () => newExperiment(ctx));
}

/** The fields a sweep varies, the first picked being the chart's x axis, and their values. */
async function pickSweepAxes(spec: Spec): Promise<SweepAxis[] | undefined> {
  const fields = [
    { label: 'softPrompt.length', description: `now ${spec.softPrompt.length}`, suggested: '1,5,20,100' },
    { label: 'softPrompt.init', description: `now ${spec.softPrompt.init}`, suggested: '' },
    { label: 'training.steps', description: `now ${spec.training.steps}`, suggested: `${Math.max(1, Math.round(spec.training.steps / 4))},${spec.training.steps}` },
    { label: 'training.learningRate', description: `now ${spec.training.learningRate}`, suggested: '0.03,0.3,3' },
  ];
  const picked = await vscode.window.showQuickPick(fields, { canPickMany: true, title: 'Fields to sweep (the topmost picked is the chart\'s x axis)', ignoreFocusOut: true });
  if (!picked?.length) return undefined;
  const axes: SweepAxis[] = [];
  for (const field of picked) {
    if (field.label === 'softPrompt.init') {
      const inits = await vscode.window.showQuickPick(['class-labels', 'sampled-vocab', 'random-uniform'], { canPickMany: true, title: 'Initialisations to compare', ignoreFocusOut: true });
      if (!inits?.length) return undefined;
      axes.push({ path: field.label, values: inits });
      continue;
    }
    const answer = await vscode.window.showInputBox({
      title: `Values of ${field.label} (comma-separated)`, value: field.suggested, ignoreFocusOut: true,
      validateInput: (v) => (v.split(',').every((x) => x.trim() !== '' && Number(x) > 0) ? undefined : 'positive numbers, comma-separated'),
    });
    if (!answer) return undefined;
    axes.push({ path: field.label, values: answer.split(',').map((v) => v.trim()) });
  }
  return axes;
}

async function newExperiment(ctx: Context): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return void vscode.window.showWarningMessage('Prompt Tuning: open a folder first; the experiment and its results are files in it.');
  const root = folder.uri.fsPath;

  // what the model answers with decides the steps that follow
  const kind = await vscode.window.showQuickPick([
    { label: 'A label from a fixed set', description: 'classify: happy or sad, yes or no', detail: 'Each prompt is scored by the likelihood of each label\'s text.', id: 'label' as const },
    { label: 'A text output', description: 'extract a field, answer a question, name a thing', detail: 'Each prompt generates an output, scored against the expected text by exact match, token F1, chrF, ROUGE-L and assertions.', id: 'target' as const },
  ], { title: 'New Experiment', placeHolder: 'What should the model produce?', ignoreFocusOut: true });
  if (!kind) return;
  const total = kind.id === 'label' ? 6 : 5;
  const step = (n: number) => `New Experiment (${n}/${total})`;

  const modelChoice = await vscode.window.showQuickPick([
    { label: 'stories260K (bundled)', description: 'a 260K-parameter Llama model of children\'s stories, copied into .ptune/models', id: 'bundled' },
    { label: 'A model folder…', description: 'Hugging Face layout: config.json, model.safetensors, tokenizer.json', id: 'folder' },
    { label: 'A Hugging Face hub id…', description: 'for example HuggingFaceTB/SmolLM2-135M', id: 'hub' },
  ], { title: step(1), placeHolder: 'Model to tune a soft prompt for', ignoreFocusOut: true });
  if (!modelChoice) return;
  let model: string | undefined;
  if (modelChoice.id === 'bundled') {
    const target = join(root, '.ptune', 'models', 'stories260K');
    if (!existsSync(join(target, 'model.safetensors'))) {
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(ctx.extension.extensionPath, 'models', 'stories260K'), target, { recursive: true });
    }
    model = target;
  } else if (modelChoice.id === 'folder') {
    model = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model', defaultUri: folder.uri }))?.[0].fsPath;
  } else {
    model = await vscode.window.showInputBox({ title: step(1), prompt: 'Hugging Face hub id (org/name)', ignoreFocusOut: true, validateInput: (v) => (/^[\w.-]+\/[\w.-]+$/.test(v.trim()) ? undefined : 'org/name') });
    model = model?.trim();
  }
  if (!model) return;
  const advice = modelAdvice(model);
  if (advice) void vscode.window.showWarningMessage(`Prompt Tuning: ${advice}`);

  const dataFiles = (await vscode.workspace.findFiles('**/*.{jsonl,csv,tsv}', '**/{node_modules,.ptune}/**')).map((u) => u.fsPath).sort();
  const trainPick = await vscode.window.showQuickPick([
    ...dataFiles.map((f) => ({ label: vscode.workspace.asRelativePath(f), file: f as string | undefined })),
    { label: 'Browse…', file: undefined },
  ], { title: step(2), placeHolder: 'Training data (JSONL, CSV or TSV)', ignoreFocusOut: true });
  if (!trainPick) return;
  const train = trainPick.file ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Data: ['jsonl', 'csv', 'tsv'] } }))?.[0].fsPath;
  if (!train) return;

  let profile: DatasetProfile;
  try {
    profile = await profileDataset(train);
  } catch (e) {
    return void vscode.window.showErrorMessage(`Prompt Tuning: ${(e as Error).message}`);
  }
  const answers = kind.id === 'label' ? await labelAnswers(profile, step) : await targetAnswers(profile, step);
  if (!answers) return;
  const templateStep = kind.id === 'label' ? 6 : 5;
  const template = await vscode.window.showInputBox({ title: step(templateStep), prompt: `A first discrete prompt: {field} is replaced by the record's field; the ${kind.id === 'label' ? 'label text' : 'model\'s output'} follows it`, value: `{${answers.textField}} Answer:`, ignoreFocusOut: true });
  if (template === undefined) return;
  const suggested = experimentName(basename(dirname(train)) === basename(root) || basename(dirname(train)) === 'data' ? basename(root) : basename(dirname(train)));
  const name = await vscode.window.showInputBox({ title: 'New Experiment: name', value: suggested, ignoreFocusOut: true, validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) ? undefined : 'letters, digits, . _ -') });
  if (!name) return;
  const file = join(root, `${name}.ptune.json`);
  if (existsSync(file)) {
    const overwrite = await vscode.window.showWarningMessage(`${basename(file)} exists. Replace it?`, { modal: true }, 'Replace');
    if (overwrite !== 'Replace') return;
  }
  const spec = buildSpec({ name, specDir: root, model, train, dev: profile.dev, test: profile.test, discreteTemplate: template, ...answers });
  writeFileAtomic(file, `${JSON.stringify(spec, null, 2)}\n`);
  const found = [profile.dev && `dev: ${basename(profile.dev)}`, profile.test && `test: ${basename(profile.test)}`].filter(Boolean).join(', ');
  if (found) void vscode.window.showInformationMessage(`Prompt Tuning: using the files next to ${basename(train)} (${found}).`);
  await ctx.refreshAll();
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
}

/** A label task's steps: the label's field, the input's field, each label's text. */
async function labelAnswers(profile: DatasetProfile, step: (n: number) => string): Promise<{ textField: string; labelField: string; verbalizer: Record<string, string> } | undefined> {
  const train = profile.file;
  if (profile.labelCandidates.length === 0) return void vscode.window.showErrorMessage(`Prompt Tuning: no field of ${basename(train)} looks like a label (2 to 50 distinct values). For a free text answer, choose "A text output".`);
  const labelPick = await vscode.window.showQuickPick(profile.labelCandidates.map((c) => ({ label: c.field, description: c.values.slice(0, 6).map((v) => `${v.value} (${v.count})`).join(', ') })), { title: step(3), placeHolder: 'Field with the gold label', ignoreFocusOut: true });
  if (!labelPick) return undefined;
  const labelValues = profile.labelCandidates.find((c) => c.field === labelPick.label)!.values;
  const textPick = await vscode.window.showQuickPick(profile.textCandidates.filter((f) => f !== labelPick.label).map((f) => ({ label: f })), { title: step(4), placeHolder: 'Field with the input text', ignoreFocusOut: true });
  if (!textPick) return undefined;
  const verbalizer: Record<string, string> = {};
  for (const v of labelValues) {
    const text = await vscode.window.showInputBox({ title: step(5), prompt: `Text the model should produce for label "${v.value}"`, value: v.value, ignoreFocusOut: true, validateInput: (t) => (t.trim() ? undefined : 'needs some text') });
    if (text === undefined) return undefined;
    verbalizer[v.value] = text.trim();
  }
  const lengths = labelLengthAdvice(verbalizer);
  if (lengths) void vscode.window.showWarningMessage(`Prompt Tuning: ${lengths}`);
  return { textField: textPick.label, labelField: labelPick.label, verbalizer };
}

/**
 * A text output's steps: the field holding the expected output (the likeliest proposed first, any
 * other field below them), then the input's field. data.target is that field as it is.
 */
async function targetAnswers(profile: DatasetProfile, step: (n: number) => string): Promise<{ textField: string; targetField: string } | undefined> {
  const proposed = profile.targetCandidates;
  const others = profile.fields.filter((f) => f !== profile.textCandidates[0] && !proposed.some((c) => c.field === f));
  const sample = (values: string[]) => values.slice(0, 4).map((v) => JSON.stringify(v.length > 24 ? `${v.slice(0, 23)}…` : v)).join(', ');
  const items: (vscode.QuickPickItem & { field?: string })[] = [
    ...proposed.map((c, k) => ({ label: c.field, description: `${c.distinct}${c.distinct >= 10_000 ? '+' : ''} distinct: ${sample(c.examples)}`, ...(k === 0 ? { detail: 'proposed: a short text field with many different values' } : {}), field: c.field })),
    ...(others.length ? [{ label: proposed.length ? 'other fields' : 'fields', kind: vscode.QuickPickItemKind.Separator }] : []),
    ...others.map((f) => ({ label: f, field: f })),
  ];
  const targetPick = await vscode.window.showQuickPick(items, { title: step(3), placeHolder: 'Field with the expected output (data.target)', ignoreFocusOut: true });
  if (!targetPick?.field) return undefined;
  const textPick = await vscode.window.showQuickPick(profile.textCandidates.filter((f) => f !== targetPick.field).map((f) => ({ label: f })), { title: step(4), placeHolder: 'Field with the input text', ignoreFocusOut: true });
  if (!textPick) return undefined;
  return { textField: textPick.label, targetField: targetPick.field };
}
