// A run's lifecycle: a run whose process is gone is found interrupted (by pid, or by heartbeat
// where the pid cannot be checked), reported so by the tree, compare and resume, and resumed to
// the end; jobs submitted while one runs wait in a queue, in order, and can be taken out of it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, JobSummary, TrainerEvent } from '../src/common/protocol.js';
import { effectiveStatus, HEARTBEAT_INTERVAL_MS, HEARTBEAT_STALE_MS, RunDir } from '../src/common/run-folder.js';
import type { RunRecord } from '../src/common/run-files.js';
import { resumableRuns, specNode } from '../src/extension/logic/experiments.js';
import { JobManager } from '../src/extension/logic/jobs.js';
import { newestRun, runViewReset } from '../src/extension/logic/run-view.js';
import { TrainerProcess } from '../src/trainer/client.js';
import { comparisonRows } from '../src/tuning/reports/compare.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

const mood = (name: string) => join(root, 'data', 'mood', name);

/** A small, fast training job on the bundled mood task. */
const tinySpec = (training: object = {}) => ({
  name: 'mood', model: storiesDir,
  data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), maxExamples: 24, text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
  discretePrompts: [],
  softPrompt: { length: 4, init: 'class-labels' },
  training: { steps: 12, batchSize: 4, evalEvery: 4, schedule: 'linear', sampling: 'random', seed: 0, ...training },
  evaluation: { generation: false },
});

/** Starts a trainer process on the spec and SIGKILLs it at the first event `when` accepts; returns its run folder and pid. */
async function killedRun(spec: string, when: (e: TrainerEvent) => boolean): Promise<{ runDir: string; pid: number }> {
  let runDir = '';
  const trainer = new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu' }, {
    onEvent: (e) => {
      if (e.type === 'run') runDir = e.runDir;
      if (when(e)) trainer.kill('SIGKILL');
    },
  });
  await assert.rejects(trainer.done, /the trainer stopped unexpectedly \(signal SIGKILL\)/);
  return { runDir, pid: trainer.child.pid! };
}

