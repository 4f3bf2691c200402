// Text-target tasks end to end: the spec's checks, the data, training to the target's end,
// evaluation by generation (stop strings, sampling, ensembles), metrics, assertions, the cost per
// prompt, the CLI's tables and --fail-under, and the families that train them (chat, T5, model tuning).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseSpec, loadSpec } from '../src/common/spec.js';
import { readSplit } from '../src/common/data.js';
import { readSoftPromptSource, RunDir } from '../src/common/run-folder.js';
import { openModel } from '../src/models/load.js';
import type { LanguageModel } from '../src/models/language-model.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { randomCheckpoint, root, storiesDir, tempDir, workspace } from './helpers.js';

const subject = (name: string) => join(root, 'data', 'subject', name);
const cli = join(root, 'bin', 'ptune.js');

function subjectSpec(extra: { data?: object; training?: object; softPrompt?: object; evaluation?: object; discretePrompts?: object[]; model?: string; modelTuning?: object } = {}) {
  return {
    name: 'subject', model: extra.model ?? storiesDir,
    data: { train: subject('train.jsonl'), dev: subject('dev.jsonl'), test: subject('test.jsonl'), text: '{story} The story is about the', target: '{subject}.', maxExamples: 24, ...extra.data },
    discretePrompts: extra.discretePrompts ?? [
      { id: 'question', template: '{story} What was the story about? It was about the' },
      { id: '2-shot', template: '{story} The story is about the', shots: 2, assert: [{ type: 'starts-with', value: '{subject}' }] },
    ],
    softPrompt: { length: 4, ...extra.softPrompt },
    training: { steps: 6, batchSize: 4, evalEvery: 3, seed: 0, ...extra.training },
    evaluation: extra.evaluation ?? { stop: ['.'], assert: [{ type: 'icontains', value: '{subject}' }] },
    ...(extra.modelTuning ? { modelTuning: extra.modelTuning } : {}),
  };
}

// each message starts with its field
const problemsOf = (spec: object) => analyseSpec(JSON.stringify(spec, null, 2), '/x/exp.ptune.json').problems.map((p) => p.message);

describe('text targets: the spec', () => {
  it('takes data.target instead of label and verbalizer, with exactMatch as the default metric', () => {
    const spec = loadSpec(workspace(subjectSpec({ evaluation: {} }))).spec;
    assert.equal(spec.data.target, '{subject}.');
    assert.equal(spec.evaluation.metric, 'exactMatch');
    assert.deepEqual(spec.data.verbalizer, {});
    assert.deepEqual(spec.evaluation.stop, []);
  });
  it('says which of label or target is missing, and refuses both', () => {
    const base = subjectSpec();
    const neither = { ...base, data: { ...base.data, target: undefined } };
    assert.ok(problemsOf(neither).some((p) => /^data\.label or data\.target is required/.test(p)), problemsOf(neither).join('\n'));
    const both = { ...base, data: { ...base.data, label: 'subject', verbalizer: { a: 'a', b: 'b' } } };
    assert.ok(problemsOf(both).some((p) => /^data\.label and data\.target exclude each other/.test(p)), problemsOf(both).join('\n'));
    const labelOnly = { ...base, data: { ...base.data, target: undefined, label: 'subject' }, evaluation: {} };
    assert.ok(problemsOf(labelOnly).some((p) => /^data\.verbalizer is required with data\.label/.test(p)), problemsOf(labelOnly).join('\n'));
  });
  it('names every setting that does not fit a text target at its field', () => {
    const problems = problemsOf(subjectSpec({
      training: { sampling: 'balanced' },
      evaluation: { metric: 'rank', assert: [{ type: 'regex', value: '(' }, { type: 'contains-any' }] },
    }));
    const at = (field: string, pattern: RegExp) => assert.ok(problems.some((p) => p.startsWith(`${field} `) && pattern.test(p)), `${field} ${pattern}\n${problems.join('\n')}`);
    at('training.sampling', /no classes: use "random"/);
    at('evaluation.metric', /scores labels/);
    at('evaluation.assert.0', /regex|expression/i);
    at('evaluation.assert.1', /needs a value/);
    const noAssertions = problemsOf(subjectSpec({ evaluation: { metric: 'passRate', assert: [] }, discretePrompts: [] }));
    assert.ok(noAssertions.some((p) => /^evaluation\.metric .*no assertion is given/.test(p)), noAssertions.join('\n'));
    const target = subjectSpec();
    const constant = problemsOf({ ...target, data: { ...target.data, target: 'bird' } });
    assert.ok(constant.some((p) => /^data\.target .*names no field/.test(p)), constant.join('\n'));
  });
  it('refuses assertions and text metrics on a label task', () => {
    const base = subjectSpec();
    const label = { ...base, data: { ...base.data, target: undefined, label: 'subject', verbalizer: { bird: 'bird', kite: 'kite' } }, evaluation: { metric: 'chrF', assert: [{ type: 'contains', value: 'x' }] }, discretePrompts: [] };
    const problems = problemsOf(label);
    assert.ok(problems.some((p) => /^evaluation\.metric "chrF" scores text outputs/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /^evaluation\.assert checks text outputs/.test(p)), problems.join('\n'));
  });
});

