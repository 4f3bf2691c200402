// The paper's comparisons: the model-tuning baseline, the scaling ablation with its chart, and
// mixed-task batches.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gradcheckWeights } from '../src/tuning/train/gradcheck.js';
import { GRADCHECK_VARIANTS } from '../src/models/random-model.js';
import { RunDir } from '../src/common/run-folder.js';
import { estimateModelTuningMemory } from '../src/tuning/train/model-tuning.js';
import { randomCheckpoint, root, storiesDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';

const mood = (name: string) => join(root, 'data', 'mood', name);
const spec = (extra: Record<string, unknown> = {}) => ({
  name: 'mood', model: storiesDir,
  data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), test: mood('test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 48 },
  discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
  softPrompt: { length: 4 },
  training: { steps: 20, batchSize: 8, evalEvery: 10, sampling: 'balanced', schedule: 'linear' },
  modelTuning: { steps: 20, batchSize: 8 },
  evaluation: { generation: false },
  ...extra,
});

describe('model tuning', () => {
  for (const variant of GRADCHECK_VARIANTS.filter((v) => ['llama-gqa-tied', 'llama-attention-bias', 'gpt2', 't5-relu-tied'].includes(v.name))) {
    it(`${variant.name}: weight gradients match finite differences (float64)`, async () => {
      const r = await gradcheckWeights(variant);
      assert.ok(r.maxRelError < 1e-5, `${r.name}: ${r.maxRelError}`);
    });
  }
  it('trains every weight, saves a loadable model, and reports parameter counts', async () => {
    const summary = await runJob({ kind: 'model-tune', specFile: workspace(spec()), device: 'cpu' }, () => undefined);
    assert.equal(summary.status, 'completed');
    assert.deepEqual(summary.results.map((r) => r.kind), ['model']);
    const run = RunDir.open(summary.runDir);
    for (const f of ['model/config.json', 'model/model.safetensors', 'model/tokenizer.json', 'eval.json', 'predictions.jsonl', 'metrics.jsonl']) assert.ok(run.has(f), f);
    const ev = run.readEval();
    assert.equal(ev.results[0].taskParameters, 260032 - 0); // stories260K: every weight is task-specific
    // the saved folder is a model like any other
    const out = JSON.parse(execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'generate', '--model', run.path('model'), '--prompt', 'Once upon a time', '--max-new-tokens', '4', '--json'], { encoding: 'utf8' }));
    assert.equal(out.ids.length, 9);
  });
  it('tunes a T5 model too (encoder-decoder), saving a model folder that loads', async () => {
    const files = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
    const t5 = randomCheckpoint({ model_type: 't5', d_model: 16, d_kv: 4, d_ff: 24, num_layers: 1, num_heads: 4, vocab_size: 512, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, scale_decoder_outputs: false, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 2 }, storiesDir, files, 4, 0.2);
    const evals: number[] = [];
    const summary = await runJob({ kind: 'model-tune', specFile: workspace(spec({ model: t5, modelTuning: { steps: 20, batchSize: 8, learningRate: 0.01, optimizer: 'adam' } })), device: 'cpu' }, (e) => { if (e.type === 'eval') evals.push(e.nll); });
    assert.equal(summary.results[0].kind, 'model');
    assert.ok(evals[evals.length - 1] < evals[0], evals.join(' -> '));
    const out = JSON.parse(execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'generate', '--model', RunDir.open(summary.runDir).path('model'), '--prompt', 'Once upon a time', '--max-new-tokens', '3', '--json'], { encoding: 'utf8' }));
    assert.ok(out.ids.length > 5);
  });
  it('refuses with a clear message when it would not fit in memory', () => {
    const est = estimateModelTuningMemory(70e9, { hiddenSize: 8192, numLayers: 80, vocabSize: 128256 }, 32, 512);
    assert.equal(est.fits, false);
    assert.match(est.detail, /MB for weights, gradients and Adam moments \(70,000,000,000 parameters\)/);
  });
});

