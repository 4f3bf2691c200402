// Bad inputs that once hung, crashed or gave a silently wrong experiment: each must now be a message
// naming the file, line or field (table-driven where the cases share a shape).
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileSystemError, RunFailedError } from '../src/common/errors.js';
import { writeFileAtomic } from '../src/common/atomic-file.js';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openModel } from '../src/models/load.js';
import { LanguageModel } from '../src/models/language-model.js';
import type { Sequence } from '../src/models/tunable.js';
import { loadTokenizer } from '../src/models/tokenizer.js';
import { readCheckpoint, readSafetensorsHeader } from '../src/common/safetensors.js';
import { LARGE_DATA_FILE, readRecords, readSplit, type ReadProgress } from '../src/common/data.js';
import { setupMessage } from '../src/common/protocol.js';
import { fillTemplate } from '../src/common/template.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { importAdapter } from '../src/tuning/jobs/import.js';
import { writePeftAdapter } from '../src/common/peft-adapter.js';
import { RunDir } from '../src/common/run-folder.js';
import { loadSpec } from '../src/common/spec.js';
import { baseSpec, root, storiesDir, tempDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { accumulatedLossAndGradient, activationBytesPerExample, configParameters, planMemory } from '../src/tuning/train/memory-plan.js';
import { parseModelConfig } from '../src/models/config.js';

/** A copy of the bundled model to damage (the bundled files stay as they are). */
function storiesCopy(): string {
  const dir = join(tempDir('ptune-model-'), 'stories260K');
  cpSync(storiesDir, dir, { recursive: true });
  return dir;
}
function editConfig(dir: string, change: Record<string, unknown>): void {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...change }));
}
const jsonl = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

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
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const test = await readSplit(loaded, 'test');
    const ev = new Evaluator(lm, loaded.spec);
    const nan = { length: 2, dim: 64, data: new Float32Array(128).fill(NaN) };
    await assert.rejects(() => ev.evaluate(ev.prompts.soft('broken', nan), test, { batchSize: 4, generation: true }),
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
  const cases: [string, Record<string, unknown>[], RegExp][] = [
    ['a discrete prompt\'s field missing on a later line', [{ text: 'a', q: 'x', label: 'pos' }, { text: 'b', q: 'y', label: 'neg' }, { text: 'c', label: 'pos' }],
      /train\.jsonl:3: field "q" is missing \(discretePrompts\.0\.template uses it\); fields here: text, label/],
    ['a field that is null', [{ text: 'a', q: 'x', label: 'pos' }, { text: null, q: 'y', label: 'neg' }],
      /train\.jsonl:2: field "text" is null \(data\.text uses it\); give it a text or remove the record/],
    ['a field that is an object', [{ text: 'a', q: 'x', label: 'pos' }, { text: { story: 'b' }, q: 'y', label: 'neg' }],
      /train\.jsonl:2: field "text" is an object \(data\.text uses it\); a template fills in text, numbers or true\/false only/],
    ['a field that is a list', [{ text: 'a', q: ['x'], label: 'pos' }],
      /train\.jsonl:1: field "q" is a list \(discretePrompts\.0\.template uses it\)/],
  ];
  for (const [name, rows, message] of cases) {
    it(name, async () => {
      const file = workspace(baseSpec({}, { discretePrompts: [{ id: 'q', template: '{text} {q} It was' }] }), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows.slice(0, 1)) });
      await assert.rejects(() => readSplit(loadSpec(file), 'train'), message);
    });
  }
});

describe('template values that are not text', () => {
  it('a number fills a template as its digits', async () => {
    const rows = [{ text: 42, label: 'pos' }, { text: 'b', label: 'neg' }];
    const loaded = loadSpec(workspace(baseSpec(), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows) }));
    const train = await readSplit(loaded, 'train');
    assert.equal(fillTemplate(loaded.spec.data.text, train.examples[0].fields), '42 It was');
  });
});

describe('templates with no field', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    ['data.text', { text: 'It was' }, {}, /exp\.ptune\.json:\d+: data\.text \("It was"\) names no field of the data, so every example would get the same input/],
    ['a discrete prompt', {}, { discretePrompts: [{ id: 'plain', template: 'Review. It was' }] }, /exp\.ptune\.json:\d+: discretePrompts\.0\.template \("Review\. It was"\) names no field/],
    ['the soft prompt\'s template', {}, { softPrompt: { template: '{{text}} It was' } }, /softPrompt\.template \("\{\{text\}\} It was"\) names no field/],
    ['a pipeline\'s first stage', {}, { pipelines: [{ id: 'p', stage1: { template: 'Summarise.' }, stage2: { template: '{stage1} It was' } }] }, /pipelines\.0\.stage1\.template \("Summarise\."\) names no field/],
  ];
  for (const [name, data, extra, message] of cases) {
    it(name, () => assert.throws(() => loadSpec(workspace(baseSpec(data, extra))), message));
  }
});

describe('spec: a key given twice', () => {
  const cases: [string, string, RegExp][] = [
    ['at the top', '{\n  "name": "a",\n  "model": "m",\n  "name": "b",\n  "data": {}\n}', /exp\.ptune\.json:4: name is given twice \(first on line 2\); JSON keeps only the last/],
    ['in data', '{\n  "name": "a",\n  "model": "m",\n  "data": {\n    "label": "x",\n    "text": "{t}",\n    "label": "y"\n  }\n}', /exp\.ptune\.json:7: data\.label is given twice \(first on line 5\)/],
    ['in an array\'s object', '{"name": "a", "model": "m", "data": {},\n "discretePrompts": [{"id": "x",\n "template": "{t}", "id": "y"}]}', /exp\.ptune\.json:3: discretePrompts\.0\.id is given twice \(first on line 2\)/],
  ];
  for (const [name, text, message] of cases) it(name, () => assert.throws(() => loadSpec(workspace(text)), message));
});

