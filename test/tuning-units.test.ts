// Units of the tuning code: optimisers and schedules, metrics, prompt initialisation, truncation,
// early stopping, ensembles, and the trainer's exit when its parent dies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSession, deviceFailure } from '../src/engine/runtime.js';
import { Graph } from '../src/engine/graph.js';
import type { LanguageModel } from '../src/models/language-model.js';
import { openModel } from '../src/models/load.js';
import { continuationIds } from '../src/models/tokenizer.js';
import { frequencyRankedTokens } from '../src/models/token-ranking.js';
import { SequenceEncoder } from '../src/tuning/prompts/encoding.js';
import { labelOfGenerated, lengthBatches } from '../src/tuning/evaluate/evaluate.js';
import { PASS_OVERHEAD_POSITIONS } from '../src/models/one-graph-model.js';
import { formatComparison } from '../src/tuning/reports/compare.js';
import { auc, classificationMetrics, majorityVote, oneVsRestAuc, wilsonInterval } from '../src/tuning/evaluate/metrics.js';
import { Adafactor, Adam, clipGradient, learningRateAt } from '../src/tuning/train/optimizers.js';
import { initSoftPrompt } from '../src/tuning/prompts/prompt-init.js';
import { loadSpec } from '../src/common/spec.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { runScale } from '../src/tuning/jobs/scale.js';
import { terminalReporter } from '../src/cli/jobs.js';
import { t5CheckpointWarning } from '../src/tuning/jobs/prepare.js';

const mood = (name: string) => join(root, 'data', 'mood', name);
const moodSpec = (extra: Record<string, unknown> = {}) => ({
  name: 'mood', model: storiesDir,
  data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 24 },
  softPrompt: { length: 4 },
  training: { steps: 8, batchSize: 4, evalEvery: 2 },
  evaluation: { generation: false },
  ...extra,
});

describe('optimisers and schedules', () => {
  it('Adam takes the bias-corrected first step lr * sign(g)', () => {
    const p = new Float32Array([1, -2, 3]);
    new Adam(3).step(p, [0.5, -0.25, 2], 0.1);
    assert.deepEqual(Array.from(p, (v) => +v.toFixed(5)), [0.9, -1.9, 2.9]);
  });
  it('Adafactor: first update has RMS lr (update clipping at 1) and follows the gradient sign', () => {
    const p = new Float32Array(6).fill(0);
    const g = [1, 2, 3, -1, -2, -3];
    new Adafactor(2, 3).step(p, g, 0.3);
    const rms = Math.sqrt(Array.from(p).reduce((s, v) => s + v * v, 0) / 6);
    assert.ok(Math.abs(rms - 0.3) < 1e-6, `rms ${rms}`);
    p.forEach((v, i) => assert.equal(Math.sign(v), -Math.sign(g[i])));
  });
  it('Adafactor factors the second moment as t5x does: only when both dimensions are at least 128; parameter scaling for model tuning', () => {
    assert.equal(new Adafactor(20, 512).factored, false);
    assert.equal(new Adafactor(1, 4096).factored, false);
    assert.equal(new Adafactor(128, 512).factored, true);
    // kept whole, the first step is lr x sign(g) (v = g^2 at step 1)
    const p = new Float32Array(6);
    new Adafactor(2, 3).step(p, [1, 2, 3, -1, -2, -0.5], 0.3);
    assert.deepEqual(Array.from(p).map((v) => +v.toFixed(6)), [-0.3, -0.3, -0.3, 0.3, 0.3, 0.3]);
    // multiplied by the parameters' RMS (2 here)
    const q = new Float32Array(6).fill(2);
    new Adafactor(2, 3, { multiplyByParameterScale: true }).step(q, [1, 1, 1, 1, 1, 1], 0.1);
    assert.ok(q.every((v) => Math.abs(v - 1.8) < 1e-6), String(q));
    // factored: the first update still has RMS lr
    const big = new Float32Array(128 * 130);
    new Adafactor(128, 130).step(big, Array.from({ length: big.length }, (_, i) => Math.sin(i) + 0.1), 0.3);
    const rms = Math.sqrt(big.reduce((s, v) => s + v * v, 0) / big.length);
    assert.ok(Math.abs(rms - 0.3) < 1e-5, `rms ${rms}`);
    assert.throws(() => new Adafactor(2, 2).load({ step: 3, tensors: { row: new Float32Array(2), col: new Float32Array(2) } }), /holds row, col, not v: .*start a new run/);
  });
  it('optimiser state round-trips (the resume path)', () => {
    const a = new Adafactor(2, 2);
    const p = new Float32Array([1, 2, 3, 4]);
    a.step(p, [0.1, 0.2, 0.3, 0.4], 0.3);
    const b = new Adafactor(2, 2);
    b.load(a.state());
    const pa = Float32Array.from(p), pb = Float32Array.from(p);
    a.step(pa, [0.3, 0.1, 0.2, 0.1], 0.3);
    b.step(pb, [0.3, 0.1, 0.2, 0.1], 0.3);
    assert.deepEqual(pa, pb);
  });
  it('schedules: constant, linear decay to 0, warm-up', () => {
    assert.equal(learningRateAt(50, 100, 0.3, 'constant', 0), 0.3);
    assert.ok(Math.abs(learningRateAt(50, 100, 0.3, 'linear', 0) - 0.15) < 1e-12);
    assert.ok(Math.abs(learningRateAt(4, 100, 0.3, 'warmup', 10) - 0.15) < 1e-12);
    assert.equal(learningRateAt(20, 100, 0.3, 'warmup', 10), 0.3);
    assert.ok(Math.abs(learningRateAt(55, 100, 0.3, 'warmup-linear', 10) - 0.15) < 1e-12);
  });
  it('clips the gradient to a global norm', () => {
    const g = new Float32Array([3, 4]);
    assert.equal(clipGradient(g, 1), 5);
    assert.ok(Math.abs(Math.hypot(g[0], g[1]) - 1) < 1e-6);
  });
});