describe('text targets: data and encoding', () => {
  it('fills each record\'s target, and a record without the target\'s field is named by file and line', async () => {
    const loaded = loadSpec(workspace(subjectSpec()));
    const train = await readSplit(loaded, 'train');
    assert.equal(train.examples[0].target, `${JSON.parse(readFileSync(subject('train.jsonl'), 'utf8').split('\n')[0]).subject}.`);
    const file = workspace(subjectSpec({ data: { train: 'train.jsonl', dev: undefined, test: undefined } }), { 'train.jsonl': '{"story":"Tom had a kite.","subject":"kite"}\n{"story":"Sue had a cat."}\n' });
    await assert.rejects(readSplit(loadSpec(file), 'train'), /train\.jsonl:2: field "subject" is missing \(data\.target uses it\)/);
  });
  it('a causal model\'s target ends in end-of-sequence; a label does not', async () => {
    const lm = await openModel(storiesDir, { device: 'cpu' });
    try {
      const target = new Evaluator(lm, loadSpec(workspace(subjectSpec())).spec);
      const seq = target.prompts.encoder.withTarget('Tom had a kite. The story is about the', ' kite.', 0);
      assert.equal(seq.ids[seq.ids.length - 1], lm.cfg.eosTokenId);
      assert.equal(lm.tokenizer!.decode(seq.ids.slice(seq.targetStart)).trim(), 'kite.');
      const base = subjectSpec();
      const label = new Evaluator(lm, loadSpec(workspace({ ...base, data: { ...base.data, target: undefined, label: 'subject', verbalizer: { kite: 'kite', bird: 'bird' } }, evaluation: {}, discretePrompts: [] })).spec);
      const labelled = label.prompts.encoder.withTarget('Tom had a kite. The story is about the', ' kite', 0);
      assert.notEqual(labelled.ids[labelled.ids.length - 1], lm.cfg.eosTokenId);
      // an output that ends at once (end-of-sequence first) is the empty text
      assert.equal(lm.tokenizer!.decode([]), '');
    } finally {
      await lm.dispose();
    }
  });
});

