// The Accelerate export (files, job.json, the initial prompt, the batch order, scripts that parse)
// and the import of the run folder such a job writes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadSpec } from '../src/common/spec.js';
import { readSplit } from '../src/common/data.js';
import { readSafetensorsHeader, readTensorF32 } from '../src/common/safetensors.js';
import { writePeftAdapter } from '../src/common/peft-adapter.js';
import { listRuns } from '../src/common/run-folder.js';
import { importRunFolder } from '../src/common/job-import.js';
import { InputError } from '../src/common/errors.js';
import { openModel } from '../src/models/load.js';
import { initSoftPrompt } from '../src/tuning/prompts/prompt-init.js';
import { BatchSampler } from '../src/tuning/train/sampler.js';
import { SequenceEncoder } from '../src/tuning/prompts/encoding.js';
import { learningRateAt } from '../src/tuning/train/optimizers.js';
import { ACCELERATE_TEMPLATE_FILES, exportAccelerateJob, type JobFile } from '../src/tuning/jobs/export-job.js';
import { loadComparison } from '../src/extension/logic/comparison-data.js';
import { main } from '../src/cli/main.js';
import { root, tempDir } from './helpers.js';

const specFile = join(root, 'examples', 'mood', 'mood.ptune.json');

describe('export-job --to accelerate', () => {
  let out: string;
  let job: JobFile;
  before(async () => {
    out = join(tempDir('ptune-export-'), 'job');
    const code = await main(['export-job', specFile, '--to', 'accelerate', out]);
    assert.equal(code, 0);
    job = JSON.parse(readFileSync(join(out, 'job.json'), 'utf8'));
  });

  it('writes every file of the job', () => {
    for (const f of [...ACCELERATE_TEMPLATE_FILES, 'job.json', 'batches.json', 'init_prompt.safetensors']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'requirements.txt'), 'utf8'), /^peft==\d+\.\d+\.\d+$/m);
    assert.match(readFileSync(join(out, 'accelerate_config.yaml'), 'utf8'), /^distributed_type: MULTI_GPU$/m);
  });

  it('job.json holds the resolved experiment', async () => {
    const loaded = loadSpec(specFile);
    const t = loaded.spec.training;
    assert.equal(job.training.globalBatchSize, 16);
    assert.equal(job.training.steps, 300);
    assert.equal(job.training.seed, 0);
    assert.equal(job.training.evalEvery, 50);
    assert.equal(job.training.schedule, 'linear');
    assert.equal(job.training.optimizer, 'adafactor');
    assert.equal(job.training.weightDecay, t.weightDecay);
    assert.deepEqual(
      { ...job.training.adafactor },
      { scale_parameter: false, relative_step: false, warmup_init: false, clip_threshold: 1.0, decay_rate: -0.8, eps: [1e-30, 1e-3], factored: false },
    );
    assert.deepEqual(job.verbalizer, { happy: 'happy', sad: 'sad' });
    assert.equal(job.labelSeparator, ' ');
    assert.equal(job.evaluation.rankScoring, 'sum');
    assert.equal(job.evaluation.split, 'test');
    const train = await readSplit(loaded, 'train');
    const test = await readSplit(loaded, 'test');
    assert.equal(job.data.train.records.length, train.examples.length);
    assert.equal(job.data.test!.records.length, test.examples.length);
    assert.equal(job.data.dev!.records.length, (await readSplit(loaded, 'dev')).examples.length);
    const first = test.examples[0];
    assert.equal(job.data.test!.records[0].text, `${first.fields.story} In the end, everyone was`);
    assert.equal(job.data.test!.records[0].discrete!.question, `${first.fields.story} Was the story happy or sad? It was`);
    // the 4-shot prompt holds four demonstrations with their labels, then the query
    assert.equal(job.data.test!.records[0].discrete!['4-shot'].split(' In the end, everyone was').length, 6);
    assert.equal(job.model.hiddenSize, 64);
    assert.ok(job.model.path && existsSync(join(job.model.path, 'tokenizer.json')));
  });

  it('init_prompt.safetensors is initSoftPrompt exactly', async () => {
    const loaded = loadSpec(specFile);
    const lm = await openModel(job.model.path!);
    const expected = initSoftPrompt(lm, loaded, loaded.spec.training.seed);
    const entry = readSafetensorsHeader(join(out, 'init_prompt.safetensors')).tensors.get('prompt_embeddings')!;
    assert.deepEqual(entry.shape, [20, 64]);
    assert.equal(entry.dtype, 'F32');
    assert.deepEqual(Array.from(readTensorF32(entry)), Array.from(expected.data));
  });

  it('batches.json is the sampler\'s batch order', async () => {
    const loaded = loadSpec(specFile);
    const train = await readSplit(loaded, 'train');
    const batches: number[][] = JSON.parse(readFileSync(join(out, 'batches.json'), 'utf8'));
    assert.equal(batches.length, 300);
    const sampler = new BatchSampler(train.examples, 16, 0, 'balanced');
    for (let step = 0; step < 20; step++) assert.deepEqual(batches[step], sampler.batch(step).map((e) => e.index), `step ${step}`);
  });

  it('train.py compiles and the scripts parse', () => {
    execFileSync('python3', ['-c', 'import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', join(out, 'train.py'), join(tempDir(), 'train.pyc')]);
    execFileSync('bash', ['-n', join(out, 'launch.sh')]);
    execFileSync('bash', ['-n', join(out, 'job.sbatch')]);
  });

  it('train.py encodes, schedules and scores as the local engine', async () => {
    // the Python SequenceEncoder against ours, with the tokenizer's own ids handed over, at a
    // short context so left truncation keeping BOS is exercised
    const lm = await openModel(job.model.path!);
    const tok = lm.tokenizer!;
    const context = 40;
    const ours = new SequenceEncoder(tok, context);
    const cases = job.data.test!.records.slice(0, 6).flatMap((r) => ['happy', 'sad'].map((l) => ({ prompt: r.text, target: ` ${l}`, soft: 20 })));
    cases.push({ prompt: 'Tom', target: ' sad', soft: 0 });
    const ids: Record<string, number[]> = {};
    const plain: Record<string, number[]> = {};
    for (const c of cases) {
      for (const s of [c.prompt, c.prompt + c.target]) ids[s] = tok.encode(s);
      for (const s of ['a', `a${c.target}`]) plain[s] = tok.encode(s, { addSpecialTokens: false });
    }
    const encoded = cases.map((c) => ours.withTarget(c.prompt, c.target, c.soft));
    const expected = encoded.map((e, k) => ({ ids: e.ids, targetStart: e.targetStart, target: ours.targetIds(cases[k].target) }));
    const lrs = [0, 1, 5, 9].map((s) => learningRateAt(s, 10, 0.3, 'warmup-linear', 3));
    const dir = tempDir();
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ cases, ids, plain, bos: tok.bosTokenId, context }));
    const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