describe('metrics', () => {
  it('accuracy, macro-F1, confusion, NLL, predicted rate, AUC', () => {
    const m = classificationMetrics(['a', 'b'], [0, 0, 1, 1], [0, 1, 1, 1], [[-0.1, -2], [-1, -0.5], [-3, -0.1], [-2, -0.2]]);
    assert.equal(m.accuracy, 0.75);
    assert.deepEqual(m.confusion, [[1, 1], [0, 2]]);
    assert.ok(Math.abs(m.macroF1 - (2 / 3 + 0.8) / 2) < 1e-12);
    assert.ok(Math.abs(m.nll - (0.1 + 1 + 0.1 + 0.2) / 4) < 1e-12);
    assert.deepEqual(m.predictedRate, { a: 0.25, b: 0.75 });
    assert.equal(m.auc, 1);
    assert.equal(auc([0, 1, 0, 1], [1, 1, 1, 1]), 0.5);
    // a NaN score once made this loop forever (eval hung at 100% CPU)
    assert.equal(auc([0, 1, 0, 1], [0.1, NaN, 0.3, 0.2]), null);
    assert.equal(auc([0, 1, 0, 1], [-Infinity, Infinity, -Infinity, Infinity]), 1);
  });
  it('per-class precision, recall and F1; a -1 prediction is a miss of its gold class and no class\'s false positive', () => {
    // gold a a a b b c, predicted a b (none) b c c; confusion rows a [1 1 0], b [0 1 1], c [0 0 1]
    // a: tp 1 fp 0 fn 2 -> P 1, R 1/3, F1 2/(2+0+2) = 1/2
    // b: tp 1 fp 1 fn 1 -> P 1/2, R 1/2, F1 2/(2+1+1) = 1/2
    // c: tp 1 fp 1 fn 0 -> P 1/2, R 1, F1 2/(2+1+0) = 2/3
    const m = classificationMetrics(['a', 'b', 'c'], [0, 0, 0, 1, 1, 2], [0, 1, -1, 1, 2, 2], [0, 0, 0, 0, 0, 0].map(() => [-1, -1, -1]));
    assert.deepEqual(m.confusion, [[1, 1, 0], [0, 1, 1], [0, 0, 1]]);
    assert.equal(m.accuracy, 0.5);
    const expected = [
      { label: 'a', precision: 1, recall: 1 / 3, f1: 1 / 2, support: 3 },
      { label: 'b', precision: 1 / 2, recall: 1 / 2, f1: 1 / 2, support: 2 },
      { label: 'c', precision: 1 / 2, recall: 1, f1: 2 / 3, support: 1 },
    ];
    assert.equal(m.perClass!.length, 3);
    m.perClass!.forEach((k, c) => {
      const e = expected[c];
      assert.equal(k.label, e.label);
      assert.equal(k.support, e.support);
      for (const f of ['precision', 'recall', 'f1'] as const) assert.ok(Math.abs(k[f] - e[f]) < 1e-12, `${e.label} ${f}: ${k[f]} vs ${e[f]}`);
    });
    assert.ok(Math.abs(m.macroF1 - (1 / 2 + 1 / 2 + 2 / 3) / 3) < 1e-12);
    // a class never predicted and never gold: precision and recall 0, not NaN
    const none = classificationMetrics(['a', 'b', 'c'], [0, 1], [0, 1], [[0, -1, -2], [-1, 0, -2]]).perClass![2];
    assert.deepEqual(none, { label: 'c', precision: 0, recall: 0, f1: 0, support: 0 });
  });
  it('multi-class AUC: one class against the rest, macro-averaged; null where a class has no positives', () => {
    // label probabilities per example, gold 0 0 1 1 2 2:
    //   [.7 .2 .1] [.3 .4 .3] [.2 .6 .2] [.5 .3 .2] [.1 .25 .65] [.2 .2 .6]
    // class 0: positives .7 .3 over negatives .2 .5 .1 .2 -> 4 + 3 of 8 pairs = 7/8
    // class 1: positives .6 .3 over negatives .2 .4 .25 .2 -> 4 + 3 of 8 = 7/8
    // class 2: positives .65 .6 over negatives .1 .3 .2 .2 -> 8 of 8 = 1
    // macro (7/8 + 7/8 + 1) / 3 = 11/12
    const probs = [[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.6, 0.2], [0.5, 0.3, 0.2], [0.1, 0.25, 0.65], [0.2, 0.2, 0.6]];
    // label log-likelihoods are not normalised over labels: each row shifted by its own constant
    // leaves every class's log-odds, and so the AUC, as it is (ranking raw scores would not)
    const scores = probs.map((row, i) => row.map((p) => Math.log(p) - 3 * i));
    const gold = [0, 0, 1, 1, 2, 2];
    assert.ok(Math.abs(oneVsRestAuc(gold, scores)! - 11 / 12) < 1e-12);
    const m = classificationMetrics(['a', 'b', 'c'], gold, [0, 1, 1, 0, 2, 2], scores);
    assert.ok(Math.abs(m.auc! - 11 / 12) < 1e-12);
    // no example of c: its AUC, and so the macro one, is undefined
    assert.equal(classificationMetrics(['a', 'b', 'c'], [0, 0, 1, 1], [0, 1, 1, 0], scores.slice(0, 4)).auc, null);
    // binary tasks keep the margin of the second label over the first
    assert.equal(classificationMetrics(['a', 'b'], [0, 1], [0, 1], [[0, -1], [-1, 0]]).auc, 1);
  });
  it('95% Wilson score interval of the accuracy', () => {
    // 95/100, z = 1.959964, z^2/n = 0.0384146:
    // centre (0.95 + 0.0192073) / 1.0384146 = 0.933353
    // half 1.959964 / 1.0384146 * sqrt(0.95 * 0.05 / 100 + 3.841459 / 40000) = 1.887458 * 0.0238964 = 0.045103
    // -> [0.888250, 0.978456]
    const [low, high] = wilsonInterval(95, 100);
    assert.ok(Math.abs(low - 0.888250) < 1e-6, String(low));
    assert.ok(Math.abs(high - 0.978456) < 1e-6, String(high));
    // 0/10: [0, z^2 / (n + z^2)] = [0, 3.841459 / 13.841459] = [0, 0.277533]; never below 0
    const [zeroLow, zeroHigh] = wilsonInterval(0, 10);
    assert.equal(zeroLow, 0);
    assert.ok(Math.abs(zeroHigh - 0.277533) < 1e-6);
    assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
    const m = classificationMetrics(['a', 'b'], [0, 0, 1, 1], [0, 1, 1, 1], [[-0.1, -2], [-1, -0.5], [-3, -0.1], [-2, -0.2]]);
    assert.deepEqual(m.accuracyInterval, wilsonInterval(3, 4));
  });
  it('the compare table prints the accuracy with its interval, and without one for an eval.json that has none', () => {
    const row = { run: 'r', split: 'test', id: 'soft', kind: 'soft', accuracy: 0.95, accuracyInterval: wilsonInterval(95, 100), macroF1: 0.9, nll: 0.2, auc: null, exactMatch: null, count: 100, taskParameters: 0 };
    const md = formatComparison([row, { ...row, id: 'old', accuracyInterval: null }], 'md');
    assert.match(md, /\| accuracy \(95% CI\) \|/);
    assert.match(md, /\| soft +\| soft +\| 95\.0% \(88\.8-97\.8\) \|/);
    assert.match(md, /\| old +\| soft +\| 95\.0% +\|/);
    const csv = formatComparison([row], 'csv').split('\n');
    assert.equal(csv[0], 'run,split,prompt,kind,accuracy,accuracy 95% low,accuracy 95% high,macro-F1,NLL,AUC,exact match,n,task params');
    assert.equal(csv[1], 'r,test,soft,soft,95.0%,88.8%,97.8%,0.900,0.200,,,100,0');
  });
  it('generated text names the label it starts with (then a boundary), longest first; text naming none is wrong and in no column', () => {
    // label target tokens: happy [7, 8], not happy [9, 7, 8], not [9]
    const targets = [{ label: 'pos', text: 'happy', ids: [7, 8] }, { label: 'neg', text: 'not happy', ids: [9, 7, 8] }, { label: 'not', text: 'not', ids: [9] }];
    const named = (text: string, ids: number[] = []) => labelOfGenerated({ text, ids }, targets);
    assert.equal(named(' happy. Once upon'), 'pos');
    assert.equal(named('Happy'), 'pos');
    assert.equal(named(' not happy at all'), 'neg');
    assert.equal(named(' not sure'), 'not');
    assert.equal(named(' happyish'), null);
    assert.equal(named(' sad'), null);
    assert.equal(named(''), null);
    // by tokens: the label's tokens then anything (a word the tiny vocabulary continues: "happyr")
    assert.equal(named(' happyr', [7, 8, 3]), 'pos');
    assert.equal(named(' not happy', [9, 7, 8, 2]), 'neg');
    assert.equal(named(' no', [9, 4]), 'not');
    const m = classificationMetrics(['a', 'b'], [0, 0, 1, 1], [0, -1, 1, -1], [[-0.1, -2], [-1, -0.5], [-3, -0.1], [-2, -0.2]]);
    assert.equal(m.accuracy, 0.5);
    assert.deepEqual(m.confusion, [[1, 0], [0, 1]]);
    // each class: tp 1, fp 0, fn 1 (the unnamed one) -> F1 2/3
    assert.ok(Math.abs(m.macroF1 - 2 / 3) < 1e-12);
    assert.deepEqual(m.predictedRate, { a: 0.25, b: 0.25 });
  });
  it('evaluation.metric generate makes generation the headline accuracy, rank accuracy the other column', async () => {
    const spec = workspace(moodSpec({ training: { steps: 2, batchSize: 2, evalEvery: 2 }, evaluation: { generation: false, metric: 'generate' } }));
    const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, () => undefined);
    const ev = JSON.parse(readFileSync(join(summary.runDir, 'eval.json'), 'utf8')) as { results: { id: string; accuracy: number; exactMatch?: number }[] };
    const predictions = readFileSync(join(summary.runDir, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { promptId: string; correct: boolean; exactMatch: boolean; generated: string; generatedLabel: string | null; prediction: string });
    for (const r of ev.results) {
      const mine = predictions.filter((p) => p.promptId === r.id);
      assert.ok(mine.length > 0 && mine.every((p) => typeof p.generated === 'string'), r.id);
      assert.equal(r.exactMatch, r.accuracy, r.id);
      for (const p of mine) {
        assert.equal(p.correct, p.exactMatch);
        assert.equal(p.prediction, p.generatedLabel ?? '');
      }
    }
  });
  it('majority vote breaks ties by probability mass', () => {
    assert.equal(majorityVote([0, 1, 1], [[-1, -2], [-2, -1], [-2, -1]]), 1);
    assert.equal(majorityVote([0, 1], [[-0.1, -3], [-1, -0.9]]), 0);
  });
});