/** The pid of a process that has ended and been reaped. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

const record = (fields: Partial<RunRecord>): Pick<RunRecord, 'status' | 'pid' | 'host' | 'heartbeat' | 'updatedAt'> => {
  const now = new Date().toISOString();
  return { status: 'running', updatedAt: now, heartbeat: now, host: hostname(), ...fields };
};
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('effective status', () => {
  it('a running run of a live process is running; of a dead process, interrupted', () => {
    assert.equal(effectiveStatus(record({ pid: process.pid })), 'running');
    assert.equal(effectiveStatus(record({ pid: deadPid() })), 'interrupted');
  });

  it('where the pid cannot be checked (another host, no pid) the heartbeat decides, with a generous limit', () => {
    assert.equal(effectiveStatus(record({ pid: 1234, host: 'elsewhere', heartbeat: ago(60_000) })), 'running');
    assert.equal(effectiveStatus(record({ pid: 1234, host: 'elsewhere', heartbeat: ago(HEARTBEAT_STALE_MS + 1000) })), 'interrupted');
    // a record from before pids were kept: its last update is the heartbeat
    assert.equal(effectiveStatus({ status: 'running', updatedAt: ago(HEARTBEAT_STALE_MS + 1000) }), 'interrupted');
    assert.equal(effectiveStatus({ status: 'running', updatedAt: ago(1000) }), 'running');
  });

  it('a live pid whose heartbeat is stale is a reused pid: interrupted', () => {
    assert.equal(effectiveStatus(record({ pid: process.pid, heartbeat: ago(HEARTBEAT_STALE_MS + 1000) })), 'interrupted');
  });

  it('a final status stays as recorded whatever the process', () => {
    for (const status of ['completed', 'cancelled', 'failed', 'interrupted'] as const) assert.equal(effectiveStatus(record({ status, pid: deadPid(), heartbeat: ago(HEARTBEAT_STALE_MS * 2) })), status);
  });

  it('a running record is stamped with pid, host and a heartbeat refreshed until a final status is written', async () => {
    const run = RunDir.create(tempDir(), 'beat');
    const now = new Date().toISOString();
    run.writeRecord({ id: run.id, name: 'beat', specFile: null, spec: null, device: 'cpu', status: 'running', createdAt: now, updatedAt: now, step: 0, steps: 1, bestStep: null, bestDevAccuracy: null });
    const first = run.record;
    assert.equal(first.pid, process.pid);
    assert.equal(first.host, hostname());
    await sleep(HEARTBEAT_INTERVAL_MS + 500);
    const second = run.record;
    assert.ok(Date.parse(second.heartbeat!) > Date.parse(first.heartbeat!), `${first.heartbeat} -> ${second.heartbeat}`);
    assert.equal(second.updatedAt, first.updatedAt, 'a heartbeat is no change of the record');
    run.updateRecord({ status: 'completed' });
    const final = run.record;
    await sleep(HEARTBEAT_INTERVAL_MS + 500);
    assert.deepEqual(run.record, final);
  });
});

describe('a trainer killed mid-run', () => {
  it('is found interrupted by compare and the tree (which rewrites run.json), and resumes to completion', async () => {
    const spec = workspace(tinySpec({ checkpointEvery: 100 }));
    const { runDir, pid } = await killedRun(spec, (e) => e.type === 'progress' && e.step === 2);
    const run = RunDir.open(runDir);
    // the files say running; the process is gone
    assert.equal(run.record.status, 'running');
    assert.equal(run.record.pid, pid);
    assert.equal(effectiveStatus(run.record), 'interrupted');
    // ptune compare reports it, and leaves run.json as it is
    assert.throws(() => comparisonRows([runDir]), new RegExp(`no eval\\.json yet \\(interrupted: its process \\(pid ${pid}\\) ended before the run finished; resume it with ptune train .*exp\\.ptune\\.json --resume `));
    assert.equal(run.record.status, 'running');
    // the Experiments tree shows it interrupted and marks it so in run.json
    const node = specNode(spec).runs.find((r) => r.runDir === run.dir)!;
    assert.equal(node.status, 'interrupted');
    assert.equal(node.contextValue, 'run.interrupted');
    assert.match(node.label, /^interrupted at step 0\/12 · /);
    assert.equal(run.record.status, 'interrupted');
    assert.match(run.record.error!, new RegExp(`pid ${pid}`));
    // a checkpoint was written before the first step, so resume always has one
    assert.equal(run.readCheckpoint()!.step, 0);
    const logs: string[] = [];
    const summary: JobSummary = await new TrainerProcess({ kind: 'train', specFile: spec, device: 'cpu', resume: runDir }, { onEvent: (e) => { if (e.type === 'log') logs.push(e.message); } }).done;
    assert.equal(summary.status, 'completed');
    assert.ok(logs.some((l) => new RegExp(`^${run.id} was interrupted \\(its process \\(pid ${pid}\\) ended before the run finished\\); resuming from step 0$`).test(l)), logs.join('\n'));
    const done = run.record;
    assert.equal(done.status, 'completed');
    assert.equal(done.step, 12);
    assert.equal(done.error, undefined);
    assert.deepEqual(done.resumedFrom, [0]);
    assert.equal(comparisonRows([runDir])[0].id, 'soft');
    assert.deepEqual(resumableRuns([spec]), []);
  });

  it('run.json and the tree name the step of the last checkpoint, where a resume starts', async () => {
    const spec = workspace(tinySpec({ checkpointEvery: 4 }));
    const { runDir } = await killedRun(spec, (e) => e.type === 'checkpoint' && e.step === 4);
    const run = RunDir.open(runDir);
    const saved = run.readCheckpoint()!.step;
    assert.ok(saved >= 4, `checkpoint at step ${saved}`);
    assert.equal(run.record.step, saved);
    const node = specNode(spec).runs.find((r) => r.runDir === run.dir)!;
    assert.ok(node.label.startsWith(`interrupted at step ${saved}/12 · `), node.label);
    assert.match(node.tooltip, new RegExp(`\nstatus: interrupted\nlast checkpoint: step ${saved} of 12\n`));
    // Resume Run from the palette offers it
    assert.deepEqual(resumableRuns([spec]).map((r) => [r.runDir, r.description]), [[run.dir, `interrupted at step ${saved}/12`]]);
    // the Run view of a reloaded window, which remembers no job, shows the run as it stood at its checkpoint
    const view = runViewReset(null, null, newestRun([spec]));
    assert.equal(view.runId, run.id);
    assert.equal(view.ended, `interrupted at step ${saved}/12`);
    assert.deepEqual(view.loss.map(([step]) => step), Array.from({ length: saved }, (_, k) => k + 1));
    assert.deepEqual(view.devAccuracy.map(([step]) => step), Array.from({ length: saved / 4 + 1 }, (_, k) => 4 * k));
  });

  it('resume refuses a run whose process is alive', async () => {
    const spec = workspace(tinySpec({ steps: 2 }));
    const first = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, () => undefined);
    const run = RunDir.open(first.runDir);
    // as if a live process (this one) were still training it
    run.writeRecord({ ...run.record, status: 'running' });
    await assert.rejects(runJob({ kind: 'train', specFile: spec, device: 'cpu', resume: run.dir }, () => undefined), /the run is still running \(process \d+ on .*\); cancel it before resuming/);
    run.updateRecord({ status: 'completed' });
  });
});

describe('ptune stopped by a signal', () => {
  const cli = join(root, 'bin', 'ptune.js');
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`${signal} ends train as Ctrl-C does: a checkpoint, run.json cancelled, the --json line, exit 130`, { timeout: 120_000 }, async () => {
      const spec = workspace(tinySpec({ steps: 400 }));
      const child = spawn(process.execPath, [cli, 'train', spec, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/run folder: /.test(stderr) && !child.killed) child.kill(signal);
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 130, stderr);
      assert.match(stderr, new RegExp(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling after the current step`));
      const line = JSON.parse(stdout.trim().split('\n').pop()!);
      assert.equal(line.status, 'cancelled');
      const run = RunDir.open(line.runDir);
      assert.equal(run.record.status, 'cancelled');
      assert.ok(run.readCheckpoint(), 'a checkpoint to resume from');
    });
  }
});

describe('what a stopped run says it needs', () => {
  it('eval --run on a run still training, and on one cancelled before its first checkpoint, says so before loading the model', async () => {
    const spec = workspace(tinySpec({ steps: 2 }));
    const run = RunDir.create(tempDir(), 'mood');
    const now = new Date().toISOString();
    run.writeRecord({ id: run.id, name: 'mood', specFile: spec, spec: null, device: 'cpu', status: 'running', createdAt: now, updatedAt: now, step: 3, steps: 12, bestStep: null, bestDevAccuracy: null });
    const events: TrainerEvent[] = [];
    await assert.rejects(runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [run.dir] }, (e) => events.push(e)),
      new RegExp(`${run.dir}: the run has no soft prompt: it is still training \\(step 3 of 12; process ${process.pid}\\); its soft prompt is written when training ends or is cancelled`));
    assert.equal(events.filter((e) => e.type === 'setup').length, 0, 'refused before the model loaded');
    run.updateRecord({ status: 'cancelled', step: 0 });
    await assert.rejects(runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [run.dir] }, () => undefined),
      new RegExp(`it ended cancelled at step 0 before writing its soft prompt; resume it with ptune train .*exp\\.ptune\\.json --resume ${run.dir}`));
  });

  it('inspect on a completed run whose adapter files were removed names them', async () => {
    const spec = workspace(tinySpec({ steps: 2 }));
    const done = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, () => undefined);
    rmSync(join(done.runDir, 'adapter_model.safetensors'));
    await assert.rejects(runJob({ kind: 'inspect', runDir: done.runDir }, () => undefined),
      /the run has no soft prompt: it completed, but adapter_model\.safetensors is missing from the folder \(deleted or moved\)/);
  });

  it('an interrupted evaluation run is to be run again, not resumed: compare and train --resume say so', async () => {
    const spec = workspace(tinySpec({ steps: 2 }));
    const run = RunDir.create(tempDir(), 'mood-eval');
    const now = new Date().toISOString();
    const pid = deadPid();
    run.writeRecord({ id: run.id, name: 'mood-eval', kind: 'eval', evaluatedRuns: ['/runs/a'], specFile: spec, spec: null, device: 'cpu', status: 'running', pid, host: hostname(), heartbeat: now, createdAt: now, updatedAt: now, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null }, { claim: false });
    assert.throws(() => comparisonRows([run.dir]), new RegExp(`no eval\\.json yet \\(interrupted: its process \\(pid ${pid}\\) ended before the run finished; run it again with ptune eval .*exp\\.ptune\\.json --run /runs/a\\)`));
    await assert.rejects(runJob({ kind: 'train', specFile: spec, device: 'cpu', resume: run.dir }, () => undefined),
      /an eval run, not a prompt-tuning run: train --resume continues soft-prompt training only; run it again with ptune eval/);
  });
});

describe('the job queue', () => {
  it('runs jobs submitted while one runs in order, lists the waiting ones under their spec, and removes one on request', async () => {
    const specA = workspace(tinySpec({ steps: 4 }));
    const specB = workspace(tinySpec({ steps: 3 }));
    const jobs = new JobManager();
    const started: string[] = [];
    jobs.onEvent((e, live) => { if (e.type === 'run' && live) started.push(`${live.job.kind === 'train' ? live.job.specFile : ''}`); });
    const changes: number[][] = [];
    jobs.onQueueChange((q) => changes.push(q.map((j) => j.id)));
    const job = (specFile: string): Job => ({ kind: 'train', specFile, device: 'cpu' });

    const a = jobs.submit(job(specA));
    assert.equal(a.queued, false);
    assert.equal(jobs.busy, true);
    const b = jobs.submit(job(specB));
    const c = jobs.submit(job(specA));
    const d = jobs.submit(job(specB));
    assert.deepEqual([b.queued, c.queued, d.queued], [true, true, true]);
    assert.deepEqual(jobs.queued.map((q) => q.id), [b.id, c.id, d.id]);
    // the tree lists each waiting job under its own spec, with its place in the queue
    const underA = specNode(specA, undefined, jobs.queued).queued;
    assert.deepEqual(underA.map((n) => [n.queueId, n.label, n.description, n.contextValue]), [[c.id, 'queued: train', '2nd in the queue', 'queued']]);
    assert.deepEqual(specNode(specB, undefined, jobs.queued).queued.map((n) => n.description), ['1st in the queue', '3rd in the queue']);
    assert.match(specNode(specA, undefined, jobs.queued).description, /1 queued$/);

    assert.equal(jobs.removeQueued(c.id), true);
    assert.equal(jobs.removeQueued(c.id), false);
    assert.equal(await c.started, false);
    assert.deepEqual(await c.outcome, { job: job(specA), removed: true });
    assert.deepEqual(jobs.queued.map((q) => q.id), [b.id, d.id]);

    const outcomes = await Promise.all([a.outcome, b.outcome, d.outcome]);
    assert.deepEqual(outcomes.map((o) => o.summary?.status), ['completed', 'completed', 'completed']);
    assert.deepEqual(await Promise.all([a.started, b.started, d.started]), [true, true, true]);
    assert.deepEqual(started, [specA, specB, specB]);
    assert.deepEqual(outcomes.map((o) => RunDir.open(o.summary!.runDir).record.steps), [4, 3, 3]);
    assert.equal(jobs.busy, false);
    assert.deepEqual(jobs.queued, []);
    // b, c and d queued; c removed; b then d started
    assert.deepEqual(changes, [[b.id], [b.id, c.id], [b.id, c.id, d.id], [b.id, d.id], [d.id], []]);
  });
});