describe('model-scaling ablation', () => {
  it('ptune scale over three model sizes writes the points and the chart', async () => {
    const files = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
    const models = [16, 32, 48].map((d, i) => randomCheckpoint({ model_type: 'llama', hidden_size: d, intermediate_size: 2 * d, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 512, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2 }, storiesDir, files, i + 1, 0.2));
    const specFile = workspace(spec({ training: { steps: 6, batchSize: 4, evalEvery: 6 }, modelTuning: { steps: 6, batchSize: 4 } }));
    const out = execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'scale', specFile, '--models', models.join(','), '--json'], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(result.points.length, 3);
    for (const p of result.points) {
      for (const k of ['model', 'params', 'promptDesign', 'promptTuning', 'modelTuning']) assert.ok(k in p, k);
      assert.ok(p.promptTuning >= 0 && p.promptTuning <= 1 && p.modelTuning >= 0 && p.promptDesign >= 0);
    }
    assert.ok(result.points[0].params < result.points[1].params && result.points[1].params < result.points[2].params);
    const svg = readFileSync(join(result.runDir, 'scale.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 3);
    assert.ok(existsSync(join(result.runDir, 'scale.json')));
    // the comparison panel shows it
    const { loadComparison } = await import('../src/extension/logic/comparison-data.js');
    const data = (await loadComparison([result.runDir])).data;
    assert.equal(data.scale![0].points.length, 3);
    assert.match(data.scale![0].svg, /^<svg /);
  });
});

describe('mixed-task batches', () => {
  it('scores every task exactly as running it alone, and the CLI serves them together', async () => {
    const { Evaluator } = await import('../src/tuning/evaluate/evaluate.js');
    const { evaluateMixed } = await import('../src/tuning/evaluate/mixed.js');
    const { readSplit } = await import('../src/common/data.js');
    const { loadSpec } = await import('../src/common/spec.js');
    const { readSoftPromptSource } = await import('../src/common/run-folder.js');
    const { LanguageModel } = await import('../src/models/language-model.js');
    const { openModel } = await import('../src/models/load.js');
    const specA = workspace(spec({ name: 'moodA', training: { steps: 6, batchSize: 4, evalEvery: 6 } }));
    const specB = workspace(spec({ name: 'moodB', data: { ...spec().data, text: '{story} The story was', verbalizer: { happy: 'good', sad: 'bad' } }, training: { steps: 6, batchSize: 4, evalEvery: 6, seed: 3 } }));
    const a = await runJob({ kind: 'train', specFile: specA, device: 'cpu' }, () => undefined);
    const b = await runJob({ kind: 'train', specFile: specB, device: 'cpu' }, () => undefined);
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const tasks: import('../src/tuning/evaluate/mixed.js').MixedTask[] = [];
    for (const [file, run] of [[specA, a.runDir], [specB, b.runDir]]) {
      const loaded = loadSpec(file);
      tasks.push({ id: loaded.spec.name, evaluator: new Evaluator(lm, loaded.spec), split: await readSplit(loaded, 'test'), prompt: readSoftPromptSource(run, 64) });
    }
    const mixed = await evaluateMixed(lm, tasks, 8);
    for (const [k, t] of tasks.entries()) {
      const alone = await t.evaluator.evaluate(t.evaluator.prompts.soft(t.id, t.prompt), t.split, { batchSize: 8, generation: false });
      assert.deepEqual(mixed.results[k].predictions.map((p) => p.prediction), alone.predictions.map((p) => p.prediction));
      mixed.results[k].predictions.forEach((p, i) => {
        for (const label of Object.keys(p.scores)) assert.ok(Math.abs(p.scores[label] - alone.predictions[i].scores[label]) < 1e-4, `${t.id} #${i} ${label}`);
      });
      assert.equal(mixed.results[k].result.accuracy, alone.result.accuracy);
    }
    await lm.dispose();
    // in float64 the mixed batches give exactly the scores of each task alone (float32 differs
    // in the last bits only because padding changes the summation lengths)
    const { readModelConfig } = await import('../src/models/config.js');
    const { readCheckpoint, readTensorF32 } = await import('../src/common/safetensors.js');
    const { ArrayWeights } = await import('../src/models/weights.js');
    const { buildModel } = await import('../src/models/architectures.js');
    const { loadTokenizer } = await import('../src/models/tokenizer.js');
    const arrays = new Map([...readCheckpoint(storiesDir)].map(([n, e]) => [n, { shape: e.shape, data: Float64Array.from(readTensorF32(e)) }]));
    const lm64 = new LanguageModel(buildModel(readModelConfig(storiesDir), new ArrayWeights(storiesDir, arrays)), await loadTokenizer(storiesDir), { floatType: 'float64' });
    const tasks64 = tasks.map((t) => ({ ...t, evaluator: new Evaluator(lm64, t.evaluator.spec) }));
    const mixed64 = await evaluateMixed(lm64, tasks64, 8);
    for (const [k, t] of tasks64.entries()) {
      const alone = await evaluateMixed(lm64, [t], 8);
      mixed64.results[k].predictions.forEach((p, i) => {
        for (const label of Object.keys(p.scores)) assert.ok(Math.abs(p.scores[label] - alone.results[0].predictions[i].scores[label]) < 1e-12, `float64 ${t.id} #${i}`);
      });
    }
    await lm64.dispose();
    const out = JSON.parse(execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'eval-mixed', '--task', `${specA}=${a.runDir}`, '--task', `${specB}=${b.runDir}`, '--json'], { encoding: 'utf8' }));
    assert.deepEqual(out.tasks.map((t: { task: string }) => t.task), ['moodA', 'moodB']);
    assert.equal(out.tasks[0].accuracy, mixed.results[0].result.accuracy);
  });
});