describe('prompt initialisation and truncation (stories260K)', () => {
  let lm: LanguageModel;
  before(async () => { lm = await openModel(storiesDir, { kind: 'causal' }); });
  after(async () => { await lm.dispose(); });
  const init = (softPrompt: Record<string, unknown>) => initSoftPrompt(lm, loadSpec(workspace(moodSpec({ softPrompt }))), 0);

  it('sampled-vocab draws from the tokenizer\'s most frequent ordinary tokens: by merge order (BPE) or score (Unigram), never bytes or specials', () => {
    const ranked = lm.tokenizer!.frequentTokens();
    const json = JSON.parse(readFileSync(join(storiesDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] } };
    // merge 0 is "▁" + "t"; ids 0-2 are <unk> <s> </s>, 3-258 the byte tokens <0x00>..<0xFF>
    assert.equal(ranked[0], json.model.vocab['▁t']);
    assert.ok(ranked.every((id) => id > 258), 'no special or byte token');
    assert.equal(new Set(ranked).size, ranked.length);
    const p = init({ length: 6, init: 'sampled-vocab' });
    const rows = Array.from({ length: 6 }, (_, r) => p.data.slice(r * 64, (r + 1) * 64));
    const pool = new Set(ranked.slice(0, 5000));
    for (const row of rows) {
      const id = [...pool].find((t) => lm.embeddings([t]).every((v, j) => v === row[j]));
      assert.ok(id !== undefined, 'each row is the embedding of a ranked token');
    }
    assert.deepEqual(frequencyRankedTokens({
      added_tokens: [{ id: 0, content: '<pad>', special: true }],
      model: { type: 'Unigram', vocab: [['<pad>', 0], ['<0x41>', -1], ['▁the', -2.5], ['s', -3], ['▁a', -2.8], ['▁of', -4]] },
    }), [2, 4, 3, 5]);
  });
  it('random-uniform lies in [-0.5, 0.5]', () => {
    const p = init({ length: 5, init: 'random-uniform' });
    assert.equal(p.data.length, 5 * 64);
    assert.ok(Array.from(p.data).every((v) => v >= -0.5 && v <= 0.5));
  });
  it('class-labels: the first rows are the labels\' mean token embeddings, the rest vocabulary rows', () => {
    const p = init({ length: 4, init: 'class-labels' });
    const ids = continuationIds(lm.tokenizer!, ' happy');
    assert.deepEqual(ids, [393]);
    const e = lm.embeddings(ids);
    for (let j = 0; j < 64; j++) {
      let mean = 0;
      for (let t = 0; t < ids.length; t++) mean += e[t * 64 + j] / ids.length;
      assert.ok(Math.abs(p.data[j] - mean) < 1e-6);
    }
    const table = lm.embeddings(Array.from({ length: 512 }, (_, i) => i));
    const row3 = Array.from(p.data.slice(3 * 64, 4 * 64));
    assert.ok(Array.from({ length: 512 }, (_, id) => id).some((id) => row3.every((v, j) => v === table[id * 64 + j])));
  });
  it('text: the text\'s token embeddings, repeated to fill', () => {
    const p = init({ length: 6, init: 'text', initText: 'Once upon a time' });
    const ids = lm.tokenizer!.encode('Once upon a time', { addSpecialTokens: false });
    const e = lm.embeddings([...ids, ...ids].slice(0, 6));
    assert.deepEqual(Array.from(p.data), Array.from(e));
  });
  it('file: a soft prompt of another length is refused', async () => {
    const spec = workspace(moodSpec({ training: { steps: 2, batchSize: 2, evalEvery: 2 } }));
    const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, () => undefined);
    assert.throws(() => init({ length: 7, init: 'file', initFile: summary.runDir }), /softPrompt\.initFile has 4 virtual tokens but softPrompt\.length is 7/);
    assert.equal(init({ length: 4, init: 'file', initFile: summary.runDir }).length, 4);
  });
  it('sequences longer than the context are cut from the left, keeping BOS and the target', () => {
    const enc = new SequenceEncoder(lm.tokenizer!, 32);
    const long = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day she saw a ball.';
    const s = enc.withTarget(long, ' happy', 4);
    assert.equal(s.truncated, true);
    assert.equal(s.ids.length + 4, 32);
    assert.equal(s.ids[0], 1);
    assert.deepEqual(s.ids.slice(s.targetStart), continuationIds(lm.tokenizer!, ' happy'));
  });
  it('training sequences are encoded as batches ask; the truncated count and the longest agree with encoding every example', async () => {
    const { Evaluator } = await import('../src/tuning/evaluate/evaluate.js');
    const { readSplit } = await import('../src/common/data.js');
    const { loadTokenizer } = await import('../src/models/tokenizer.js');
    const dir = tempDir();
    const longStory = Array.from({ length: 60 }, () => 'She ran to the park and played with a big red ball.').join(' ');
    const rows = [longStory, 'Tom cried.', `${longStory.slice(0, 1500)} ünïcødé 東京 🙂`, 'Lily smiled. 東京の公園で遊んだ。🙂🙂', longStory.slice(0, 1900)];
    writeFileSync(join(dir, 'train.jsonl'), rows.map((story, i) => JSON.stringify({ story, mood: i % 2 ? 'sad' : 'happy' })).join('\n') + '\n');
    const loaded = loadSpec(workspace(moodSpec({ data: { ...moodSpec().data, train: join(dir, 'train.jsonl') } })));
    const train = await readSplit(loaded, 'train');
    const ev = new Evaluator(lm, loaded.spec, train);
    for (const soft of [0, 20, 300]) {
      const sequences = ev.prompts.trainingSequences(soft);
      const all = train.examples.map((e) => sequences.of(e));
      assert.equal(sequences.truncatedCount(train.examples), all.filter((q) => q.truncated).length, `soft ${soft}`);
      assert.equal(sequences.longest(train.examples), Math.max(...all.map((q) => q.ids.length)), `soft ${soft}`);
    }
    assert.ok(ev.prompts.trainingSequences(300).truncatedCount(train.examples) >= 2);
    // the bound that lets them skip short texts: never more tokens than UTF-8 bytes + 4
    const gpt2 = await loadTokenizer(join(root, 'tokenizers', 'gpt2'));
    for (const tok of [lm.tokenizer!, gpt2]) {
      for (const text of [...rows, ' ', '', '\n\n\t', '🙂🙂🙂', 'a b c d e f', '東 京 公 園']) {
        assert.ok(tok.encode(text).length <= Buffer.byteLength(text, 'utf8') + 4, JSON.stringify(text));
      }
    }
  });
  it('a job warns how many examples were truncated', async () => {
    const dir = tempDir();
    const longStory = Array.from({ length: 60 }, () => 'She ran to the park and played with a big red ball.').join(' ');
    writeFileSync(join(dir, 'test.jsonl'), `${JSON.stringify({ story: longStory, mood: 'happy' })}\n${JSON.stringify({ story: 'Tom cried.', mood: 'sad' })}\n`);
    const spec = workspace(moodSpec({ data: { ...moodSpec().data, test: join(dir, 'test.jsonl') }, training: { steps: 2, batchSize: 2, evalEvery: 2 } }));
    const logs: string[] = [];
    const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'log') logs.push(e.message); });
    // one test record is too long: counted once per prompt, not once per label, pass or generation
    const evalFile = JSON.parse(readFileSync(join(summary.runDir, 'eval.json'), 'utf8')) as { truncated: number; results: { id: string; truncated?: number }[] };
    for (const r of evalFile.results) assert.equal(r.truncated, 1, r.id);
    assert.equal(evalFile.truncated, evalFile.results.length);
    assert.ok(logs.some((l) => /warning: 1 of 2 test examples of prompt "soft" are longer than the model's context \(512 tokens\) and were cut from the left/.test(l)), logs.join('\n'));
  });
});