describe('data file encodings', () => {
  const bom = '\uFEFF';
  it('UTF-8 with a BOM: JSONL and CSV read as without', async () => {
    for (const [name, text] of [['bom.jsonl', `${bom}{"text": "café", "label": "pos"}\n`], ['bom.csv', `${bom}text,label\ncafé,pos\n`]]) {
      const file = join(tempDir(), name);
      writeFileSync(file, text);
      const records = [];
      for await (const r of readRecords(file, { format: name.endsWith('.csv') ? 'csv' : 'jsonl', header: true })) records.push(r);
      assert.deepEqual(records, [{ line: name.endsWith('.csv') ? 2 : 1, fields: { text: 'café', label: 'pos' } }]);
    }
  });
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const long = 'x'.repeat(60);
  const cases: [string, string, Buffer, number][] = [
    ['Latin-1 JSONL', 'data.jsonl', Buffer.concat([Buffer.from('{"text": "ok", "label": "pos"}\n'), latin1('{"text": "caf\u00e9", "label": "pos"}\n')]), 2],
    ['Latin-1 CSV', 'data.csv', Buffer.concat([Buffer.from('text,label\n"two\nlines",pos\n'), latin1('na\u00efve,neg\n')]), 4],
    // past the first 64 KiB read, to count lines across reads
    ['a bad byte on line 3001', 'data.jsonl', Buffer.concat([Buffer.from(`{"text": "caf\u00e9 ${long}", "label": "pos"}\n`.repeat(3000)), latin1('{"text": "\u00e9", "label": "pos"}\n')]), 3001],
    ['a character cut off at the end', 'data.jsonl', Buffer.concat([Buffer.from('{"text": "a", "label": "pos"}\n'), Buffer.from([0xe2, 0x82])]), 2],
  ];
  for (const [name, fileName, bytes, line] of cases) {
    it(`${name} is refused at line ${line}`, async () => {
      const file = join(tempDir(), fileName);
      writeFileSync(file, bytes);
      await assert.rejects(async () => {
        for await (const r of readRecords(file, { format: fileName.endsWith('.csv') ? 'csv' : 'jsonl', header: true })) assert.ok(r);
      }, new RegExp(`data\\.(jsonl|csv):${line}: not UTF-8 \\(bytes [0-9a-f ]+\\); re-save the file as UTF-8`));
    });
  }
  it('a valid multi-byte character across two reads is accepted', async () => {
    const file = join(tempDir(), 'data.jsonl');
    // 65536 bytes of record, then "é" straddling the first read's end
    const head = `{"text": "${'y'.repeat(65536 - 11)}`;
    writeFileSync(file, `${head}é", "label": "pos"}\n`);
    assert.equal(Buffer.byteLength(head), 65535);
    let count = 0;
    for await (const r of readRecords(file, { format: 'jsonl', header: true })) count += r.fields.label === 'pos' ? 1 : 0;
    assert.equal(count, 1);
  });
});

describe('CSV records over several lines', () => {
  const cases: [string, string, number[]][] = [
    ['LF', 'text,label\n"one\ntwo\nthree",pos\nfour,neg\n\n"five\nsix",pos\n', [2, 5, 7]],
    ['CR LF', 'text,label\r\n"one\r\ntwo\r\nthree",pos\r\nfour,neg\r\n\r\n"five\r\nsix",pos\r\n', [2, 5, 7]],
  ];
  for (const [name, text, lines] of cases) {
    it(`${name}: each record at its first line`, async () => {
      const file = join(tempDir(), 'data.csv');
      writeFileSync(file, text);
      const found: number[] = [];
      for await (const r of readRecords(file, { format: 'csv', header: true })) found.push(r.line);
      assert.deepEqual(found, lines);
    });
  }
  it('a wrong column count is reported at the record\'s first line', async () => {
    const file = join(tempDir(), 'data.csv');
    writeFileSync(file, 'text,label\r\n"a\r\nb",pos\r\n"c\r\nd",neg,extra\r\n');
    await assert.rejects(async () => {
      for await (const r of readRecords(file, { format: 'csv', header: true })) assert.ok(r);
    }, /data\.csv:4: 3 columns, but the header names 2 \(text, label\)/);
  });
});

describe('shots above the train split', () => {
  const rows = [{ text: 'a', label: 'pos' }, { text: 'b', label: 'neg' }];
  it('reading the train split names the prompt\'s shots', async () => {
    const loaded = loadSpec(workspace(baseSpec({}, { discretePrompts: [{ id: 'k', template: '{text} It was', shots: 3 }] }), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows) }));
    await assert.rejects(() => readSplit(loaded, 'train'), /exp\.ptune\.json:\d+: discretePrompts\.0\.shots is 3, but the train split has only 2 examples; lower shots or add train examples/);
  });
  it('as many shots as train examples is fine', async () => {
    const loaded = loadSpec(workspace(baseSpec({}, { discretePrompts: [{ id: 'k', template: '{text} It was', shots: 2 }] }), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows) }));
    assert.equal((await readSplit(loaded, 'train')).examples.length, 2);
  });
  it('an evaluator given a smaller train split refuses rather than drawing fewer', async () => {
    const loaded = loadSpec(workspace(baseSpec(), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(rows) }));
    const train = await readSplit(loaded, 'train');
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const ev = new Evaluator(lm, loaded.spec, train);
    assert.throws(() => ev.prompts.discrete({ id: 'k', template: '{text} It was', shots: 4, shotSeparator: '\n\n' }, 0),
      /discrete prompt "k": shots is 4, but the train split \(.*train\.jsonl\) has only 2 examples/);
    await lm.dispose();
  });
});

describe('tokenizer.json that is not one', () => {
  const cases: [string, (text: string) => string, RegExp][] = [
    ['truncated', (text) => text.slice(0, 3000), /stories260K[\\/]tokenizer\.json: not valid JSON \(.*\); the file is truncated or damaged: re-download it/],
    ['{}', () => '{}', /stories260K[\\/]tokenizer\.json: has no "model" section, so it is not a Hugging Face tokenizer\.json/],
  ];
  for (const [name, damage, message] of cases) {
    it(name, async () => {
      const dir = storiesCopy();
      const file = join(dir, 'tokenizer.json');
      writeFileSync(file, damage(readFileSync(file, 'utf8')));
      await assert.rejects(() => loadTokenizer(dir), message);
    });
  }
});