import train
d = json.load(open(sys.argv[2]))
class Tok:
    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": list((d["ids"] if add_special_tokens else d["plain"])[text])}
enc = train.SequenceEncoder(Tok(), d["context"], d["bos"])
rows = [dict(zip(("ids", "targetStart"), enc.with_target(c["prompt"], c["target"], c["soft"])), target=enc.target_ids(c["target"])) for c in d["cases"]]
lrs = [train.learning_rate_at(s, 10, 0.3, "warmup-linear", 3) for s in (0, 1, 5, 9)]
m = train.classification_metrics(["a", "b"], [0, 1, 1], [0, 0, 1], [[-1, -2], [-1, -3], [-4, -1]])
print(json.dumps({"rows": rows, "lrs": lrs, "metrics": m, "truncated": enc.truncated}))
`;
    const py = JSON.parse(execFileSync('python3', ['-c', script, out, join(dir, 'cases.json')], { encoding: 'utf8' }));
    assert.deepEqual(py.rows, expected);
    assert.ok(py.truncated > 0, 'some cases must be truncated');
    assert.equal(py.truncated, encoded.filter((e) => e.truncated).length);
    assert.deepEqual(py.lrs, lrs);
    const { classificationMetrics } = await import('../src/tuning/evaluate/metrics.js');
    assert.deepEqual(py.metrics, classificationMetrics(['a', 'b'], [0, 1, 1], [0, 0, 1], [[-1, -2], [-1, -3], [-4, -1]]));
  });
});

/** A run folder as the exported job writes it: discrete and soft results on two test records. */
function jobRunFolder(dataFile: string): string {
  const dir = join(tempDir('ptune-jobrun-'), 'run');
  mkdirSync(dir, { recursive: true });
  const spec = loadSpec(specFile).spec;
  const now = new Date().toISOString();
  writeFileSync(join(dir, 'run.json'), JSON.stringify({
    id: 'run', name: 'mood', specFile, spec, engine: 'accelerate', model: { id: 'org/big-model', folder: 'org/big-model', revision: null, files: {} },
    seed: 0, device: 'accelerate: 8 x cuda (NVIDIA H100) bf16', status: 'completed', createdAt: now, updatedAt: now, step: 300, steps: 300, bestStep: 250, bestDevAccuracy: 0.97,
  }));
  const result = (id: string, kind: string, accuracy: number) => ({ id, kind, taskParameters: kind === 'soft' ? 1280 : 0, count: 2, accuracy, macroF1: accuracy, confusion: [[1, 0], [1 - accuracy * 2 + 1, accuracy * 2 - 1]], nll: 0.5, predictedRate: { happy: 0.5, sad: 0.5 }, auc: 1 });
  writeFileSync(join(dir, 'eval.json'), JSON.stringify({ split: 'test', file: dataFile, labels: ['happy', 'sad'], verbalizer: { happy: 'happy', sad: 'sad' }, results: [result('zero-shot', 'discrete', 0.5), result('soft', 'soft', 1)], truncated: 0 }));
  const prediction = (promptId: string, kind: string, line: number, gold: string, prediction: string) => ({ index: line - 1, line, promptId, kind, gold, prediction, correct: gold === prediction, scores: { happy: -1, sad: prediction === 'sad' ? -0.5 : -2 } });
  writeFileSync(join(dir, 'predictions.jsonl'), [
    prediction('zero-shot', 'discrete', 1, 'sad', 'happy'), prediction('zero-shot', 'discrete', 2, 'happy', 'happy'),
    prediction('soft', 'soft', 1, 'sad', 'sad'), prediction('soft', 'soft', 2, 'happy', 'happy'),
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'metrics.jsonl'), [{ step: 0, split: 'dev', devAccuracy: 0.6, devNll: 2, devMacroF1: 0.5 }, { step: 1, loss: 1.8, learningRate: 0.3, gradNorm: 0.1, examplesPerSecond: 900 }].map((r) => JSON.stringify(r)).join('\n') + '\n');
  writePeftAdapter(dir, { length: 20, dim: 64, data: new Float32Array(20 * 64).fill(0.01) }, {
    task_type: 'CAUSAL_LM', base_model_name_or_path: 'org/big-model', num_transformer_submodules: 1, num_attention_heads: 8, num_layers: 5,
    prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, tokenizer_name_or_path: null,
  });
  return dir;
}

describe('import-job', () => {
  const dataFile = join(root, 'data', 'mood', 'test.jsonl');

  it('makes the job\'s run folder a run the tree lists and the comparison reads', async () => {
    const runs = join(tempDir('ptune-runs-'), 'runs');
    const source = jobRunFolder(dataFile);
    assert.equal(await main(['import-job', source, '--runs-dir', runs]), 0);
    const listed = listRuns(runs);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].record.status, 'completed');
    assert.equal((listed[0].record as unknown as { importedFrom: string }).importedFrom, source);
    const data = (await loadComparison([listed[0].dir])).data;
    assert.deepEqual(data.prompts.map((p) => [p.id, p.kind, p.accuracy]), [['zero-shot', 'discrete', 0.5], ['soft', 'soft', 1]]);
    assert.equal(data.examples.length, 2);
    assert.equal(data.examples[0].cells.soft.prediction, 'sad');
    assert.ok(data.examples[0].input.length > 0, 'the example text is read from the data file');
    assert.deepEqual(data.curves[0].loss, [[1, 1.8]]);
  });

  it('refuses a folder with a bad field, naming the file and the field', () => {
    const runs = join(tempDir('ptune-runs-'), 'runs');
    const bad = jobRunFolder(dataFile);
    const ev = JSON.parse(readFileSync(join(bad, 'eval.json'), 'utf8'));
    ev.results[1].accuracy = 'high';
    writeFileSync(join(bad, 'eval.json'), JSON.stringify(ev));
    assert.throws(() => importRunFolder(bad, runs), (e: unknown) => e instanceof InputError && e.message.includes(join(bad, 'eval.json')) && e.message.includes('results.1.accuracy') && e.location?.field === 'results.1.accuracy');
    const noStatus = jobRunFolder(dataFile);
    const record = JSON.parse(readFileSync(join(noStatus, 'run.json'), 'utf8'));
    delete record.status;
    writeFileSync(join(noStatus, 'run.json'), JSON.stringify(record));
    assert.throws(() => importRunFolder(noStatus, runs), /run\.json: status is missing/);
    const badLine = jobRunFolder(dataFile);
    writeFileSync(join(badLine, 'predictions.jsonl'), `${readFileSync(join(badLine, 'predictions.jsonl'), 'utf8')}{"index":5,"line":6,"promptId":"soft","gold":"angry","prediction":"sad","correct":false}\n`);
    assert.throws(() => importRunFolder(badLine, runs), /predictions\.jsonl:5: gold is "angry"; expected one of happy, sad/);
    assert.equal(listRuns(runs).length, 0, 'nothing is imported from a refused folder');
  });

  it('export refuses what the job does not do, at the spec line', async () => {
    const dir = tempDir();
    const spec = JSON.parse(readFileSync(specFile, 'utf8'));
    spec.model = join(root, 'models', 'stories260K');
    for (const k of ['train', 'dev', 'test'] as const) spec.data[k] = join(root, 'data', 'mood', `${k}.jsonl`);
    spec.evaluation = { ensembles: [{ id: 'e', prompts: ['a', 'b'] }] };
    delete spec.$schema;
    const file = join(dir, 'e.ptune.json');
    writeFileSync(file, JSON.stringify(spec, null, 2));
    await assert.rejects(exportAccelerateJob(file, join(dir, 'out')), (e: unknown) => e instanceof InputError && e.location?.field === 'evaluation.ensembles');
    assert.ok(!existsSync(join(dir, 'out')), 'nothing is written');
  });
});
