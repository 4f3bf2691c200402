// A resume continues the experiment it started: the data splits and the model's files are compared
// with the hashes run.json kept, and a change is refused naming it, unless --force, which run.json
// then records; a run stopped before its first checkpoint starts again from step 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { RunDir } from '../src/common/run-folder.js';
import { readPeftAdapter } from '../src/common/peft-adapter.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

const cli = join(root, 'bin', 'ptune.js');
const run = promisify(execFile);

/** A workspace with its own copy of the train data and of the model, so a test may change either. */
function copiedWorkspace(): { spec: string; train: string; model: string } {
  const model = join(tempDir('ptune-model-'), 'stories260K');
  cpSync(storiesDir, model, { recursive: true });
  const rows = readFileSync(join(root, 'data', 'mood', 'train.jsonl'), 'utf8').trim().split('\n').slice(0, 24);
  const spec = workspace({
    name: 'mood', model,
    data: { train: 'train.jsonl', dev: join(root, 'data', 'mood', 'dev.jsonl'), maxExamples: 24, text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
    discretePrompts: [], softPrompt: { length: 4 },
    training: { steps: 8, batchSize: 4, evalEvery: 4, sampling: 'random', seed: 0 }, evaluation: { generation: false },
  }, { 'train.jsonl': `${rows.join('\n')}\n` });
  return { spec, train: join(spec, '..', 'train.jsonl'), model };
}

/** Every label swapped: the file the user edited. */
function swapLabels(file: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(/"(happy|sad)"/g, (_, l) => `"${l === 'happy' ? 'sad' : 'happy'}"`));
}

/** One float of the last tensor changed in place (a finite value: weights edited, not damaged). */
function editWeights(model: string): void {
  const file = join(model, 'model.safetensors');
  const bytes = readFileSync(file);
  const at = statSync(file).size - 4;
  bytes.writeFloatLE(bytes.readFloatLE(at) + 0.25, at);
  writeFileSync(file, bytes);
}

describe('resume compares the data and the model with what the run started on', () => {
  const cases: [string, (w: ReturnType<typeof copiedWorkspace>) => void, RegExp][] = [
    ['the training data edited (every label swapped)', (w) => swapLabels(w.train),
      /the run was trained on other inputs than it would continue with: data\.train \(.*train\.jsonl\) changed: sha256 [0-9a-f]{12} -> sha256 [0-9a-f]{12}\. Resuming would train its remaining steps on them; restore the files, start a new run, or resume with --force/],
    ['the model\'s weights edited', (w) => editWeights(w.model),
      /the run was trained on other inputs than it would continue with: model file .*stories260K[\\/]model\.safetensors changed: sha256 [0-9a-f]{12} -> sha256 [0-9a-f]{12}\./],
    ['a model file added and one edited (a README edit is no difference)', (w) => {
      writeFileSync(join(w.model, 'added_tokens.json'), '{}');
      const config = join(w.model, 'tokenizer_config.json');
      writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), model_max_length: 256 }));
      writeFileSync(join(w.model, 'README.md'), 'edited\n');
    }, /: model file .*added_tokens\.json was added: absent -> sha256 [0-9a-f]{12}; model file .*tokenizer_config\.json changed: sha256 [0-9a-f]{12} -> sha256 [0-9a-f]{12}\. Resuming/],
  ];
  for (const [name, change, message] of cases) {
    it(`${name}: refused, then accepted with --force and recorded in run.json`, { timeout: 180_000 }, async () => {
      const w = copiedWorkspace();
      const controller = new AbortController();
      const first = await runJob({ kind: 'train', specFile: w.spec, device: 'cpu' }, (e) => { if (e.type === 'progress' && e.step === 2) controller.abort(); }, controller.signal);
      assert.equal(first.status, 'cancelled');
      const before = RunDir.open(first.runDir).record;
      assert.match(before.dataFiles!.train!.sha256, /^sha256:[0-9a-f]{64}$/);
      assert.match(before.dataFiles!.dev!.sha256, /^sha256:[0-9a-f]{64}$/);
      change(w);
      const events: string[] = [];
      await assert.rejects(runJob({ kind: 'train', specFile: w.spec, device: 'cpu', resume: first.runDir }, (e) => events.push(e.type)), message);
      assert.ok(!events.includes('setup'), 'refused before the model loaded');
      assert.equal(RunDir.open(first.runDir).record.status, 'cancelled', 'the refused resume left the run as it was');
      // the CLI says it as a message (exit 2), not a stack trace
      const refused = await run(process.execPath, [cli, 'train', w.spec, '--resume', first.runDir]).then(() => null, (e) => e as { code: number; stderr: string });
      assert.equal(refused?.code, 2);
      assert.match(refused!.stderr, message);
      assert.doesNotMatch(refused!.stderr, /\n\s+at /);
      // --force goes on, and run.json says what differed and from which step
      const { stdout } = await run(process.execPath, [cli, 'train', w.spec, '--resume', first.runDir, '--force', '--json']);
      assert.equal(JSON.parse(stdout.trim().split('\n').pop()!).status, 'completed');
      const after = RunDir.open(first.runDir).record;
      assert.equal(after.forcedResumes!.length, 1);
      assert.equal(after.forcedResumes![0].step, 2);
      assert.match(after.forcedResumes![0].differences.join('; '), message.source.includes('data\\.train') ? /^data\.train/ : /^model file/);
      // a later resume compares with what it continued on: nothing differs now
      await run(process.execPath, [cli, 'train', w.spec, '--resume', first.runDir, '--json']);
    });
  }

  it('unchanged inputs resume without --force, and --force is refused outside a resume', async () => {
    const w = copiedWorkspace();
    const controller = new AbortController();
    const first = await runJob({ kind: 'train', specFile: w.spec, device: 'cpu' }, (e) => { if (e.type === 'progress' && e.step === 2) controller.abort(); }, controller.signal);
    const resumed = await runJob({ kind: 'train', specFile: w.spec, device: 'cpu', resume: first.runDir }, () => undefined);
    assert.equal(resumed.status, 'completed');
    assert.equal(RunDir.open(first.runDir).record.forcedResumes, undefined);
    assert.equal(readPeftAdapter(first.runDir).prompt.length, 4);
    const refused = await run(process.execPath, [cli, 'train', w.spec, '--force']).then(() => null, (e) => e as { code: number; stderr: string });
    assert.equal(refused?.code, 2);
    assert.match(refused!.stderr, /train: --force is an option of train --resume/);
  });
});