describe('model folder: config and weights', () => {
  const cases: [string, number, RegExp][] = [
    ['config.json says fewer layers than the weights hold', 4,
      /stories260K[\\/]config\.json: num_hidden_layers is 4 but the weights hold 5 \(up to tensor "model\.layers\.4\.[^"]+" in .*model\.safetensors\); the extra layers would be left out/],
    ['config.json says more layers than the weights hold', 6,
      /stories260K[\\/]config\.json: num_hidden_layers is 6 but the weights hold 5 .*, so layer 5 is missing; set num_hidden_layers to 5/],
  ];
  for (const [name, layers, message] of cases) {
    it(name, async () => {
      const dir = storiesCopy();
      editConfig(dir, { num_hidden_layers: layers });
      await assert.rejects(() => openModel(dir, { kind: 'causal' }), message);
    });
  }
  it('bytes after the last tensor', () => {
    const dir = storiesCopy();
    appendFileSync(join(dir, 'model.safetensors'), Buffer.alloc(16));
    assert.throws(() => readCheckpoint(dir), /stories260K[\\/]model\.safetensors: 16 bytes follow the last tensor's data; the file is corrupt/);
  });
  for (const shard of ['../elsewhere.safetensors', '/tmp/elsewhere.safetensors', 'sub/../../elsewhere.safetensors']) {
    it(`a shard index naming ${shard}`, () => {
      const dir = storiesCopy();
      const outside = join(dir, '..', 'elsewhere.safetensors');
      cpSync(join(dir, 'model.safetensors'), outside);
      const weightMap = Object.fromEntries([...readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.keys()].map((name) => [name, shard]));
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      assert.throws(() => readCheckpoint(dir), new RegExp(`model\\.safetensors\\.index\\.json: weight_map names the shard "${shard.replace(/[.]/g, '\\.')}", which is outside the model folder`));
    });
  }
});

describe('PEFT adapter import', () => {
  const t5Folder = () => {
    const dir = tempDir('ptune-t5-');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5', d_model: 64, d_kv: 8, d_ff: 48, num_layers: 1, num_heads: 8, vocab_size: 512, feed_forward_proj: 'relu', decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 2 }));
    return dir;
  };
  const adapter = (taskType: 'CAUSAL_LM' | 'SEQ_2_SEQ_LM', submodules: number, configChange: Record<string, unknown> = {}) => {
    const dir = tempDir('ptune-adapter-');
    writePeftAdapter(dir, { length: 4, dim: 64, data: new Float32Array(256).fill(0.5) }, {
      task_type: taskType, base_model_name_or_path: 'm', num_transformer_submodules: submodules, num_attention_heads: 8, num_layers: 5,
      prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null,
    });
    const file = join(dir, 'adapter_config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...configChange }));
    return dir;
  };
  const nanAdapter = () => {
    const dir = adapter('CAUSAL_LM', 1);
    writePeftAdapter(dir, { length: 4, dim: 64, data: new Float32Array(256).fill(0.5).fill(NaN, 70, 71) }, {
      task_type: 'CAUSAL_LM', base_model_name_or_path: 'm', num_transformer_submodules: 1, num_attention_heads: 8, num_layers: 5,
      prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null,
    });
    return dir;
  };
  const cases: [string, () => string, () => string, RegExp][] = [
    ['an adapter holding NaN (eval, generate and ensembles read it the same way)', nanAdapter, () => storiesDir,
      /adapter_model\.safetensors: prompt_embeddings holds NaN \(virtual token 1, column 6\); the adapter comes from a run that diverged/],
    ['num_virtual_tokens that divides the rows but is not their count', () => adapter('CAUSAL_LM', 1, { num_virtual_tokens: 2 }), () => storiesDir,
      /adapter_config\.json: num_virtual_tokens is 2 with 1 transformer submodule\(s\), so prompt_embeddings should have 2 rows, but .*adapter_model\.safetensors has 4/],
    ['num_virtual_tokens above the rows', () => adapter('CAUSAL_LM', 1, { num_virtual_tokens: 8 }), () => storiesDir, /num_virtual_tokens is 8 with 1 transformer submodule\(s\), so prompt_embeddings should have 8 rows/],
    ['a SEQ_2_SEQ_LM adapter on a causal model', () => adapter('SEQ_2_SEQ_LM', 2), () => storiesDir,
      /adapter_config\.json: task_type is "SEQ_2_SEQ_LM", but .*stories260K is a causal language model \(llama\), which needs CAUSAL_LM/],
    ['a CAUSAL_LM adapter on T5', () => adapter('CAUSAL_LM', 1), t5Folder,
      /adapter_config\.json: task_type is "CAUSAL_LM", but .* is an encoder-decoder model \(t5\), which needs SEQ_2_SEQ_LM/],
  ];
  for (const [name, adapterDir, modelFolder, message] of cases) {
    it(name, () => {
      const runsDir = tempDir('ptune-runs-');
      assert.throws(() => importAdapter(adapterDir(), { modelFolder: modelFolder(), runsDir }), message);
      assert.deepEqual(readdirSync(runsDir), [], 'no run folder is left for a refused adapter');
    });
  }
  it('a matching adapter imports', () => {
    const { length, dim } = importAdapter(adapter('SEQ_2_SEQ_LM', 2), { modelFolder: t5Folder(), runsDir: tempDir('ptune-runs-') });
    assert.deepEqual([length, dim], [4, 64]);
  });
});

describe('run folders', () => {
  for (const name of ['../../x', 'a/b', '..', '']) {
    it(`the run name ${JSON.stringify(name)} is refused`, () => {
      const runs = join(tempDir(), 'runs');
      assert.throws(() => RunDir.create(runs, name), /name ".*" is not a valid run name: use letters, digits/);
      assert.equal(existsSync(runs), false);
    });
  }
  it('runs created at the same moment by two processes each get their own folder', { timeout: 60_000 }, async () => {
    const runs = join(tempDir(), 'runs');
    const script = join(tempDir(), 'create-run.mts');
    writeFileSync(script, [
      `import { RunDir } from ${JSON.stringify(pathToFileURL(join(root, 'src', 'common', 'run-folder.ts')).href)};`,
      'const start = Number(process.argv[2]);',
      'while (Date.now() < start);',
      "for (let i = 0; i < 40; i++) process.stdout.write(RunDir.create(process.argv[3], 'race').dir + '\\n');",
    ].join('\n'));
    // both wait for the same instant, early in a second, so their run ids (to the second) are equal
    const start = Math.ceil((Date.now() + 6000) / 1000) * 1000 + 50;
    const create = () => new Promise<string>((done, fail) => execFile(process.execPath, ['--import', 'tsx', script, String(start), runs], { cwd: root }, (e, out) => (e ? fail(e) : done(out))));
    // forty each, so a check-then-create (the old way) loses the race somewhere in them
    const dirs = (await Promise.all([create(), create()])).flatMap((out) => out.trim().split('\n'));
    assert.equal(dirs.length, 80);
    assert.equal(new Set(dirs).size, 80, 'a folder was handed to two runs');
    assert.equal(readdirSync(runs).length, 80);
    for (const dir of dirs) assert.ok(existsSync(join(dir, 'checkpoints')), dir);
  });
  it('opening a run removes temporary files whose writer is gone, not a live writer\'s', async () => {
    const run = RunDir.create(join(tempDir(), 'runs'), 'tmp');
    writeFileSync(run.path('run.json'), JSON.stringify({ id: run.id }));
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      const abandoned = [`metrics.jsonl.${gone}.1.tmp`, join('checkpoints', `last.safetensors.${gone}.2.tmp`), `eval.json.${process.pid}.3.tmp`];
      const writing = `run.json.${live.pid}.4.tmp`;
      for (const f of [...abandoned, writing]) writeFileSync(run.path(f), 'partial');
      RunDir.open(run.dir);
      for (const f of abandoned) assert.equal(existsSync(run.path(f)), false, f);
      assert.equal(existsSync(run.path(writing)), true);
    } finally {
      live.kill();
    }
  });
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

describe('training examples longer than the context', () => {
  it('are counted and named in a warning before the first step, not after training', async () => {
    const dir = tempDir('ptune-long-');
    const long = Array.from({ length: 600 }, () => 'Lily went to the park and played with her ball.').join(' ');
    writeFileSync(join(dir, 'train.jsonl'), jsonl([{ story: long, mood: 'happy' }, { story: 'Tom was sad.', mood: 'sad' }, { story: 'Sue smiled.', mood: 'happy' }]));
    const spec = workspace({
      name: 'long', model: storiesDir,
      data: { train: join(dir, 'train.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 4 },
      softPrompt: { length: 4 }, training: { steps: 1, batchSize: 2, evalEvery: 5 }, evaluation: { generation: false },
    });
    const seen: string[] = [];
    await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => {
      if (e.type === 'log') seen.push(e.message);
      if (e.type === 'progress') seen.push('step');
    });
    const warning = seen.findIndex((m) => /^warning: 1 of 3 training examples are longer than the model's context \(\d+ tokens with the 4-token soft prompt\) and were cut from the left, keeping the label/.test(m));
    assert.ok(warning >= 0, seen.join('\n'));
    assert.ok(warning < seen.indexOf('step'), 'before the first step');
  });
});

describe('large data files', () => {
  it('report their reading (bytes, records) and end at the file size; small files stay quiet', async () => {
    const dir = tempDir('ptune-large-');
    const row = (i: number) => JSON.stringify({ story: `Story number ${i} about a dog who liked to run in the park.`, mood: i % 2 ? 'happy' : 'sad' });
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < LARGE_DATA_FILE + 1024; i++) { const l = row(i); lines.push(l); size += Buffer.byteLength(l) + 1; }
    writeFileSync(join(dir, 'big.jsonl'), lines.join('\n') + '\n');
    const spec = (train: string) => loadSpec(workspace({
      name: 'big', model: storiesDir,
      data: { train, test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
    }));
    const reports: ReadProgress[] = [];
    const split = await readSplit(spec(join(dir, 'big.jsonl')), 'train', { onProgress: (p) => reports.push(p) });
    assert.equal(split.examples.length, lines.length);
    assert.ok(reports.length >= 1);
    const last = reports[reports.length - 1];
    assert.deepEqual(last, { file: join(dir, 'big.jsonl'), bytesRead: size, totalBytes: size, records: lines.length });
    for (let i = 1; i < reports.length; i++) assert.ok(reports[i].bytesRead >= reports[i - 1].bytesRead && reports[i].records >= reports[i - 1].records);
    const quiet: ReadProgress[] = [];
    await readSplit(spec(join(root, 'data', 'mood', 'train.jsonl')), 'train', { onProgress: (p) => quiet.push(p) });
    assert.deepEqual(quiet, []);
    assert.equal(setupMessage({ type: 'setup', phase: 'data', detail: 'big.jsonl: 12 of 20 MB, 3 records' }), 'reading big.jsonl: 12 of 20 MB, 3 records');
  });
});

describe('large data files: memory', () => {
  /** A JSONL file of `count` distinct stories made of the mood task's sentences. */
  function storyFile(count: number): string {
    const sentences = readFileSync(join(root, 'data', 'mood', 'test.jsonl'), 'utf8').trim().split('\n').flatMap((l) => JSON.parse(l).story.split(/(?<=\.) /));
    const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ story: [0, 1, 2].map((k) => sentences[(i * 7 + k * 131 + Math.floor(i / 97)) % sentences.length]).join(' '), mood: i % 3 ? 'happy' : 'sad' }));
    const file = join(tempDir('ptune-large-'), 'big.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  it('records come as the file is read: a reader that stops early never reads a bad byte at the end, a full read names its line', async () => {
    const file = storyFile(20_000);
    const lines = readFileSync(file, 'utf8').split('\n').length;
    // a Windows-1252 "é" on the last line, after some 3 MB of good records
    appendFileSync(file, Buffer.concat([Buffer.from('{"story": "caf'), Buffer.from([0xe9]), Buffer.from('", "mood": "happy"}\n')]));
    const first: number[] = [];
    const bytes: number[] = [];
    for await (const r of readRecords(file, { format: 'jsonl', header: false, onBytesRead: (b) => bytes.push(b) })) {
      first.push(r.line);
      if (first.length === 5) break;
    }
    assert.deepEqual(first, [1, 2, 3, 4, 5]);
    assert.ok(bytes[bytes.length - 1] < statSync(file).size / 4, `read ${bytes[bytes.length - 1]} of ${statSync(file).size} bytes for five records`);
    const loaded = loadSpec(workspace({ name: 'big', model: storiesDir, data: { train: file, text: '{story} It was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } } }));
    await assert.rejects(() => readSplit(loaded, 'train'), new RegExp(`big\\.jsonl:${lines}: not UTF-8 \\(bytes e9 22 2c 20\\); re-save the file as UTF-8`));
  });

  it('evaluating a large test split holds neither its token ids nor every row of predictions.jsonl at once', { timeout: 300_000 }, async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const count = 150_000;
    const test = storyFile(count);
    const size = statSync(test).size;
    const spec = workspace({
      name: 'big', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), test, text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
      discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
      evaluation: { generation: false },
    });
    // the model's scoring is replaced (this is about what the evaluation holds, and the real one
    // would take minutes): each call records the heap that is still in use
    const scoreChoices = LanguageModel.prototype.scoreChoices;
    let before = 0;
    let most = 0;
    let calls = 0;
    LanguageModel.prototype.scoreChoices = async (items) => {
      if (calls++ % 250 === 0) {
        gc();
        most = Math.max(most, process.memoryUsage().heapUsed - before);
      }
      return { scores: items.map((item, i) => item.choices.map((_, c) => -1 - ((i + c) % 3))) };
    };
    try {
      // 'run' comes after the data are read and the memory planned, before the evaluation
      const summary = await runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [] }, (e) => {
        if (e.type === 'run') { gc(); before = process.memoryUsage().heapUsed; }
      });
      const rows = readFileSync(join(summary.runDir, 'predictions.jsonl'), 'utf8').trim().split('\n');
      assert.equal(rows.length, count);
      assert.deepEqual(JSON.parse(rows[count - 1]).line, count);
      // what grows with the split is its label scores (about 120 bytes a record); the old
      // evaluation encoded the whole split first, eight times the file's size here
      assert.ok(calls > count / 32 && most < 2 * size, `the heap grew by ${(most / 2 ** 20).toFixed(0)} MiB while scoring a ${(size / 2 ** 20).toFixed(0)} MiB file`);
    } finally {
      LanguageModel.prototype.scoreChoices = scoreChoices;
    }
  });
});

describe('one very long record', () => {
  const longStory = Array.from({ length: 2000 }, (_, i) => `Tom had ${i} red balls.`).join(' ').slice(0, 100_000);
  const model = () => parseModelConfig(JSON.parse(readFileSync(join(storiesDir, 'config.json'), 'utf8')));

  it('evaluates in a pass of its own size: the other passes stay short and as large as without it, their predictions the same', async () => {
    const rows = readFileSync(join(root, 'data', 'mood', 'test.jsonl'), 'utf8').trim().split('\n').slice(0, 80);
    const dir = tempDir('ptune-long-');
    writeFileSync(join(dir, 'plain.jsonl'), rows.join('\n') + '\n');
    writeFileSync(join(dir, 'long.jsonl'), [...rows.slice(0, 40), JSON.stringify({ story: longStory, mood: 'happy' }), ...rows.slice(40)].join('\n') + '\n');
    const loaded = (test: string) => loadSpec(workspace({
      name: 'long', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), test: join(dir, test), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
      discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
    }));
    const lm = await openModel(storiesDir, { kind: 'causal' });
    try {
      const cfg = model();
      // a budget that holds 32 passes of the usual stories but 3 of a whole context
      const plan = planMemory(cfg, configParameters(cfg), { batchSize: 8, evalBatchSize: 32, tokens: 100, evalTokens: 512, budgetBytes: configParameters(cfg) * 4 + 3.5 * activationBytesPerExample(cfg, 512, true) });
      assert.ok(plan.evalBatchFor(512) <= 3 && plan.evalBatchFor(100) === 32, `${plan.evalBatchFor(512)}, ${plan.evalBatchFor(100)}`);
      const evaluate = async (test: string) => {
        const spec = loaded(test);
        const split = await readSplit(spec, 'test');
        const ev = new Evaluator(lm, spec.spec);
        const passes: { rows: number; tokens: number }[] = [];
        const { result, predictions } = await ev.evaluate(ev.prompts.discrete(spec.spec.discretePrompts[0], 0), split, { batchSize: 32, batchFor: plan.evalBatchFor, generation: true, onBatch: (b) => passes.push(b) });
        return { predictions, passes, truncated: result.truncated ?? 0 };
      };
      const plain = await evaluate('plain.jsonl');
      const long = await evaluate('long.jsonl');
      const longest = Math.max(...plain.passes.map((p) => p.tokens));
      assert.ok(longest < 150, `the usual stories are short: ${longest} positions`);
      // the long record: cut to the context and counted; every pass within what the plan allows at its length
      assert.ok(long.truncated > 0);
      for (const p of long.passes) assert.ok(p.rows <= plan.evalBatchFor(p.tokens), `a pass of ${p.rows} x ${p.tokens}: ${JSON.stringify(long.passes)}`);
      // the record's passes (scoring, and generating apart: cut to the context, its generation
      // prompt is not its scoring prefix) are the only long ones; the others stay short, and as
      // many and as large as without it
      const [longPasses, others] = [long.passes.filter((p) => p.tokens > longest), long.passes.filter((p) => p.tokens <= longest)];
      assert.ok(longPasses.length <= 2 && longPasses[0].tokens === lm.contextLength, JSON.stringify(long.passes));
      assert.ok(others.length <= plain.passes.length && others.every((p) => p.rows > plan.evalBatchFor(lm.contextLength)), `${JSON.stringify(long.passes)} against ${JSON.stringify(plain.passes)}`);
      const rest = long.predictions.filter((p) => p.line !== 41);
      assert.equal(rest.length, plain.predictions.length);
      rest.forEach((p, i) => {
        const q = plain.predictions[i];
        assert.equal(p.prediction, q.prediction, `line ${q.line}`);
        for (const label of ['happy', 'sad']) assert.ok(Math.abs(p.scores[label] - q.scores[label]) < 1e-4, `line ${q.line}: ${p.scores[label]} vs ${q.scores[label]}`);
        assert.equal(p.generated, q.generated, `line ${q.line}`);
      });
    } finally {
      await lm.dispose();
    }
  });

  it('in training, makes only its own micro-batch small, with the loss and gradient of the whole batch', async () => {
    const lm = await openModel(storiesDir, { kind: 'causal' });
    try {
      const cfg = model();
      // a budget that holds the whole batch of short stories but 2 sequences of a whole context
      const plan = planMemory(cfg, configParameters(cfg), { batchSize: 8, evalBatchSize: 32, tokens: 512, budgetBytes: configParameters(cfg) * 4 + 2.5 * 200e6 });
      assert.ok(plan.microBatch <= 2 && plan.microBatchFor(60) === 8, `${plan.microBatch}, ${plan.microBatchFor(60)}`);
      const tok = lm.tokenizer!;
      const seq = (text: string): Sequence => {
        const ids = tok.encode(text).slice(-500);
        return { ids, targetStart: ids.length - 2 };
      };
      const batch = [seq('Lily had a red ball. She was happy'), seq('Tom lost his cat. He was sad'), seq(longStory), ...Array.from({ length: 5 }, (_, i) => seq(`Sue saw ${i} birds in a tree. She was happy`))];
      const prompt = { length: 4, dim: 64, data: Float32Array.from({ length: 256 }, (_, i) => 0.1 * Math.sin(i)) };
      const whole = await lm.lossAndGradient(batch, prompt);
      const passes: number[][] = [];
      const lossAndGradient = lm.lossAndGradient.bind(lm);
      lm.lossAndGradient = (part, ...rest) => {
        passes.push(part.map((q) => q.ids.length));
        return lossAndGradient(part, ...rest);
      };
      const acc = await accumulatedLossAndGradient(lm, batch, prompt, plan.microBatchFor, 4);
      assert.deepEqual(passes.map((p) => p.length), [plan.microBatchFor(504), 8 - plan.microBatchFor(504)], JSON.stringify(passes));
      assert.ok(passes[0][0] === 500 && passes[1].every((n) => n < 30), JSON.stringify(passes));
      assert.ok(Math.abs(acc.loss - whole.loss) < 1e-5 * Math.abs(whole.loss), `${acc.loss} vs ${whole.loss}`);
      let max = 0;
      for (let i = 0; i < whole.grad.length; i++) max = Math.max(max, Math.abs(acc.grad[i] - whole.grad[i]));
      assert.ok(max < 1e-5, `gradient differs by ${max}`);
    } finally {
      await lm.dispose();
    }
  });
});

describe('a write that fails', () => {
  it('leaves no temporary file and names the file it meant to write', () => {
    const dir = tempDir('ptune-write-');
    // a folder where the file should go: the final rename fails, as a full disk fails the write
    const target = join(dir, 'eval.json');
    mkdirSync(join(target, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(target, '{}'), (e: NodeJS.ErrnoException) => e.message.startsWith(`could not write ${target}: `) && typeof e.code === 'string');
    assert.deepEqual(readdirSync(dir), ['eval.json']);
    assert.deepEqual(readdirSync(target), ['inside']);
  });
});

/** Runs the ptune CLI; `unprivileged` runs it as user nobody when this is root (whom permissions do not stop). */
function ptune(args: string[], options: { unprivileged?: boolean; timeout?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const asNobody = options.unprivileged && process.getuid?.() === 0;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'ptune.js'), ...args], { encoding: 'utf8', timeout: options.timeout ?? 120_000, ...(asNobody ? { uid: 65534, gid: 65534 } : {}), env: { ...process.env, HOME: tempDir('ptune-home-') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A folder others may read (tempDir's are private: the unprivileged CLI must read the spec and data). */
function openToAll(dir: string): string {
  chmodSync(dir, 0o755);
  return dir;
}

const moodData = (name: string) => join(root, 'data', 'mood', name);
/** A small label task on the bundled model, fields changed by `change`. */
const moodSpec = (change: { data?: object; softPrompt?: object; training?: object; evaluation?: object; name?: string; model?: string } = {}) => ({
  name: change.name ?? 'mood', model: change.model ?? storiesDir,
  data: { train: moodData('train.jsonl'), test: moodData('test.jsonl'), maxExamples: 8, text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, ...change.data },
  discretePrompts: [], softPrompt: { length: 4, ...change.softPrompt },
  training: { steps: 2, batchSize: 2, evalEvery: 100, ...change.training }, evaluation: { generation: false, ...change.evaluation },
});

describe('lengths against the model\'s context (512 positions): refused naming the field, not a crash in the runtime', () => {
  const longText = Array.from({ length: 700 }, () => 'happy').join(' ');
  const targetRows = [{ story: 'Tom had a ball.', thing: 'ball' }, { story: 'Sue had a cat.', thing: 'cat' }, { story: 'Lily had a kite.', thing: longText }];
  // each refused before the model's session is made (its tokenizer is read first)
  const cases: [string, Record<string, unknown>, Record<string, string>, RegExp][] = [
    ['softPrompt.length 1000', moodSpec({ softPrompt: { length: 1000 } }), {},
      /exp\.ptune\.json:\d+: softPrompt\.length is 1000, but the model's context holds only 512 positions/],
    ['softPrompt.length 510, one position short after the BOS and the input\'s last token', moodSpec({ softPrompt: { length: 510 } }), {},
      /exp\.ptune\.json:\d+: softPrompt\.length is 510, but the model's context is 512 positions, which must take the soft prompt, the input's BOS and last token and the answer; use at most 509/],
    ['a 700-word label text', moodSpec({ data: { verbalizer: { happy: longText, sad: 'sad' } } }), {},
      /exp\.ptune\.json:\d+: data\.verbalizer\.happy is \d{3} tokens; after the input's BOS and last token with the 4-token soft prompt \(softPrompt\.length\) the model's context of 512 positions leaves room for 506: shorten the label's text or the soft prompt/],
    ['a 700-word text target on line 3', moodSpec({ data: { train: 'train.jsonl', test: undefined, dev: 'train.jsonl', label: undefined, verbalizer: undefined, target: '{thing}.', text: '{story} It was about the' } }), { 'train.jsonl': targetRows.map((r) => JSON.stringify(r)).join('\n') },
      /train\.jsonl:3: the target \(data\.target "\{thing\}\."\) is \d{3} tokens with its end of sequence; after the input's BOS and last token with the 4-token soft prompt/],
    ['evaluation.maxNewTokens beyond the context', moodSpec({ evaluation: { generation: true, maxNewTokens: 600 } }), {},
      /exp\.ptune\.json:\d+: evaluation\.maxNewTokens is 600; after the input's BOS and last token with the 4-token soft prompt \(softPrompt\.length\) the model's context of 512 positions leaves room for 506 generated tokens/],
  ];
  for (const [name, spec, files, message] of cases) {
    it(name, async () => {
      const events: string[] = [];
      await assert.rejects(runJob({ kind: 'train', specFile: workspace(spec, files), device: 'cpu' }, (e) => events.push(e.type)), message);
      assert.ok(!events.includes('setup'), 'refused before the model\'s session was made');
      assert.ok(!events.includes('run'), 'no run folder was made');
    });
  }
  it('a sweep over softPrompt.length says the same', async () => {
    await assert.rejects(runJob({ kind: 'sweep', specFile: workspace(moodSpec()), device: 'cpu', axes: [{ path: 'softPrompt.length', values: ['1000'] }], seeds: 1 }, () => undefined),
      /softPrompt\.length is 1000, but the model's context holds only 512 positions/);
  });
  it('the longest soft prompt that fits trains and evaluates', async () => {
    const summary = await runJob({ kind: 'train', specFile: workspace(moodSpec({ softPrompt: { length: 508 }, training: { steps: 1 } })), device: 'cpu' }, () => undefined);
    assert.equal(summary.status, 'completed');
  });
});

describe('a tokenizer whose ids pass the embedding\'s rows', () => {
  it('is refused before the model loads, naming tokenizer.json, the token and config.json', async () => {
    const model = storiesCopy();
    const file = join(model, 'tokenizer.json');
    const tokenizer = JSON.parse(readFileSync(file, 'utf8'));
    tokenizer.added_tokens.push({ id: 600, content: '<extra>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    writeFileSync(file, JSON.stringify(tokenizer));
    const events: string[] = [];
    await assert.rejects(runJob({ kind: 'eval', specFile: workspace(moodSpec({ model })), device: 'cpu', runs: [] }, (e) => events.push(e.type)),
      /stories260K[\\/]tokenizer\.json: token "<extra>" has id 600, but the model's embedding has 512 rows \(vocab_size in .*config\.json\), ids 0 to 511; the tokenizer is not this checkpoint's/);
    assert.ok(!events.includes('setup'));
  });
});

describe('file-system errors: the path and the operation, exit 2, no stack trace', () => {
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, stderr);
  const cases: [string, () => string[], RegExp, boolean?][] = [
    ['--runs-dir naming a file', () => {
      const file = join(tempDir(), 'runs');
      writeFileSync(file, '');
      return ['train', workspace(moodSpec()), '--runs-dir', file];
    }, /runs: is a file, not a folder; the runs folder \(--runs-dir\) must be a folder/],
    ['a spec name of 300 characters (ENAMETOOLONG)', () => ['train', workspace(moodSpec({ name: 'n'.repeat(300) }))],
      /exp\.ptune\.json:2: name is 300 characters: the run folder's name .* would be 320 bytes, more than a folder name may have \(255\); shorten the name to 235 characters or fewer/],
    ['export-peft onto an existing file', () => {
      const run = RunDir.create(tempDir(), 'r');
      writePeftAdapter(run.dir, { length: 1, dim: 64, data: new Float32Array(64) }, { task_type: 'CAUSAL_LM', base_model_name_or_path: 'm', num_transformer_submodules: 1, num_attention_heads: 8, num_layers: 5, prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null });
      writeFileSync(run.path('run.json'), JSON.stringify({ id: run.id }));
      const out = join(tempDir(), 'adapter.bin');
      writeFileSync(out, 'x');
      return ['export-peft', run.dir, out];
    }, /adapter\.bin: is a file; an adapter is a folder/],
    ['a spec path that is a folder', () => ['train', tempDir()], /ptune-test-\w+: is a folder; give a spec file/],
    ['a model folder with a folder in place of config.json', () => {
      const model = storiesCopy();
      rmSync(join(model, 'config.json'));
      mkdirSync(join(model, 'config.json'));
      return ['train', workspace(moodSpec({ model }))];
    }, /exp\.ptune\.json:3: model: .*config\.json: is a folder, not a file; the model folder is damaged/],
    ['a read-only runs folder', () => {
      const runs = join(openToAll(tempDir()), 'runs');
      mkdirSync(runs, { mode: 0o555 });
      chmodSync(runs, 0o555);
      return ['train', openSpec(moodSpec()), '--runs-dir', runs];
    }, /runs: cannot write into the runs folder \(EACCES: permission denied.*\); run folders go there: choose a writable folder with --runs-dir/, true],
    ['an unreadable spec', () => {
      const spec = openSpec(moodSpec());
      chmodSync(spec, 0o000);
      return ['train', spec];
    }, /exp\.ptune\.json: could not open \(EACCES: permission denied/, true],
    ['an unreadable weights file', () => {
      const model = storiesCopy();
      chmodSync(join(model, '..'), 0o755);
      chmodSync(join(model, 'model.safetensors'), 0o000);
      return ['train', openSpec(moodSpec({ model }))];
    }, /exp\.ptune\.json:3: model: .*model\.safetensors: could not open \(EACCES: permission denied/, true],
  ];
  for (const [name, args, message, unprivileged] of cases) {
    it(name, () => {
      const r = ptune(args(), { unprivileged });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      noStack(r.stderr);
    });
  }
  it('every Node file-system error names its path and operation', () => {
    const error = Object.assign(new Error('EROFS: read-only file system, mkdir \'/mnt/x/runs\''), { code: 'EROFS', syscall: 'mkdir', path: '/mnt/x/runs' });
    assert.equal(fileSystemError(error)?.message, '/mnt/x/runs: could not create the folder (EROFS: the file system is read-only: choose a writable location)');
    assert.equal(fileSystemError(new Error('plain')), null);
  });
});

/** A spec in a folder others may read. */
function openSpec(spec: Record<string, unknown>): string {
  const file = workspace(spec);
  openToAll(join(file, '..'));
  return file;
}

describe('--threads', () => {
  const cases: [string, RegExp][] = [
    ['0', /--threads 0: expected a whole number from 1 to \d+ \(the CPU threads this machine offers\); leave it out to use them all/],
    ['100000', /--threads 100000: expected a whole number from 1 to \d+/],
    ['two', /--threads two: expected a whole number/],
  ];
  for (const [value, message] of cases) {
    it(`${value} is refused at once`, () => {
      for (const command of [['train', workspace(moodSpec())], ['generate', '--prompt', 'Once']]) {
        const r = ptune([...command, '--threads', value], { timeout: 30_000 });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
      }
    });
  }
  it('a job given threads from elsewhere (the extension\'s setting) is checked too', async () => {
    await assert.rejects(runJob({ kind: 'train', specFile: workspace(moodSpec()), device: 'cpu', threads: 0 }, () => undefined), /threads 0: expected a whole number from 1/);
  });
});

describe('training that diverges without a dev split', () => {
  it('is said without a stack trace, run.json says failed, and --json still ends with its line', () => {
    const r = ptune(['train', workspace(moodSpec({ training: { steps: 5, learningRate: 1e30, optimizer: 'adam' } })), '--json']);
    assert.equal(r.code, 1, r.stderr);
    // the update overflows the prompt (or, where it stays finite, the next loss is NaN)
    const diverged = /the (soft prompt became -?Infinity|loss became NaN) at step \d.*lower training\.learningRate or set training\.clipNorm; the last good checkpoint \(step 0\) is kept in /;
    assert.match(r.stderr, new RegExp(`ptune train: ${diverged.source}`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(line.status, 'failed');
    assert.match(line.error, diverged);
    assert.equal(RunDir.open(line.runDir).record.status, 'failed');
  });
});

describe('a diverging run with a dev split', () => {
  const cases: [string, object, RegExp][] = [
    ['an update that overflows (Adam at lr 1e30)', { learningRate: 1e30, optimizer: 'adam' },
      /the soft prompt became (-?Infinity|NaN) at step \d \(learning rate 1\.00e\+30, loss [\d.]+\): the update diverged; lower training\.learningRate or set training\.clipNorm; the last good checkpoint \(step \d\) is kept in .*checkpoints \(run /],
    ['a prompt that makes the dev scores NaN (Adafactor at lr 1e30)', { learningRate: 1e30 },
      /(the dev evaluation at step \d \(.*dev\.jsonl\) failed: .*not finite.*The soft prompt diverged|the soft prompt became|the loss became NaN).*lower training\.learningRate/],
  ];
  for (const [name, training, message] of cases) {
    it(`${name}: names the step, the learning rate or the dev file, and the checkpoint; the run ends failed`, async () => {
      let runDir = '';
      await assert.rejects(runJob({ kind: 'train', specFile: workspace(moodSpec({ data: { dev: moodData('dev.jsonl') }, training: { steps: 6, evalEvery: 1, ...training } })), device: 'cpu' }, (e) => { if (e.type === 'run') runDir = e.runDir; }), message);
      assert.equal(RunDir.open(runDir).record.status, 'failed');
    });
  }
});

describe('model tuning that diverges', () => {
  it('blames the learning rate, not the weights, and is said without a stack trace', async () => {
    const spec = workspace({ ...moodSpec({ data: { dev: moodData('dev.jsonl') }, training: { evalEvery: 1 } }), modelTuning: { steps: 4, batchSize: 2, learningRate: 1e30, optimizer: 'adam' } });
    const error = await runJob({ kind: 'model-tune', specFile: spec, device: 'cpu' }, () => undefined).then(() => null, (e: Error) => e);
    assert.ok(error instanceof RunFailedError, String(error));
    assert.match(error.message, /model tuning(: the loss became NaN at step \d \(learning rate [\d.e+]+\): the training diverged| diverged: the dev evaluation at step \d \(.*dev\.jsonl\) failed: .*The tuned weights scored finite values at step 0).*lower modelTuning\.learningRate/);
  });
});

describe('generate', () => {
  it('--max-new-tokens beyond the context names it and the room left, not a soft prompt there is none of', () => {
    const r = ptune(['generate', '--prompt', 'Once upon a time', '--max-new-tokens', '100000']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--max-new-tokens 100000: the model's context of 512 positions holds the prompt's \d+ tokens, which leaves room for \d+ new tokens; give --max-new-tokens \d+ or less/);
    assert.doesNotMatch(r.stderr, /soft prompt/);
  });
  it('refuses a SEQ_2_SEQ_LM adapter on a causal model, as import-peft does', () => {
    const dir = tempDir('ptune-adapter-');
    writePeftAdapter(dir, { length: 4, dim: 64, data: new Float32Array(256) }, { task_type: 'SEQ_2_SEQ_LM', base_model_name_or_path: 'm', num_transformer_submodules: 2, num_attention_heads: 8, num_layers: 5, prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null });
    const r = ptune(['generate', '--prompt', 'Once', '--soft-prompt', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /adapter_config\.json: task_type is "SEQ_2_SEQ_LM", but .* is a causal language model \(llama\), which needs CAUSAL_LM; use the adapter with the model it was trained on/);
  });
});

describe('silently wrong experiments: warned before the job starts', () => {
  const cases: [string, Parameters<typeof moodSpec>[0], RegExp | null][] = [
    ['nothing to say of a plain spec', {}, null],
    ['a label text starting with a space under the default separator', { data: { verbalizer: { happy: ' happy', sad: 'sad' } } },
      /^warning: .*exp\.ptune\.json:\d+: data\.verbalizer\.happy \(" happy"\) starts with a space, and data\.labelSeparator \(" "\) already puts one before it: the model would be scored on two spaces before the label; remove the leading space/],
    ['a text target starting with a space', { data: { label: undefined, verbalizer: undefined, target: ' {mood}' } },
      /^warning: .*exp\.ptune\.json:\d+: data\.target \(" \{mood\}"\) starts with a space/],
    ['a verbalizer label no record uses', { data: { verbalizer: { happy: 'happy', sad: 'sad', angry: 'angry' } } },
      /^warning: .*exp\.ptune\.json:\d+: data\.verbalizer\.angry: no record of .*train\.jsonl, .*test\.jsonl \(of the first 8 read, data\.maxExamples\) has the label "angry"; it is scored as a class anyway, which lowers every macro-F1/],
    ['patience without a dev split', { training: { patience: 2 } }, /^warning: .*exp\.ptune\.json:\d+: training\.patience is ignored: early stopping watches the dev split, and data\.dev is not set/],
    ['initText with another init', { softPrompt: { init: 'class-labels', initText: 'happy or sad' } }, /^warning: .*exp\.ptune\.json:\d+: softPrompt\.initText is ignored: softPrompt\.init is "class-labels"; set init to "text"/],
    ['initFile with another init', { softPrompt: { init: 'sampled-vocab', initFile: 'elsewhere' } }, /^warning: .*exp\.ptune\.json:\d+: softPrompt\.initFile is ignored: softPrompt\.init is "sampled-vocab"/],
  ];
  for (const [name, change, warning] of cases) {
    it(name, async () => {
      const spec = workspace(moodSpec(change));
      const logs: string[] = [];
      // said with the data read, before the model loads (the eval job stops at a missing test split otherwise)
      await runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [] }, (e) => { if (e.type === 'log') logs.push(e.message); });
      const warnings = logs.filter((l) => l.startsWith('warning: ') && !/label texts have/.test(l));
      if (warning === null) assert.deepEqual(warnings, []);
      else assert.ok(warnings.some((w) => warning.test(w)), warnings.join('\n') || 'no warning');
    });
  }
  it('the Problems view lists the same warnings at their fields', async () => {
    const { checkSpec } = await import('../src/common/spec-problems.js');
    const { problems } = await checkSpec(workspace(moodSpec({ data: { verbalizer: { happy: ' happy', sad: 'sad' } }, training: { patience: 2 } })));
    assert.deepEqual(problems.filter((p) => p.severity === 'warning').map((p) => p.field).sort(), ['data.verbalizer.happy', 'training.patience']);
  });
});

describe('data files read wrong without a word, now refused or said as they are', () => {
  const read = async (name: string, text: string, data: Record<string, unknown> = {}) => {
    const spec = workspace(baseSpec({ train: name, dev: name, text: '{story} It was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, ...data }), { [name]: text });
    return readSplit(loadSpec(spec), 'train');
  };
  const cases: [string, string, string, Record<string, unknown>, RegExp][] = [
    ['a CSV header naming a column twice', 'train.csv', 'story,mood,mood\nTom was glad.,happy,sad\n', {}, /train\.csv:1: the header names column "mood" twice \(columns 2 and 3\); each column needs its own name: rename one/],
    ['data.columns naming a column twice', 'train.csv', 'Tom was glad.,happy,sad\n', { header: false, columns: ['story', 'mood', 'mood'] }, /train\.csv: data\.columns names "mood" twice \(columns 2 and 3\)/],
    ['an unclosed quote after blank lines, at the quote\'s line', 'train.csv', 'story,mood\nTom was glad.,happy\n\n\n\n"Sue was sad.,sad\nLily,happy\nBen,sad\n', {}, /train\.csv:6: a quote opened in this record is never closed/],
    ['an unclosed quote in a later field', 'train.csv', 'story,mood\nTom was glad.,happy\nSue was sad.,"sad\nLily,happy\nBen,sad\n', {}, /train\.csv:3: a quote opened in this record is never closed/],
    ['an unclosed quote after a doubled one', 'train.csv', 'story,mood\n"Tom said ""hi"" and\nsmiled.",happy\n"Sue was sad.,sad\nLily,happy\n', {}, /train\.csv:4: a quote opened in this record is never closed/],
  ];
  for (const [name, file, text, data, message] of cases) it(name, async () => assert.rejects(() => read(file, text, data), message));

  it('a data path that is a folder says so', async () => {
    const spec = workspace(baseSpec({ train: 'sub' }), { 'sub/x.jsonl': '' });
    await assert.rejects(() => readSplit(loadSpec(spec), 'train'), /sub: is a folder, not a data file; name a JSONL, CSV or TSV file in it \(data\.train at .*exp\.ptune\.json:\d+\)/);
  });
  it('a data path that is a named pipe says so, without blocking on it', { timeout: 30_000 }, async (t) => {
    const spec = workspace(baseSpec({ train: 'pipe.jsonl' }));
    const fifo = join(spec, '..', 'pipe.jsonl');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('mkfifo is not available');
    await assert.rejects(() => readSplit(loadSpec(spec), 'train'), /pipe\.jsonl: is a named pipe \(FIFO\), not a regular file; data files are read more than once/);
  });
});

describe('run files of a newer schema version', () => {
  it('are refused by compare and eval --run, naming the file, even where eval.json and the adapter are older', async () => {
    const spec = workspace(moodSpec());
    const done = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, () => undefined);
    const file = join(done.runDir, 'run.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), schemaVersion: 99 }));
    const newer = /run\.json: schemaVersion 99 is newer than this version of Prompt Tuning Studio reads \(1\); update Prompt Tuning Studio to open this run/;
    const { comparisonRows } = await import('../src/tuning/reports/compare.js');
    assert.throws(() => comparisonRows([done.runDir]), newer);
    const events: string[] = [];
    await assert.rejects(runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [done.runDir] }, (e) => events.push(e.type)), newer);
    assert.ok(!events.includes('setup'), 'refused before the model loaded');
  });
});
