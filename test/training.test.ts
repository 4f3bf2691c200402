// Training end to end on the bundled model: it learns, resumes exactly, survives SIGKILL,
// cancels cleanly, stops on a non-finite loss, and round-trips PEFT adapters.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Job, JobSummary, TrainerEvent } from '../src/common/protocol.js';
import { TrainerProcess } from '../src/trainer/client.js';
import { RunDir } from '../src/common/run-folder.js';
import { readPeftAdapter, writePeftAdapter } from '../src/common/peft-adapter.js';
import { root, tempDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';

const mood = (name: string) => join(root, 'data', 'mood', name);
const model = join(root, 'models', 'stories260K');
const cli = join(root, 'bin', 'ptune.js');

function moodSpec(extra: { training?: object; softPrompt?: object; data?: object; evaluation?: object; discretePrompts?: object[] } = {}) {
  return {
    name: 'mood', model,
    data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), test: mood('test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, ...extra.data },
    discretePrompts: extra.discretePrompts ?? [
      { id: 'zero-shot', template: '{story} In the end, everyone was' },
      { id: 'question', template: '{story} Was the story happy or sad? It was' },
      { id: '4-shot', template: '{story} In the end, everyone was', shots: 4 },
    ],
    softPrompt: { length: 20, init: 'class-labels', ...extra.softPrompt },
    training: { steps: 120, batchSize: 16, evalEvery: 40, schedule: 'linear', sampling: 'balanced', seed: 0, ...extra.training },
    evaluation: { generation: false, ...extra.evaluation },
  };
}

/** A small, fast job for the mechanics tests. */
const tinySpec = (training: object = {}) => moodSpec({
  data: { test: undefined, maxExamples: 24 }, discretePrompts: [], softPrompt: { length: 4 },
  training: { steps: 12, batchSize: 4, evalEvery: 4, sampling: 'random', ...training },
});

const quiet = () => undefined;
const promptOf = (runDir: string) => readPeftAdapter(runDir).prompt.data;

describe('prompt tuning on the bundled mood task', () => {
  it('the soft prompt beats every discrete prompt on test, and the dev loss falls', async () => {
    const spec = workspace(moodSpec({ data: { maxExamples: 200 }, evaluation: { generation: true } }));
    const evals: Extract<TrainerEvent, { type: 'eval' }>[] = [];
    const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'eval') evals.push(e); });
    assert.equal(summary.status, 'completed');
    assert.equal(summary.split, 'test');
    const soft = summary.results.find((r) => r.kind === 'soft')!;
    const discrete = summary.results.filter((r) => r.kind === 'discrete');
    assert.equal(discrete.length, 3);
    for (const d of discrete) assert.ok(soft.accuracy > d.accuracy, `soft ${soft.accuracy} vs ${d.id} ${d.accuracy}`);
    assert.ok(evals[evals.length - 1].nll < evals[0].nll, `dev NLL ${evals[0].nll} -> ${evals[evals.length - 1].nll}`);
    // the files of DESIGN.md section 6
    const run = RunDir.open(summary.runDir);
    for (const f of ['run.json', 'metrics.jsonl', 'eval.json', 'predictions.jsonl', 'adapter_config.json', 'adapter_model.safetensors', 'checkpoints/last.safetensors', 'checkpoints/best.safetensors']) assert.ok(run.has(f), f);
    assert.equal(run.record.status, 'completed');
    assert.match(run.record.model!.files['model.safetensors'], /^sha256:[0-9a-f]{64}$/);
    assert.equal(run.readPredictions().length, 4 * 200);
    // exact match (generation mapped to a label) agrees with rank classification on a trained prompt
    const softResult = run.readEval().results.find((r) => r.kind === 'soft')!;
    assert.ok(Math.abs(softResult.exactMatch! - softResult.accuracy) <= 0.02, `exact match ${softResult.exactMatch} vs rank accuracy ${softResult.accuracy}`);
    console.log(`test accuracy: ${summary.results.map((r) => `${r.id} ${(100 * r.accuracy).toFixed(1)}%`).join(', ')}`);
  });
});

/** Starts a trainer process on the spec and SIGKILLs it at the first event `when` accepts; returns its run folder. */
async function killedRun(spec: string, when: (e: TrainerEvent) => boolean): Promise<string> {
  let runDir = '';
  const trainer = new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu' }, {
    onEvent: (e) => {
      if (e.type === 'run') runDir = e.runDir;
      if (when(e)) trainer.kill('SIGKILL');
    },
  });
  await assert.rejects(trainer.done, /the trainer stopped unexpectedly \(signal SIGKILL\); its last output:\n\[trainer\] train/);
  return runDir;
}