describe('text targets: evaluation', () => {
  it('cuts outputs at stop strings and end-of-sequence, and compares them with the target before its stop string', async () => {
    const loaded = loadSpec(workspace(subjectSpec()));
    const lm = await openModel(storiesDir, { device: 'cpu' });
    try {
      const train = await readSplit(loaded, 'train');
      const test = await readSplit(loaded, 'test');
      const ev = new Evaluator(lm, loaded.spec, train);
      const prompt = ev.prompts.discrete(loaded.spec.discretePrompts[0], 0);
      const { result, predictions } = await ev.evaluatePrompt(prompt, test, { batchSize: 8, generation: true });
      assert.equal(predictions.length, test.examples.length);
      for (const p of predictions) {
        assert.ok(!p.output!.includes('.'), `the stop string is left out: ${JSON.stringify(p.output)}`);
        assert.ok(!p.target!.endsWith('.'), `the target is compared before its stop string: ${p.target}`);
        assert.equal(p.correct, p.metrics!.exactMatch === 1);
        assert.equal(p.assertions!.length, 1);
        assert.equal(p.assertions![0].pass, p.output!.toLowerCase().includes(p.target!.toLowerCase()));
        assert.ok(p.metrics!.nll! > 0);
      }
      // the per-prompt figures are the means of the per-example ones
      const mean = (k: 'tokenF1' | 'chrF' | 'rougeL') => predictions.reduce((s, p) => s + p.metrics![k]!, 0) / predictions.length;
      for (const k of ['tokenF1', 'chrF', 'rougeL'] as const) assert.ok(Math.abs(result[k]! - mean(k)) < 1e-12, k);
      assert.equal(result.accuracy, predictions.filter((p) => p.correct).length / predictions.length);
      assert.equal(result.exactMatch, result.accuracy);
      for (const k of ['exactMatch', 'tokenF1', 'chrF', 'rougeL', 'nll', 'passRate'] as const) {
        const [lo, hi] = result.intervals![k]!;
        const v = k === 'exactMatch' ? result.accuracy : k === 'nll' ? result.nll : result[k]!;
        assert.ok(lo <= v && v <= hi, `${k}: ${v} in [${lo}, ${hi}]`);
      }
      // cost: the prompt's tokens and the outputs' mean length
      assert.ok(result.promptTokens! > 10 && result.outputTokens! >= 0 && result.msPerExample! > 0);
      assert.ok(Math.abs(result.outputTokens! - predictions.reduce((s, p) => s + p.outputTokens!, 0) / predictions.length) < 1e-12);
    } finally {
      await lm.dispose();
    }
  });
  it('sampling draws each example\'s output from its own generator: the same in any batch, different from greedy', async () => {
    const loaded = loadSpec(workspace(subjectSpec({ evaluation: { temperature: 1.5, topP: 0.95, seed: 3, stop: [] } })));
    const lm = await openModel(storiesDir, { device: 'cpu' });
    try {
      const test = await readSplit(loaded, 'test');
      const ev = new Evaluator(lm, loaded.spec);
      const prompt = ev.prompts.discrete(loaded.spec.discretePrompts[0], 0);
      const outputs = async (batchSize: number) => (await ev.evaluatePrompt(prompt, test, { batchSize, generation: true })).predictions.map((p) => p.output);
      const whole = await outputs(24);
      assert.deepEqual(await outputs(5), whole);
      const greedy = new Evaluator(lm, loadSpec(workspace(subjectSpec({ evaluation: { stop: [] } }))).spec);
      const greedyOutputs = (await greedy.evaluatePrompt(prompt, test, { batchSize: 24, generation: true })).predictions.map((p) => p.output);
      assert.notDeepEqual(whole, greedyOutputs);
    } finally {
      await lm.dispose();
    }
  });
});

describe('decoding', () => {
  it('fetches the whole key/value cache once, for the prefix; each later step only its own keys and values', async () => {
    const lm = await openModel(storiesDir, { device: 'cpu' });
    try {
      const fetched: string[][] = [];
      const model = lm as unknown as { run(feeds: object, fetches: string[]): Promise<unknown> };
      const run = model.run.bind(lm);
      model.run = (feeds, fetches) => {
        fetched.push(fetches);
        return run(feeds, fetches);
      };
      const prompts = [lm.tokenizer!.encode('Tom had a kite. The story is about the'), lm.tokenizer!.encode('Sue had a red ball. It was')];
      const { ids } = await lm.generate(prompts, lm.emptyPrompt(), 6, { stopAtEos: false });
      assert.equal(ids[0].length, prompts[0].length + 6);
      const layers = lm.cfg.numLayers;
      assert.equal(fetched.length, 6);
      assert.equal(fetched[0].filter((n) => n.startsWith('present_')).length, 2 * layers, 'the prefix pass fetches its cache');
      for (const step of fetched.slice(1, -1)) {
        assert.deepEqual(step.filter((n) => n.startsWith('present_')), [], 'no later step fetches the whole cache');
        assert.equal(step.filter((n) => n.startsWith('new_')).length, 2 * layers);
      }
      assert.deepEqual(fetched[fetched.length - 1], ['logits'], 'the last step fetches its logits alone');
      // the same tokens as decoding without any cache: each step's whole sequence run again
      const again = prompts.map((p) => [...p]);
      for (let t = 0; t < 6; t++) {
        for (const row of again) {
          const logits = await (lm as LanguageModel).logitsAt(row, row.length - 1);
          let best = 0;
          for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
          row.push(best);
        }
      }
      assert.deepEqual(ids, again);
    } finally {
      await lm.dispose();
    }
  });
});