describe('training control and ensembles', () => {
  it('early stopping after `patience` evaluations without a better dev accuracy', async () => {
    const spec = workspace(moodSpec({ training: { steps: 40, batchSize: 2, evalEvery: 1, patience: 2, learningRate: 1e-9 } }));
    const logs: string[] = [];
    const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'log') logs.push(e.message); });
    assert.equal(summary.status, 'completed');
    assert.ok(logs.some((l) => /^early stop at step 2: no better dev accuracy in 2 evaluations$/.test(l)), logs.join('\n'));
  });
  it('an ensemble of soft prompts is scored in one batch and votes', async () => {
    const a = await runJob({ kind: 'train', specFile: workspace(moodSpec({ training: { steps: 4, batchSize: 4, evalEvery: 4, seed: 1 } })), device: 'cpu' }, () => undefined);
    const b = await runJob({ kind: 'train', specFile: workspace(moodSpec({ training: { steps: 4, batchSize: 4, evalEvery: 4, seed: 2 } })), device: 'cpu' }, () => undefined);
    const c = await runJob({ kind: 'train', specFile: workspace(moodSpec({ training: { steps: 4, batchSize: 4, evalEvery: 4, seed: 3 } })), device: 'cpu' }, () => undefined);
    const spec = workspace(moodSpec({ evaluation: { generation: false, ensembles: [{ id: 'vote', prompts: [a.runDir, b.runDir, c.runDir] }] } }));
    const summary = await runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [a.runDir, b.runDir, c.runDir] }, () => undefined);
    const vote = summary.results.find((r) => r.kind === 'ensemble')!;
    assert.equal(vote.id, 'vote');
    const members = summary.results.filter((r) => r.kind === 'soft');
    assert.equal(members.length, 3);
    assert.ok(vote.accuracy >= Math.min(...members.map((m) => m.accuracy)));
  });
});

