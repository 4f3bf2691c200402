// Bad inputs that once hung, crashed or gave a silently wrong experiment: each must now be a message
// naming the file, line or field (table-driven where the cases share a shape).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LanguageModel } from '../src/models/language-model.js';
import { readSafetensorsHeader } from '../src/common/safetensors.js';
import { readSplit } from '../src/common/data.js';
import { Evaluator } from '../src/tuning/evaluate.js';
import { loadSpec } from '../src/common/spec.js';
import { baseSpec, root, storiesDir, tempDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs.js';

describe('spec: verbalizer texts', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['two labels with one text', { pos: 'good', neg: 'good' }, /exp\.ptune\.json:\d+: data\.verbalizer\.neg has the same text as label "pos" \("good"\); each label needs its own text/],
    ['texts equal but for spaces', { pos: ' good', neg: 'good ' }, /data\.verbalizer\.neg has the same text as label "pos"/],
    ['a blank text', { pos: 'good', neg: '  ' }, /exp\.ptune\.json:\d+: data\.verbalizer\.neg is blank; each label needs a text the model can produce/],
  ];
  for (const [name, verbalizer, message] of cases) {
    it(name, () => assert.throws(() => loadSpec(workspace(baseSpec({ verbalizer }))), message));
  }
});

describe('safetensors header that is not an object', () => {
  for (const [json, what] of [['null', 'null'], ['[1,2]', 'an array'], ['42', 'a number'], ['"x"', 'a string']]) {
    it(`${json} is ${what}`, () => {
      const file = join(tempDir(), 'model.safetensors');
      const header = Buffer.from(json);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      writeFileSync(file, Buffer.concat([len, header]));
      assert.throws(() => readSafetensorsHeader(file), new RegExp(`model\\.safetensors: safetensors header is ${what}, not an object of tensors; the file is corrupt or not safetensors`));
    });
  }
});

describe('non-finite scores', () => {
  it('a soft prompt holding NaN is an error naming the prompt and the record, not a hang or a silent result', async () => {
    const loaded = loadSpec(workspace({
      name: 'mood', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 4 },
    }));
    const lm = await LanguageModel.fromFolder(storiesDir);
    const test = await readSplit(loaded, 'test');
    const ev = new Evaluator(lm, loaded.spec);
    const nan = { length: 2, dim: 64, data: new Float32Array(128).fill(NaN) };
    await assert.rejects(() => ev.evaluate(ev.soft('broken', nan), test, { batchSize: 4, generation: true }),
      /prompt "broken": the label scores of the record on line 1 are not finite \(NaN, NaN\); its soft prompt holds NaN or infinite values/);
    await lm.dispose();
  });
});

describe('resume', () => {
  it('refuses a spec that differs from the run\'s snapshot, listing each difference', async () => {
    const specFor = (length: number, lr: number) => ({
      name: 'mood', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 8 },
      softPrompt: { length }, training: { steps: 6, batchSize: 2, evalEvery: 2, learningRate: lr }, evaluation: { generation: false },
    });
    const file = workspace(specFor(4, 0.3));
    const controller = new AbortController();
    const first = await runJob({ kind: 'train', specFile: file, device: 'cpu' }, (e) => { if (e.type === 'progress' && e.step === 2) controller.abort(); }, controller.signal);
    assert.equal(first.status, 'cancelled');
    writeFileSync(file, JSON.stringify(specFor(6, 0.1)));
    await assert.rejects(() => runJob({ kind: 'train', specFile: file, device: 'cpu', resume: first.runDir }, () => {}),
      /exp\.ptune\.json: differs from the spec run .* was started with, in softPrompt\.length: 4 -> 6; training\.learningRate: 0\.3 -> 0\.1; resuming would mix two experiments/);
  });
});

describe('templates against every record', () => {
  const jsonl = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const cases: [string, Record<string, unknown>[], RegExp][] = [
    ['a discrete prompt\'s field missing on a later line', [{ text: 'a', q: 'x', label: 'pos' }, { text: 'b', q: 'y', label: 'neg' }, { text: 'c', label: 'pos' }],
      /train\.jsonl:3: field "q" is missing \(discretePrompts\.0\.template uses it\); fields here: text, label/],
    ['a field that is null', [{ text: 'a', q: 'x', label: 'pos' }, { text: null, q: 'y', label: 'neg' }],
      /train\.jsonl:2: field "text" is null \(data\.text uses it\); give it a text or remove the record/],
  ];
  for (const [name, rows, message] of cases) {
    it(name, async () => {
      const file = workspace(baseSpec({}, { discretePrompts: [{ id: 'q', template: '{text} {q} It was' }] }), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows.slice(0, 1)) });
      await assert.rejects(() => readSplit(loadSpec(file), 'train'), message);
    });
  }
});

describe('run status', () => {
  it('a failure after training (an ensemble member that does not exist) ends the run failed with the message, not running', async () => {
    const file = workspace({
      name: 'mood', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 6 },
      softPrompt: { length: 4 }, training: { steps: 2, batchSize: 2, evalEvery: 10 },
      evaluation: { generation: false, ensembles: [{ id: 'ens', prompts: ['no-such-run', 'no-such-run-either'] }] },
    });
    await assert.rejects(() => runJob({ kind: 'train', specFile: file, device: 'cpu' }, () => {}), /evaluation\.ensembles\[0\]\.prompts\[0\]/);
    const runs = join(file, '..', '.ptune', 'runs');
    const [id] = readdirSync(runs);
    const record = JSON.parse(readFileSync(join(runs, id, 'run.json'), 'utf8'));
    assert.equal(record.status, 'failed');
    assert.match(record.error, /evaluation\.ensembles\[0\]\.prompts\[0\]/);
  });
});