describe('text targets: jobs and the CLI', () => {
  it('ptune train trains the bundled subject task for a few steps and reports text metrics, assertions and cost', () => {
    const runs = tempDir();
    const out = spawnSync(process.execPath, [cli, 'train', join(root, 'examples', 'subject', 'subject.ptune.json'), '--steps', '4', '--set', 'data.maxExamples=20', '--runs-dir', runs, '--json'], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const summary = JSON.parse(out.stdout.trim().split('\n').pop()!);
    assert.equal(summary.task, 'target');
    assert.equal(summary.metric, 'exactMatch');
    assert.deepEqual(summary.results.map((r: { id: string }) => r.id), ['zero-shot', 'question', '4-shot', 'soft']);
    for (const r of summary.results) {
      for (const k of ['exactMatch', 'tokenF1', 'chrF', 'rougeL', 'nll', 'passRate', 'promptTokens', 'outputTokens', 'msPerExample']) assert.equal(typeof r[k], 'number', `${r.id} ${k}`);
      assert.equal(r.macroF1, undefined);
    }
    const byId = Object.fromEntries(summary.results.map((r: { id: string; promptTokens: number }) => [r.id, r.promptTokens]));
    assert.ok(byId['4-shot'] > 3 * byId['zero-shot'], 'the 4-shot prompt costs its demonstrations');
    assert.equal(byId.soft - byId['zero-shot'], 20, 'the soft prompt\'s tokens are counted');
    const run = RunDir.open(summary.runDir);
    const ev = run.readEval();
    assert.equal(ev.task, 'target');
    assert.equal(ev.metric, 'exactMatch');
    const prediction = run.readPredictions().find((p) => p.promptId === 'soft')!;
    assert.equal(typeof prediction.output, 'string');
    assert.equal(typeof prediction.target, 'string');
    assert.deepEqual(Object.keys(prediction.metrics!).sort(), ['chrF', 'exactMatch', 'nll', 'rougeL', 'tokenF1']);
    assert.deepEqual(prediction.assertions!.map((a) => a.type), ['icontains', 'levenshtein']);
    assert.ok(run.readMetrics().some((m) => m.split === 'dev' && m.metric === 'exactMatch' && typeof m.devMetric === 'number'));
    // a text-target run folder made elsewhere comes back among the runs
    const imported = spawnSync(process.execPath, [cli, 'import-job', summary.runDir, '--spec', join(root, 'examples', 'subject', 'subject.ptune.json'), '--runs-dir', tempDir()], { encoding: 'utf8' });
    assert.equal(imported.status, 0, imported.stderr);
    // the table
    const table = spawnSync(process.execPath, [cli, 'compare', summary.runDir], { encoding: 'utf8' });
    assert.match(table.stdout, /\| exact match \(95% CI\) \| token F1 \| chrF +\| ROUGE-L \| pass rate \| NLL\/token \|/);
    assert.match(table.stdout, /tokens\/request \| output tokens \| ms\/example \|/);
  });
  it('--fail-under exits 3 naming the prompt and figure; a metric the task lacks is an input error', () => {
    const spec = workspace(subjectSpec({ discretePrompts: [{ id: 'question', template: '{story} What was the story about? It was about the' }] }));
    const runs = tempDir();
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'eval', spec, '--runs-dir', runs, ...args], { encoding: 'utf8' });
    const failing = run('--fail-under', 'question:chrF=101%');
    assert.equal(failing.status, 2, failing.stderr);
    const below = run('--fail-under', 'chrF=0.99', '--fail-under', 'passRate=0');
    assert.equal(below.status, 3, below.stderr);
    assert.match(below.stderr, /below threshold: prompt "question" \(discrete\): chrF \d+\.\d% is below 99\.0% \(--fail-under chrF=0\.99\)/);
    assert.doesNotMatch(below.stderr, /passRate/);
    const passing = run('--fail-under', 'question:tokenF1=0');
    assert.equal(passing.status, 0, passing.stderr);
    const lacking = run('--fail-under', 'macroF1=0.5');
    assert.equal(lacking.status, 2);
    assert.match(lacking.stderr, /no prompt reports macroF1 \(label tasks only\)/);
  });
  it('export-job refuses a text target with the reason', () => {
    const spec = workspace(subjectSpec());
    const out = tempDir();
    const job = spawnSync(process.execPath, [cli, 'export-job', spec, '--to', 'accelerate', join(out, 'job')], { encoding: 'utf8' });
    assert.equal(job.status, 2, job.stderr);
    assert.match(job.stderr, /data\.target: text-target tasks are not exported yet: .*train and evaluate this task locally/);
  });
  it('an ensemble of soft prompts answers with the output its members find most likely', async () => {
    const first = await runJob({ kind: 'train', specFile: workspace(subjectSpec({ discretePrompts: [] })), device: 'cpu' }, () => undefined);
    const second = await runJob({ kind: 'train', specFile: workspace(subjectSpec({ discretePrompts: [], softPrompt: { init: 'random-uniform' }, training: { seed: 1 } })), device: 'cpu' }, () => undefined);
    // the job: an ensemble of two runs' soft prompts is evaluated like any prompt
    const spec = workspace(subjectSpec({ discretePrompts: [], evaluation: { ensembles: [{ id: 'both', prompts: [first.runDir, second.runDir] }], stop: ['.'] } }));
    const summary = await runJob({ kind: 'eval', specFile: spec, device: 'cpu', runs: [] }, () => undefined);
    assert.equal(typeof summary.results.find((r) => r.id === 'both')!.exactMatch, 'number');
    // its outputs: per example, the member output with the higher summed log-likelihood under its member
    const loaded = loadSpec(spec);
    const lm = await openModel(storiesDir, { device: 'cpu' });
    try {
      const test = await readSplit(loaded, 'test');
      const ev = new Evaluator(lm, loaded.spec, await readSplit(loaded, 'train'));
      const members = [first.runDir, second.runDir].map((dir) => readSoftPromptSource(dir, lm.cfg.hiddenSize));
      const ensemble = ev.prompts.soft('both', members[0], 'ensemble', members.slice(1));
      const options = { batchSize: 32, generation: true };
      const outputs = (await ev.evaluatePrompt(ensemble, test, options)).predictions.map((p) => p.output);
      const maxNewTokens = ev.targetGenerationLength();
      const own = await Promise.all(members.map((m) => ev.generations(ev.prompts.soft('member', m), test.examples, { ...options, maxNewTokens })));
      const logLikelihood = async (k: number, i: number) => {
        const { ids } = ev.prompts.encoder.promptOnly(ensemble.text(test.examples[i]), members[k].length, maxNewTokens);
        return (await lm.score([{ ids: [...ids, ...own[k][i].ids], targetStart: ids.length }], members[k]))[0].logProb;
      };
      let differing = 0;
      for (let i = 0; i < outputs.length; i++) {
        const [a, b] = [own[0][i], own[1][i]];
        if (a.text === b.text) {
          assert.equal(outputs[i], a.text);
          continue;
        }
        differing++;
        const best = a.ids.length === 0 ? b : b.ids.length === 0 ? a : (await logLikelihood(0, i)) >= (await logLikelihood(1, i)) ? a : b;
        assert.equal(outputs[i], best.text, `example ${i}: ${JSON.stringify(a.text)} or ${JSON.stringify(b.text)}`);
      }
      assert.ok(differing > 0, 'the members disagree somewhere, so the choice is tested');
    } finally {
      await lm.dispose();
    }
  });
  it('model tuning, chat prompts and T5 train and evaluate a text target', async () => {
    const tuned = await runJob({ kind: 'model-tune', specFile: workspace(subjectSpec({ modelTuning: { steps: 4, batchSize: 4 } })), device: 'cpu' }, () => undefined);
    assert.equal(tuned.status, 'completed');
    assert.equal(typeof tuned.results[0].chrF, 'number');
    const chatml = join(root, 'test', 'fixtures', 'chat-stories260K-chatml');
    const chat = await runJob({
      kind: 'train', device: 'cpu',
      specFile: workspace(subjectSpec({ model: chatml, softPrompt: { messages: [{ role: 'user', content: 'What is this story about? {story}' }] }, discretePrompts: [{ id: 'chat', shots: 1, messages: [{ role: 'system', content: 'Name the thing.' }, { role: 'user', content: '{story}' }] }] })),
    }, () => undefined);
    assert.equal(chat.status, 'completed');
    const rows = RunDir.open(chat.runDir).readPredictions();
    assert.ok(rows.every((p) => typeof p.output === 'string' && typeof p.metrics?.exactMatch === 'number'));
    const files = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
    const t5 = randomCheckpoint({ model_type: 't5', d_model: 16, d_kv: 4, d_ff: 24, num_layers: 1, num_heads: 4, vocab_size: 512, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, scale_decoder_outputs: false, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 2 }, storiesDir, files, 4, 0.2);
    const seq2seq = await runJob({ kind: 'train', specFile: workspace(subjectSpec({ model: t5 })), device: 'cpu' }, () => undefined);
    assert.equal(seq2seq.status, 'completed');
    assert.ok(RunDir.open(seq2seq.runDir).readPredictions().every((p) => typeof p.output === 'string' && p.target !== undefined));
  });
});