describe('device selection', () => {
  it('a provider that cannot start falls back to the CPU and says why', async () => {
    const g = new Graph('float32');
    const x = g.input('x', 'float32', [2]);
    g.output(g.node('Neg', [x], {}, [{ dtype: 'float32', shape: [2] }])[0], 'y');
    const notes: string[] = [];
    const s = await createSession(g, new Map(), { device: 'cuda', log: (m) => notes.push(m) });
    assert.equal(s.device, 'cpu');
    assert.match(notes[0], /^device: cpu \(cuda unavailable: .+; fell back to the CPU\)$/);
    const auto = await createSession(g, new Map(), { device: 'auto', log: (m) => notes.push(m) });
    assert.match(notes[1], /^device: (cpu|webgpu|cuda) \(auto/);
    await s.release();
    await auto.release();
  });

  it('a missing WebGPU adapter is named with what to install instead of onnxruntime\'s cut-off message', () => {
    const ort = new Error('/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters');
    assert.match(deviceFailure(ort), /^no WebGPU adapter \(.*install the GPU driver, libvulkan1 and libglvnd0\)$/);
    assert.equal(deviceFailure(new Error('first line\nsecond')), 'first line');
  });
});

describe('trainer process', () => {
  it('exits when its parent dies', async () => {
    const spec = workspace(moodSpec({ training: { steps: 100000, batchSize: 2, evalEvery: 100000 } }));
    // a parent that forks the trainer, prints its pid, then is killed
    const parent = spawn(process.execPath, ['-e', `
      const { fork } = require('node:child_process');
      const child = fork(${JSON.stringify(join(root, 'dist', 'trainer.cjs'))}, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      child.on('message', (m) => { if (m.type === 'ready') { child.send({ type: 'start', job: { kind: 'train', specFile: ${JSON.stringify(spec)}, device: 'cpu' } }); } if (m.type === 'progress' && m.step === 1) console.log(child.pid); });
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((ok) => parent.stdout!.once('data', (b: Buffer) => ok(Number(b.toString().trim()))));
    parent.kill('SIGKILL');
    const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(), false, 'the trainer outlived its parent');
  });
});

describe('evaluation passes', () => {
  it('are cut where padding costs more than another pass, within the batch size and the memory plan', () => {
    const lengths = [100, 98, 97, 50, 49, 10];
    const order = lengths.map((_, i) => i);
    // one pass padded to 100 costs 64 + 600; cut after the 97 and the rest pads to 50: 364 + 214
    assert.equal(PASS_OVERHEAD_POSITIONS, 64);
    assert.deepEqual(lengthBatches(order, (i) => lengths[i], { batchSize: 8 }), [[0, 1, 2], [3, 4, 5]]);
    // equal lengths: full passes
    assert.deepEqual(lengthBatches([0, 1, 2, 3, 4], () => 30, { batchSize: 2 }), [[0, 1], [2, 3], [4]]);
    // the plan allows one row at 100 positions, four below
    assert.deepEqual(lengthBatches(order, (i) => lengths[i], { batchSize: 8, batchFor: (t) => (t >= 100 ? 1 : 4) }), [[0], [1, 2], [3, 4, 5]]);
    // a plan that allows nothing still makes progress, a row at a time
    assert.deepEqual(lengthBatches([0, 1], () => 10, { batchSize: 8, batchFor: () => 0 }), [[0], [1]]);
    assert.deepEqual(lengthBatches([], () => 10, { batchSize: 8 }), []);
  });
});

describe('rank scoring', () => {
  const spec = (extra: Record<string, unknown>) => loadSpec(workspace(moodSpec({ data: { ...moodSpec().data, test: mood('test.jsonl'), verbalizer: { happy: 'very happy indeed today', sad: 'sad' }, maxExamples: 6 }, ...extra })));
  it('mean scoring divides each label\'s log-likelihood by its token count; sum is the paper\'s', async () => {
    const { Evaluator } = await import('../src/tuning/evaluate/evaluate.js');
    const { readSplit } = await import('../src/common/data.js');
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const sum = spec({});
    const mean = spec({ evaluation: { rankScoring: 'mean' } });
    assert.equal(sum.spec.evaluation.rankScoring, 'sum');
    const test = await readSplit(sum, 'test');
    const a = new Evaluator(lm, sum.spec);
    const b = new Evaluator(lm, mean.spec);
    const prompt = a.prompts.discrete({ id: 'z', template: '{story} In the end, everyone was', shots: 0, shotSeparator: '\n' }, 0);
    const summed = await a.labelScores(prompt, test.examples, { batchSize: 4, generation: false });
    const averaged = await b.labelScores(prompt, test.examples, { batchSize: 4, generation: false });
    const tokens = Object.values(sum.spec.data.verbalizer).map((t) => a.prompts.encoder.targetIds(` ${t}`).length);
    assert.ok(tokens[0] > tokens[1]);
    summed.forEach((row, e) => row[0].forEach((v, c) => assert.ok(Math.abs(v / tokens[c] - averaged[e][0][c]) < 1e-9)));
    await lm.dispose();
  });
  it('a job warns when label lengths differ a lot under summed scoring, with the token counts', async () => {
    const logs: string[] = [];
    const file = workspace(moodSpec({ data: { ...moodSpec().data, verbalizer: { happy: 'very happy indeed today', sad: 'sad' }, maxExamples: 6 }, training: { steps: 1, batchSize: 2, evalEvery: 1 } }));
    await runJob({ kind: 'train', specFile: file, device: 'cpu' }, (e) => { if (e.type === 'log') logs.push(e.message); });
    assert.ok(logs.some((l) => /^warning: label texts have \d+ to \d+ tokens \(happy \d+, sad \d+\); rank classification sums log-probabilities, which favours short labels: set evaluation\.rankScoring to "mean"/.test(l)), logs.join('\n'));
  });
  it('a T5 whose names say neither lm-adapt nor flan is pointed to the LM-adapted or Flan checkpoints, at the spec\'s model line', () => {
    const loaded = loadSpec(workspace(moodSpec({ model: 'google/t5-v1_1-base' })));
    const hubFolder = (repo: string) => join('/cache', 'hub', `models--${repo.replace('/', '--')}`, 'snapshots', 'abc123');
    const warning = t5CheckpointWarning(loaded, { id: 'google/t5-v1_1-base', folder: hubFolder('google/t5-v1_1-base'), modelType: 't5' });
    assert.match(warning ?? '', new RegExp(`^warning: ${loaded.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${loaded.lineOf(['model'])}: model: "google/t5-v1_1-base" .*<extra_id_0>.*google/t5-base-lm-adapt.*flan-t5`));
    // a local folder is judged by its own name
    assert.ok(t5CheckpointWarning(loaded, { id: './models/t5-small', folder: '/w/models/t5-small', modelType: 't5' }));
    for (const id of ['google/t5-base-lm-adapt', 'google/T5-Large-LM-Adapt', 'google/flan-t5-base']) {
      assert.equal(t5CheckpointWarning(loaded, { id, folder: hubFolder(id), modelType: 't5' }), null, id);
    }
    // the hub cache's folder carries the name when the spec names a path inside it
    assert.equal(t5CheckpointWarning(loaded, { id: '../snap', folder: hubFolder('google/flan-t5-small'), modelType: 't5' }), null);
    assert.equal(t5CheckpointWarning(loaded, { id: storiesDir, folder: storiesDir, modelType: 'llama' }), null);
  });
});

describe('cancellation', () => {
  it('a cancelled scale ablation stops at the cancelled run, which ends "cancelled"', async () => {
    const spec = workspace(moodSpec({ training: { steps: 2, batchSize: 2, evalEvery: 2 } }));
    const controller = new AbortController();
    controller.abort();
    const result = await runScale(spec, [storiesDir, storiesDir], { device: 'cpu', modelTuning: false }, () => undefined, controller.signal);
    assert.equal(result.status, 'cancelled');
    assert.equal(result.points.length, 0);
    assert.equal(JSON.parse(readFileSync(join(result.runDir, 'run.json'), 'utf8')).status, 'cancelled');
  });
  it('a cancelled evaluation returns "cancelled" and its run says so', async () => {
    const spec = workspace(moodSpec({ discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }] }));
    const controller = new AbortController();
    controller.abort();
    const summary = await runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [] }, () => undefined, controller.signal);
    assert.equal(summary.status, 'cancelled');
    assert.equal(JSON.parse(readFileSync(join(summary.runDir, 'run.json'), 'utf8')).status, 'cancelled');
  });
});

describe('the CLI reporter in a log', () => {
  it('prints a long evaluation\'s progress every interval when stderr is not a terminal', () => {
    let clock = 0;
    const lines: string[] = [];
    const report = terminalReporter(false, { tty: false, everyMs: 30_000, now: () => clock, write: (t) => lines.push(t) });
    for (let done = 1; done <= 100; done++) {
      clock += 1_000;
      report({ type: 'evalProgress', promptId: 'soft', done, total: 100 });
    }
    assert.deepEqual(lines, ['evaluating soft: 30/100\n', 'evaluating soft: 60/100\n', 'evaluating soft: 90/100\n']);
    // --json keeps stderr for logs only
    const quiet: string[] = [];
    const json = terminalReporter(true, { tty: false, everyMs: 0, now: () => clock, write: (t) => quiet.push(t) });
    json({ type: 'evalProgress', promptId: 'soft', done: 1, total: 100 });
    assert.deepEqual(quiet, []);
  });
});