describe('resume, cancel, crash', () => {
  it('a run cancelled and resumed ends with the same soft prompt as an uninterrupted run', async () => {
    const spec = workspace(tinySpec());
    const whole = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, quiet);
    const controller = new AbortController();
    const first = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'progress' && e.step === 5) controller.abort(); }, controller.signal);
    assert.equal(first.status, 'cancelled');
    const cancelled = RunDir.open(first.runDir);
    assert.equal(cancelled.record.status, 'cancelled');
    assert.equal(cancelled.readCheckpoint()!.step, 5);
    const resumed = await runJob({ kind: 'train', specFile: spec, device: 'cpu', resume: first.runDir }, quiet);
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(RunDir.open(resumed.runDir).readCheckpoint()!.prompt, RunDir.open(whole.runDir).readCheckpoint()!.prompt);
    assert.deepEqual(promptOf(resumed.runDir), promptOf(whole.runDir));
    assert.deepEqual(RunDir.open(resumed.runDir).record.resumedFrom, [5]);
  });

  it('a trainer killed with SIGKILL leaves readable files and resumes to the same result', async () => {
    const spec = workspace(tinySpec({ checkpointEvery: 2 }));
    const whole = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, quiet);
    const runDir = await killedRun(spec, (e) => e.type === 'checkpoint' && e.step >= 6);
    const run = RunDir.open(runDir);
    assert.equal(run.record.status, 'running');
    assert.ok(run.readMetrics().length > 0);
    const ckpt = run.readCheckpoint()!;
    assert.ok(ckpt.step >= 6 && ckpt.step < 12);
    const again = new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: runDir });
    const summary: JobSummary = await again.done;
    assert.equal(summary.status, 'completed');
    assert.deepEqual(promptOf(runDir), promptOf(whole.runDir));
  });

  it('a trainer killed before its first regular checkpoint resumes from the step-0 checkpoint to the same result', async () => {
    const spec = workspace(tinySpec({ checkpointEvery: 100 }));
    const whole = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, quiet);
    const runDir = await killedRun(spec, (e) => e.type === 'progress' && e.step === 2);
    assert.equal(RunDir.open(runDir).readCheckpoint()!.step, 0);
    const summary: JobSummary = await new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: runDir }).done;
    assert.equal(summary.status, 'completed');
    assert.deepEqual(promptOf(runDir), promptOf(whole.runDir));
  });

  it('a trainer killed during the final evaluation resumes to the same prompt and results', async () => {
    const spec = workspace(tinySpec());
    const whole = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, quiet);
    const runDir = await killedRun(spec, (e) => e.type === 'evalProgress');
    assert.equal(RunDir.open(runDir).readCheckpoint()!.step, 12, 'training had finished');
    assert.equal(RunDir.open(runDir).has('eval.json'), false, 'no half evaluation on disk');
    const summary: JobSummary = await new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: runDir }).done;
    assert.equal(summary.status, 'completed');
    assert.deepEqual(promptOf(runDir), promptOf(whole.runDir));
    const results = (dir: string) => RunDir.open(dir).readEval().results.map((r) => [r.id, r.accuracy, r.nll]);
    assert.deepEqual(results(runDir), results(whole.runDir));
  });

  it('cancel through the trainer process ends the step, checkpoints and marks the run cancelled', async () => {
    const spec = workspace(tinySpec({ steps: 200 }));
    const trainer = new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu' }, { onEvent: (e) => { if (e.type === 'progress' && e.step === 3) trainer.cancel(); } });
    const summary = await trainer.done;
    assert.equal(summary.status, 'cancelled');
    const run = RunDir.open(summary.runDir);
    assert.equal(run.record.status, 'cancelled');
    assert.ok(run.readCheckpoint()!.step >= 3);
  });

  it('an initial soft prompt holding NaN is refused naming its file, and the run ends failed', async () => {
    const dir = tempDir();
    writePeftAdapter(dir, { length: 4, dim: 64, data: new Float32Array(256).fill(NaN) }, { task_type: 'CAUSAL_LM', base_model_name_or_path: 'x', num_transformer_submodules: 1, num_attention_heads: 8, num_layers: 5, prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null });
    const spec = workspace(moodSpec({ data: { maxExamples: 8 }, discretePrompts: [], softPrompt: { length: 4, init: 'file', initFile: dir }, training: { steps: 3, batchSize: 2, evalEvery: 1 } }));
    let runDir = '';
    await assert.rejects(() => runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'run') runDir = e.runDir; }), /adapter_model\.safetensors: prompt_embeddings holds NaN \(virtual token 0, column 0\); the adapter comes from a run that diverged/);
    if (runDir) assert.equal(RunDir.open(runDir).record.status, 'failed');
  });
});