describe('two-stage prompting', () => {
  const pipeline = { id: 'recap-then-mood', stage1: { template: '{story} What happened next?', maxNewTokens: 12 }, stage2: { template: '{story} {stage1} In the end, everyone was' } };
  it('a pipeline is evaluated and compared like any prompt, with both stages in the predictions', async () => {
    const specFile = workspace(spec({ pipelines: [pipeline], training: { steps: 4, batchSize: 4, evalEvery: 4 } }));
    const summary = await runJob({ kind: 'train', specFile, device: 'cpu' }, () => undefined);
    assert.deepEqual(summary.results.map((r) => r.kind), ['discrete', 'soft', 'pipeline', 'pipeline-stage1']);
    const rows = RunDir.open(summary.runDir).readPredictions().filter((r) => r.promptId === 'recap-then-mood');
    assert.equal(rows.length, 48);
    assert.ok(rows.every((r) => typeof r.stage1 === 'string'));
    assert.ok(rows.filter((r) => r.stage1!.length > 0).length > rows.length / 2, 'stage one produced text');
  });
  it('stage one alone is reported beside its pipeline: the share of first-stage texts that name the gold label', async () => {
    // a first stage that asks for the mood itself, so its texts name a label often enough to count
    const moodFirst = { id: 'mood-then-check', stage1: { template: '{story} In the end, everyone was', maxNewTokens: 4 }, stage2: { template: '{story} Everyone was {stage1}. In the end, everyone was' } };
    const specFile = workspace(spec({ pipelines: [pipeline, moodFirst], training: { steps: 2, batchSize: 4, evalEvery: 2 } }));
    const summary = await runJob({ kind: 'train', specFile, device: 'cpu' }, () => undefined);
    assert.deepEqual(summary.results.map((r) => r.id), ['zero-shot', 'soft', 'recap-then-mood', 'recap-then-mood/stage1', 'mood-then-check', 'mood-then-check/stage1']);
    const run = RunDir.open(summary.runDir);
    const results = run.readEval().results;
    const predictions = run.readPredictions();
    const verbalizer: Record<string, string> = { happy: 'happy', sad: 'sad' };
    // a label is named when the text starts with it as a whole word (case aside)
    const names = (text: string, label: string) => new RegExp(`^${verbalizer[label]}(?![\\p{L}\\p{N}_])`, 'iu').test(text.trim());
    let counted = 0;
    for (const id of ['recap-then-mood', 'mood-then-check']) {
      const row = results.find((r) => r.id === `${id}/stage1`)!;
      assert.equal(row.kind, 'pipeline-stage1');
      assert.equal(row.nll, null, 'a generation scores no label: no NLL');
      assert.equal(row.auc, null);
      assert.equal(row.exactMatch, row.accuracy);
      const rows = predictions.filter((p) => p.promptId === `${id}/stage1`);
      assert.equal(rows.length, 48);
      assert.ok(rows.every((r) => r.kind === 'pipeline-stage1' && r.scores === null && typeof r.stage1 === 'string'));
      // the first-stage text of each example is the one its pipeline's second stage saw
      const stage2 = new Map(predictions.filter((p) => p.promptId === id).map((p, k) => [k, p.stage1]));
      rows.forEach((r, k) => assert.equal(r.stage1, stage2.get(k)));
      const named = rows.filter((r) => names(r.stage1!, r.gold)).length;
      assert.equal(row.accuracy, named / rows.length, `${id}: ${rows.slice(0, 6).map((r) => JSON.stringify(r.stage1)).join(', ')}`);
      // a text naming no label is wrong, never a guess
      assert.ok(rows.every((r) => r.correct === (r.prediction === r.gold) && (r.prediction === '' || names(r.stage1!, r.prediction))));
      counted += named;
    }
    assert.ok(counted > 0, 'some first-stage texts name the gold label');
  });
  it('a soft prompt tuned as stage two (stage one fixed) lowers the dev loss', async () => {
    const evals: number[] = [];
    const specFile = workspace(spec({ pipelines: [pipeline], softPrompt: { length: 4, stage1: 'recap-then-mood', template: '{story} {stage1} In the end, everyone was' }, training: { steps: 20, batchSize: 8, evalEvery: 10, sampling: 'balanced', schedule: 'linear' } }));
    await runJob({ kind: 'train', specFile, device: 'cpu' }, (e) => { if (e.type === 'eval') evals.push(e.nll); });
    assert.ok(evals[evals.length - 1] < evals[0], evals.join(' -> '));
  });
  it('a soft prompt tuned as stage one (stage two fixed, policy gradient) is compared inside its pipeline', async () => {
    const rewards: number[] = [];
    const specFile = workspace(spec({ pipelines: [pipeline], softPrompt: { length: 4, stageOneOf: 'recap-then-mood', init: 'sampled-vocab' }, training: { steps: 4, batchSize: 4, evalEvery: 2 } }));
    const summary = await runJob({ kind: 'train', specFile, device: 'cpu' }, (e) => { if (e.type === 'progress') rewards.push(-e.loss); });
    assert.equal(rewards.length, 4);
    assert.ok(rewards.every((r) => Number.isFinite(r) && r <= 0), rewards.join(', '));
    assert.deepEqual(summary.results.map((r) => r.id), ['zero-shot', 'recap-then-mood', 'recap-then-mood/stage1', 'recap-then-mood+soft', 'recap-then-mood+soft/stage1']);
    const stored = RunDir.open(summary.runDir).readEval().results;
    assert.equal(stored.find((r) => r.id === 'recap-then-mood+soft')!.taskParameters, 4 * 64);
    assert.equal(stored.find((r) => r.id === 'recap-then-mood+soft/stage1')!.taskParameters, 4 * 64);
  });
  it('a stage-two template without {stage1} is refused', async () => {
    const { loadSpec } = await import('../src/common/spec.js');
    assert.throws(() => loadSpec(workspace(spec({ pipelines: [{ ...pipeline, stage2: { template: '{story} was' } }] }))), /pipelines\.0\.stage2\.template must use \{stage1\}/);
  });
});