/**
 * Starts a trainer process on the job and sends it `signal` at the first event `when` accepts;
 * returns its run folder, whether a checkpoint existed when the signal was sent, and its outcome.
 */
async function signalledRun(job: Job, signal: NodeJS.Signals, when: (e: TrainerEvent) => boolean): Promise<{ runDir: string; checkpointBefore: boolean; outcome: JobSummary | Error }> {
  let runDir = job.kind === 'train' ? job.resume ?? '' : '';
  let checkpointBefore = false;
  let sent = false;
  const trainer = new TrainerProcess(job, {
    onEvent: (e) => {
      if (e.type === 'run') runDir = e.runDir;
      if (!sent && when(e)) {
        sent = true;
        checkpointBefore = runDir !== '' && RunDir.open(runDir).has('checkpoints/last.safetensors');
        trainer.kill(signal);
      }
    },
  });
  const outcome = await trainer.done.catch((e: Error) => e);
  assert.ok(sent, `no event matched before the trainer ended: ${outcome instanceof Error ? outcome.message : outcome.status}`);
  return { runDir, checkpointBefore, outcome };
}

describe('a run interrupted before its first checkpoint', () => {
  // the whole dev split: its step-0 evaluation, between the run folder's creation and the first
  // checkpoint, takes a few hundred milliseconds, the window these kills land in
  const windowSpec = () => workspace(moodSpec({ data: { test: undefined }, discretePrompts: [], softPrompt: { length: 4 }, training: { steps: 8, batchSize: 4, evalEvery: 100, sampling: 'random' } }));
  let whole: string | undefined;
  const uninterrupted = async (spec: string) => {
    whole ??= (await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, quiet)).runDir;
    return whole;
  };
  const cases: [NodeJS.Signals, RegExp | 'cancelled'][] = [
    ['SIGKILL', /the trainer stopped unexpectedly \(signal SIGKILL\)/],
    ['SIGTERM', 'cancelled'],
    ['SIGINT', 'cancelled'],
  ];
  for (const [signal, expected] of cases) {
    it(`${signal} right after the run folder is made: the run resumes to the adapter of an uninterrupted run`, { timeout: 120_000 }, async () => {
      const spec = windowSpec();
      const reference = await uninterrupted(spec);
      const { runDir, checkpointBefore, outcome } = await signalledRun({ kind: 'train', specFile: spec, device: 'cpu' }, signal, (e) => e.type === 'run');
      assert.equal(checkpointBefore, false, 'the signal came before the first checkpoint');
      const run = RunDir.open(runDir);
      if (expected === 'cancelled') {
        // as Ctrl-C: the run ends cancelled, with a checkpoint at step 0
        assert.equal((outcome as JobSummary).status, 'cancelled');
        assert.equal(run.record.status, 'cancelled');
        assert.equal(run.readCheckpoint()!.step, 0);
      } else {
        assert.match((outcome as Error).message, expected);
        assert.equal(run.readCheckpoint(), null, 'killed before any checkpoint');
      }
      const logs: string[] = [];
      const summary = await new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: runDir }, { onEvent: (e) => { if (e.type === 'log') logs.push(e.message); } }).done;
      assert.equal(summary.status, 'completed');
      if (expected !== 'cancelled') assert.ok(logs.some((l) => /stopped before its first checkpoint; starting it again from step 0 with its recorded spec and seed/.test(l)), logs.join('\n'));
      assert.deepEqual(promptOf(runDir), promptOf(reference));
      assert.deepEqual(run.record.resumedFrom, [0]);
      // one dev evaluation at step 0, not one per start
      assert.equal(run.readMetrics().filter((m) => m.step === 0).length, 1);
    });
  }

  it('SIGTERM while a new run loads its model, then SIGKILL while its resume loads it: each resumes to the same adapter', { timeout: 120_000 }, async () => {
    const spec = windowSpec();
    const reference = await uninterrupted(spec);
    const loading = (e: TrainerEvent) => e.type === 'setup' && e.phase === 'load';
    const first = await signalledRun({ kind: 'train', specFile: spec, device: 'cpu' }, 'SIGTERM', loading);
    assert.equal((first.outcome as JobSummary).status, 'cancelled');
    assert.equal(RunDir.open(first.runDir).record.status, 'cancelled');
    const second = await signalledRun({ kind: 'train', specFile: spec, device: 'cpu', resume: first.runDir }, 'SIGKILL', loading);
    assert.match((second.outcome as Error).message, /signal SIGKILL/);
    // killed before the resume took the run over: its record is as the cancellation left it
    assert.equal(RunDir.open(first.runDir).record.status, 'cancelled');
    const summary = await new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: first.runDir }).done;
    assert.equal(summary.status, 'completed');
    assert.deepEqual(promptOf(first.runDir), promptOf(reference));
  });
});

describe('PEFT interop and the CLI', () => {
  it('export then import gives the identical tensor, with PEFT config keys', async () => {
    const spec = workspace(tinySpec({ steps: 4 }));
    const out = execFileSync(process.execPath, [cli, 'train', spec, '--json'], { encoding: 'utf8' });
    const last = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(last.split, 'dev');
    assert.deepEqual(last.results.map((r: { kind: string }) => r.kind), ['soft']);
    for (const k of ['id', 'kind', 'accuracy', 'macroF1', 'nll']) assert.ok(k in last.results[0], k);
    const exported = join(tempDir(), 'adapter');
    execFileSync(process.execPath, [cli, 'export-peft', last.runDir, exported]);
    const config = JSON.parse(readFileSync(join(exported, 'adapter_config.json'), 'utf8'));
    assert.equal(config.peft_type, 'PROMPT_TUNING');
    assert.equal(config.task_type, 'CAUSAL_LM');
    assert.equal(config.num_virtual_tokens, 4);
    assert.equal(config.token_dim, 64);
    assert.equal(config.num_transformer_submodules, 1);
    assert.equal(config.num_attention_heads, 8);
    assert.equal(config.num_layers, 5);
    assert.equal(config.prompt_tuning_init, 'SAMPLE_VOCAB');
    assert.equal(config.inference_mode, true);
    assert.equal(config.base_model_name_or_path, model);
    assert.deepEqual(readPeftAdapter(exported).prompt.data, promptOf(last.runDir));
    const runs = tempDir();
    const imported = execFileSync(process.execPath, [cli, 'import-peft', exported, '--model', model, '--runs-dir', runs, '--name', 'mine'], { encoding: 'utf8' });
    const importedDir = /as (.*)$/.exec(imported.trim())![1];
    assert.deepEqual(promptOf(importedDir), promptOf(last.runDir));
    // the imported prompt evaluates like any run
    const evalOut = execFileSync(process.execPath, [cli, 'eval', spec, '--run', importedDir, '--json'], { encoding: 'utf8' });
    const evalResult = JSON.parse(evalOut.trim().split('\n').pop()!);
    const trained = last.results[0];
    assert.ok(Math.abs(evalResult.results[0].accuracy - trained.accuracy) < 1e-12);
    // a prompt for another model is refused
    await assert.rejects(async () => execFileSync(process.execPath, [cli, 'import-peft', exported, '--model', join(root, 'test', 'fixtures', 'hf-fixtures', 'llama-tiny')], { encoding: 'utf8', stdio: 'pipe' }), /token_dim 64 but the model's hidden size is 16/);
  });

  it('compare prints Markdown, CSV and JSON', () => {
    const spec = workspace(tinySpec({ steps: 2 }));
    const out = JSON.parse(execFileSync(process.execPath, [cli, 'train', spec, '--json'], { encoding: 'utf8' }).trim().split('\n').pop()!);
    const md = execFileSync(process.execPath, [cli, 'compare', out.runDir], { encoding: 'utf8' });
    assert.match(md, /^\| run +\| split \| prompt \| kind +\| accuracy \(95% CI\) \|/);
    assert.match(md.split('\n')[2], /\| dev +\| soft +\| soft \| \d+\.\d% \(\d+\.\d-\d+\.\d\) \|/);
    const csv = execFileSync(process.execPath, [cli, 'compare', out.runDir, '--format', 'csv'], { encoding: 'utf8' });
    assert.match(csv.split('\n')[0], /^run,split,prompt,kind,accuracy,accuracy 95% low,accuracy 95% high,macro-F1,/);
    assert.match(csv.split('\n')[1], /,dev,soft,soft,\d+\.\d%,\d+\.\d%,\d+\.\d%,/);
    const json = JSON.parse(execFileSync(process.execPath, [cli, 'compare', out.runDir, '--format', 'json'], { encoding: 'utf8' }));
    assert.equal(json[0].id, 'soft');
    assert.ok(existsSync(out.runDir));
  });

  it('bad input stops before training with the file and line', () => {
    const spec = workspace({ ...tinySpec(), data: { ...tinySpec().data, label: 'label' } });
    assert.throws(() => execFileSync(process.execPath, [cli, 'train', spec], { encoding: 'utf8', stdio: 'pipe' }), /train\.jsonl:1: the label field "label" is missing \(data\.label\)/);
  });
});
