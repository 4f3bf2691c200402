// What real-size models rely on, checked on small ones: evaluation scores each prefix once and
// reads every label from it (and must equal scoring each label's whole sequence), half-precision
// checkpoints are read as stored, and the model is one graph in one session.
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildModel } from '../src/models/architectures.js';
import { LanguageModel } from '../src/models/language-model.js';
import { openModel } from '../src/models/load.js';
import { GRADCHECK_VARIANTS, randomModelConfig, randomWeights } from '../src/models/random-model.js';
import { REAL_CONFIGS, writeRandomCheckpoint } from '../src/models/random-checkpoint.js';
import { parseModelConfig } from '../src/models/config.js';
import { choiceSequences, type ChoiceItem } from '../src/models/tunable.js';
import { Evaluator, scoreInBatches } from '../src/tuning/evaluate/evaluate.js';
import { accumulatedLossAndGradient, activationBytesPerExample, configParameters, parseNvidiaSmi, planMemory } from '../src/tuning/train/memory-plan.js';
import { loadSpec } from '../src/common/spec.js';
import { readSplit } from '../src/common/data.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

describe('rank classification from one pass over the prefix', () => {
  it('equals scoring every choice as its own sequence (float64, multi-token choices, shared first tokens, two prompts; causal and T5)', async () => {
    const { modelFromWeights } = await import('../src/models/load.js');
    for (const variant of [GRADCHECK_VARIANTS[0], GRADCHECK_VARIANTS[7]]) {
      const cfg = randomModelConfig(variant.config);
      const lm = modelFromWeights(cfg, randomWeights(cfg, 3), null, { floatType: 'float64' });
      const soft = [0, 1].map((s) => ({ length: 3, dim: cfg.hiddenSize, data: Float64Array.from({ length: 3 * cfg.hiddenSize }, (_, i) => Math.sin(i + s)) }));
      // a T5 choice is the decoder's whole text (a sequence's tokens before targetStart are the encoder's)
      const from = (k: number) => (cfg.architecture === 't5' ? 0 : k);
      const items: ChoiceItem[] = [
        { prefix: [5, 6, 7, 8, 9], prompt: 0, choices: [{ ids: [11], scoreFrom: 0 }, { ids: [12, 13, 14], scoreFrom: 0 }, { ids: [15, 16], scoreFrom: from(1) }] },
        { prefix: [3], prompt: 1, choices: [{ ids: [20, 21], scoreFrom: 0 }, { ids: [22], scoreFrom: 0 }, { ids: [23, 24, 25, 26], scoreFrom: from(2) }] },
        { prefix: [9, 8, 7], prompt: 0, choices: [{ ids: [4], scoreFrom: 0 }] },
      ];
      const { scores: shared } = await lm.scoreChoices(items, soft);
      const whole = await lm.score(choiceSequences(items), soft);
      assert.deepEqual(shared.map((r) => r.length), [3, 3, 1]);
      let k = 0;
      for (const row of shared) for (const v of row) assert.ok(Math.abs(v - whole[k++].logProb) < 1e-10, `${variant.name}: ${v} vs ${whole[k - 1].logProb}`);
      await lm.dispose();
    }
  });

  it('the shared head (soft prompt and common first tokens) is computed once and changes no score or generation (float64; Llama and GPT-2)', async () => {
    const { modelFromWeights } = await import('../src/models/load.js');
    for (const variant of [GRADCHECK_VARIANTS[0], GRADCHECK_VARIANTS[6]]) {
      const cfg = randomModelConfig(variant.config);
      const lm = modelFromWeights(cfg, randomWeights(cfg, 5), null, { floatType: 'float64' }) as LanguageModel;
      const n = 30;
      const soft = [0, 1].map((s) => ({ length: n, dim: cfg.hiddenSize, data: Float64Array.from({ length: n * cfg.hiddenSize }, (_, i) => Math.cos(i * (s + 1))) }));
      // what each pass computes: its input ids' width, and the cache it starts from
      const passes: { width: number; cached: number }[] = [];
      const run = (lm as unknown as { run: (f: Record<string, { dims: readonly number[] }>, n: string[]) => Promise<unknown> }).run.bind(lm);
      (lm as unknown as { run: typeof run }).run = (feeds, names) => {
        passes.push({ width: feeds.input_ids.dims[1], cached: feeds.past_key_0?.dims[2] ?? 0 });
        return run(feeds, names);
      };
      const choices = [{ ids: [12], scoreFrom: 0 }, { ids: [13, 14], scoreFrom: 0 }];
      const rows = (shared: number[], prompt: (b: number) => number): ChoiceItem[] => Array.from({ length: 8 }, (_, b) => ({ prefix: [...shared, ...Array.from({ length: 1 + (b % 3) }, (_, j) => 3 + ((b + j) % 30))], prompt: prompt(b), choices }));
      const cases = [
        // every row starts with tokens 1, 7, 5: with the soft prompt they are the head; prompts 0 and 1
        { tokens: 3, items: rows([1, 7, 5], (b) => b % 2) },
        // no token in common: the soft prompt alone (one row keeps a single token)
        { tokens: 0, items: rows([], () => 0) },
      ];
      for (const { items, tokens } of cases) {
        for (const maxNewTokens of [0, 3]) {
          const list = maxNewTokens ? items.map((item) => ({ ...item, prompt: 0 })) : items;
          const prompts = maxNewTokens ? soft[0] : soft;
          passes.length = 0;
          const shared = await lm.scoreChoices(list, prompts, { maxNewTokens });
          const longest = Math.max(...list.map((item) => item.prefix.length));
          const main = passes.find((p) => p.width === longest - tokens && p.cached === n + tokens);
          assert.ok(main, `${variant.name}: a pass starts after the head (${JSON.stringify(passes)})`);
          assert.ok(passes.every((p) => p.cached > 0 || p.width === tokens), `${variant.name}: every other pass reads the head's cache (${JSON.stringify(passes)})`);
          const alone = await lm.scoreChoices(list, prompts, { maxNewTokens, shareHead: false });
          shared.scores.flat().forEach((v, i) => assert.ok(Math.abs(v - alone.scores.flat()[i]) < 1e-10, `${variant.name}: ${v} vs ${alone.scores.flat()[i]}`));
          assert.deepEqual(shared.generated, alone.generated);
        }
      }
      // the head is kept while the prompt is the same, and computed again when training changes it in place
      const items = rows([1, 7, 5], () => 0);
      await lm.scoreChoices(items, soft[0]);
      passes.length = 0;
      await lm.scoreChoices(items, soft[0]);
      assert.ok(passes.every((p) => p.cached > 0), `kept: ${JSON.stringify(passes)}`);
      soft[0].data[5] += 0.5;
      passes.length = 0;
      const changed = await lm.scoreChoices(items, soft[0]);
      assert.ok(passes.some((p) => p.cached === 0 && p.width === 3), `computed again: ${JSON.stringify(passes)}`);
      const reference = await lm.scoreChoices(items, soft[0], { shareHead: false });
      changed.scores.flat().forEach((v, i) => assert.ok(Math.abs(v - reference.scores.flat()[i]) < 1e-10));
      // a batch too small to pay for the head's pass runs whole
      passes.length = 0;
      await lm.scoreChoices(items.slice(0, 1), soft[1]);
      assert.deepEqual(passes[0], { width: items[0].prefix.length, cached: 0 });
      // generation alone shares the head too
      passes.length = 0;
      const prefixes = items.map((item) => item.prefix);
      const generated = await lm.generate(prefixes, soft[1], 4);
      assert.ok(passes.some((p) => p.cached === n + 3), `generation: ${JSON.stringify(passes)}`);
      const single = await Promise.all(prefixes.map(async (p) => (await lm.generate([p], soft[1], 4)).ids[0]));
      assert.deepEqual(generated.ids.map((row, b) => row.slice(0, single[b].length)), single);
      await lm.dispose();
    }
  });

  it('the evaluator gives the same label scores and predictions as scoring whole label sequences (stories260K, multi-token labels, ensemble)', async () => {
    const loaded = loadSpec(workspace({
      name: 'mood', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), dev: join(root, 'data', 'mood', 'dev.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'very happy indeed', sad: 'sad' }, maxExamples: 12 },
      softPrompt: { length: 4 },
    }));
    const lm = await openModel(storiesDir, { kind: 'causal' });
    const test = await readSplit(loaded, 'test');
    const ev = new Evaluator(lm, loaded.spec, await readSplit(loaded, 'train'));
    const d = lm.cfg.hiddenSize;
    const p = (s: number) => ({ length: 4, dim: d, data: Float32Array.from({ length: 4 * d }, (_, i) => 0.3 * Math.sin(i * s)) });
    for (const prompt of [ev.prompts.discrete({ id: 'q', template: '{story} Was it happy or sad? It was', shots: 2, shotSeparator: '\n' }, 1), ev.prompts.soft('s', p(1), 'ensemble', [p(2)])]) {
      const fast = await ev.labelScores(prompt, test.examples, { batchSize: 5, generation: false });
      const seqs = ev.labelSequences(prompt, test.examples);
      const slow = await scoreInBatches(lm, seqs, prompt.soft.length ? prompt.soft : [lm.emptyPrompt()], 8);
      const flat = fast.flat(2);
      assert.equal(flat.length, slow.length);
      flat.forEach((v, i) => assert.ok(Math.abs(v - slow[i]) < 2e-4, `${prompt.id} #${i}: ${v} vs ${slow[i]}`));
    }
    // exact match: generation continues from the scoring pass's cache, and says what generating alone says
    for (const prompt of [ev.prompts.soft('s', p(1)), ev.prompts.discrete({ id: 'z', template: '{story} In the end, everyone was', shots: 0, shotSeparator: '\n' }, 1)]) {
      const { predictions } = await ev.evaluate(prompt, test, { batchSize: 5, generation: true });
      const alone = await ev.generate(prompt, test.examples, { batchSize: 5, generation: true });
      assert.deepEqual(predictions.map((q) => q.generated), alone);
      assert.ok(alone.every((t) => t.length > 0));
    }
    await lm.dispose();
  });
});

describe('half-precision checkpoints', () => {
  let dir: string;
  before(() => {
    dir = join(tempDir('ptune-bf16-'), 'model');
    // a real config's shape family at toy size: Llama 3 RoPE scaling, grouped-query heads, tied head
    writeRandomCheckpoint(dir, { ...REAL_CONFIGS['Llama-3.2-1B'], hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, vocab_size: 512 }, storiesDir, 7, 0.2);
  });

  it('BF16 weights are read in place: the run equals the same weights widened in memory, and nothing is written beside them', async () => {
    const cache = tempDir('ptune-cache-');
    process.env.PTUNE_CACHE_DIR = cache;
    try {
      const lm = await openModel(dir, { kind: 'causal' });
      const ids = [1, 20, 30, 40, 50];
      const logits = await lm.logitsAt(ids, 4);
      assert.ok(logits.every(Number.isFinite));
      const { ArrayWeights, CheckpointWeights } = await import('../src/models/weights.js');
      const ckpt = new CheckpointWeights(dir);
      const arrays = new Map([...ckpt.entries.keys()].map((name) => [name, { shape: ckpt.shape(name), data: Float64Array.from(ckpt.read(name)) }]));
      const inMemory = new LanguageModel(buildModel(lm.cfg, new ArrayWeights('widened', arrays)), null);
      const reference = await inMemory.logitsAt(ids, 4);
      let max = 0;
      for (let i = 0; i < logits.length; i++) max = Math.max(max, Math.abs(logits[i] - reference[i]));
      assert.ok(max < 1e-4, `max logit difference ${max}`);
      assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
      assert.ok(!existsSync(join(cache, 'weights')), 'no widened or copied weights in the cache');
      await lm.dispose();
      await inMemory.dispose();
    } finally {
      delete process.env.PTUNE_CACHE_DIR;
    }
  });
});

describe('micro-batches', () => {
  it('accumulated micro-batches give the full batch\'s loss and gradient (float64)', async () => {
    const cfg = randomModelConfig(GRADCHECK_VARIANTS[0].config);
    const lm = new LanguageModel(buildModel(cfg, randomWeights(cfg, 4)), null, { floatType: 'float64' });
    const prompt = { length: 3, dim: cfg.hiddenSize, data: Float64Array.from({ length: 3 * cfg.hiddenSize }, (_, i) => 0.5 * Math.cos(i)) };
    const batch = [
      { ids: [5, 6, 7, 8], targetStart: 3 }, { ids: [9, 10, 11, 12, 13, 14], targetStart: 3 }, { ids: [3, 4], targetStart: 1 },
      { ids: [20, 21, 22], targetStart: 1 }, { ids: [30, 31, 32, 33, 34], targetStart: 4 },
    ];
    const full = await lm.lossAndGradient(batch, prompt);
    for (const micro of [1, 2, 3]) {
      const acc = await accumulatedLossAndGradient(lm, batch, prompt, micro);
      assert.ok(Math.abs(acc.loss - full.loss) < 1e-12, `micro ${micro}: loss ${acc.loss} vs ${full.loss}`);
      let max = 0;
      for (let i = 0; i < full.grad.length; i++) max = Math.max(max, Math.abs(acc.grad[i] - full.grad[i]) / (Math.abs(full.grad[i]) + 1e-8));
      // the accumulated gradient is returned as float32 for the optimiser
      assert.ok(max < 1e-6, `micro ${micro}: gradient relative error ${max}`);
    }
  });

  it('the plan picks a micro-batch from the budget, honours an override, and refuses with the figures when one example does not fit', () => {
    const cfg = randomModelConfig({ ...REAL_CONFIGS['Llama-3.2-1B'] });
    const params = configParameters(cfg);
    assert.equal(params, 1_235_814_400);
    const perExample = activationBytesPerExample(cfg, 150);
    const plan = planMemory(cfg, params, { batchSize: 32, evalBatchSize: 32, tokens: 150, budgetBytes: params * 4 + 3.5 * perExample });
    assert.equal(plan.microBatch, 3);
    assert.match(plan.detail, /micro-batch 3 \(11 passes per step of 32\)/);
    // passes are sized by their own longest input: the log says these are the sizes at the longest
    assert.match(plan.detail, /evaluation batch \d+ at the longest input \(passes of shorter inputs take more\)$/);
    assert.ok(plan.microBatchFor(15) > plan.microBatch);
    assert.equal(planMemory(cfg, params, { batchSize: 32, evalBatchSize: 32, tokens: 150, budgetBytes: 1, microBatchSize: 4 }).microBatch, 4);
    assert.throws(() => planMemory(cfg, params, { batchSize: 8, evalBatchSize: 8, tokens: 150, budgetBytes: 6e9, file: 'big.ptune.json' }),
      /big\.ptune\.json: one example does not fit in memory: 4\.60 GiB of float32 weights \(1,235,814,400 parameters\), [\d.]+ GiB of activations per example of 150 positions, budget 5\.59 GiB/);
  });

  it('on a GPU at fp16 the weights count half and the activations stay float32; the budget is the free memory nvidia-smi reports', () => {
    const cfg = randomModelConfig({ ...REAL_CONFIGS['Llama-3.1-8B'] });
    const params = configParameters(cfg);
    const perExample = activationBytesPerExample(cfg, 148);
    const gpu = parseNvidiaSmi('NVIDIA GeForce RTX 4090, 24564, 24000\n');
    assert.deepEqual(gpu, { name: 'NVIDIA GeForce RTX 4090', totalBytes: 24564 * 2 ** 20, freeBytes: 24000 * 2 ** 20 });
    assert.equal(parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'), undefined);
    const plan = planMemory(cfg, params, { batchSize: 8, evalBatchSize: 16, tokens: 148, budgetBytes: gpu!.freeBytes * 0.9, halfWeights: true, budgetSource: 'test' });
    assert.equal(plan.weightBytes, params * 2);
    assert.equal(plan.bytesPerExample, perExample);
    assert.equal(plan.microBatch, Math.floor((gpu!.freeBytes * 0.9 - params * 2) / perExample));
    assert.ok(plan.microBatch >= 1 && plan.microBatch < 8, plan.detail);
    assert.match(plan.detail, /GiB of float16 weights \(8,030,261,248 parameters\).*\(test\)/);
    // the same card at fp32 holds not even the weights
    assert.throws(() => planMemory(cfg, params, { batchSize: 8, evalBatchSize: 16, tokens: 148, budgetBytes: gpu!.freeBytes * 0.9 }), /one example does not fit/);
  });
});

describe('precision', () => {
  it('fp16 keeps matrices and products in half precision and agrees with float32; auto is float32 on the CPU', async () => {
    const ref = await openModel(storiesDir, { kind: 'causal', precision: 'auto' });
    const half = await openModel(storiesDir, { kind: 'causal', precision: 'fp16' });
    const ids = [1, 20, 30, 40, 50, 60, 70];
    const a = await ref.logitsAt(ids, 6);
    const b = await half.logitsAt(ids, 6);
    assert.equal(ref.precision, 'fp32');
    assert.equal(half.precision, 'fp16');
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    assert.ok(max > 0 && max < 0.05, `max logit difference ${max}`);
    const d = ref.cfg.hiddenSize;
    const prompt = { length: 4, dim: d, data: Float32Array.from({ length: 4 * d }, (_, i) => 0.1 * Math.sin(i)) };
    const full = await ref.lossAndGradient([{ ids, targetStart: 5 }], prompt);
    const mixed = await half.lossAndGradient([{ ids, targetStart: 5 }], prompt);
    assert.ok(Math.abs(full.loss - mixed.loss) / full.loss < 1e-3, `loss ${full.loss} vs ${mixed.loss}`);
    assert.ok(mixed.grad instanceof Float32Array, 'the gradient stays float32');
    let gmax = 0;
    let gscale = 0;
    for (let i = 0; i < full.grad.length; i++) { gmax = Math.max(gmax, Math.abs(full.grad[i] - mixed.grad[i])); gscale = Math.max(gscale, Math.abs(full.grad[i])); }
    assert.ok(gmax / gscale < 0.02, `gradient difference ${gmax} of ${gscale}`);
    await ref.dispose();
    await half.dispose();
  });
});

describe('one session per model', () => {
  it('training, scoring, rank classification and generation share one session (causal and T5)', async () => {
    const { ort } = await import('../src/engine/runtime.js');
    const { modelFromWeights } = await import('../src/models/load.js');
    const create = ort.InferenceSession.create;
    let sessions = 0;
    (ort.InferenceSession as { create: unknown }).create = (...args: unknown[]) => { sessions++; return (create as (...a: unknown[]) => unknown).apply(ort.InferenceSession, args); };
    try {
      for (const variant of [GRADCHECK_VARIANTS[0], GRADCHECK_VARIANTS[7]]) {
        sessions = 0;
        const cfg = randomModelConfig(variant.config);
        const lm = modelFromWeights(cfg, randomWeights(cfg, 2), null);
        const prompt = { length: 2, dim: cfg.hiddenSize, data: Float32Array.from({ length: 2 * cfg.hiddenSize }, (_, i) => Math.cos(i)) };
        await lm.lossAndGradient([{ ids: [3, 4, 5, 6], targetStart: 2 }], prompt);
        await lm.score([{ ids: [3, 4, 5, 6], targetStart: 2 }], prompt);
        await lm.scoreChoices([{ prefix: [3, 4], choices: [{ ids: [5, 6], scoreFrom: 0 }, { ids: [7], scoreFrom: 0 }] }], prompt);
        await lm.generate([[3, 4, 5]], prompt, 3);
        assert.equal(sessions, 1, `${variant.name}: ${sessions} sessions`);
        await lm.dispose();
      }
    } finally {
      (ort.InferenceSession as { create: unknown }).create = create;
    }
  });
});

describe('scoring memory', () => {
  it('a forward pass in the one graph frees its layers\' values as it goes: scoring holds far less than training would', async () => {
    const dir = join(tempDir('ptune-fwd-'), 'model');
    const config = { ...REAL_CONFIGS['Llama-3.2-1B'], hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, head_dim: 64, vocab_size: 512, tie_word_embeddings: true };
    writeRandomCheckpoint(dir, config, storiesDir, 3, 0.05);
    // a process of its own, so its peak is this pass's alone
    const script = `
      const { readFileSync } = await import('node:fs');
      const { openModel } = await import(${JSON.stringify(join(root, 'src', 'models', 'load.ts'))});
      const peak = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const lm = await openModel(${JSON.stringify(dir)}, { kind: 'causal' });
      const prompt = { length: 4, dim: 512, data: new Float32Array(4 * 512).fill(0.01) };
      await lm.score([{ ids: [3, 4, 5], targetStart: 1 }], prompt);
      const before = peak();
      const rows = Array.from({ length: 16 }, (_, b) => ({ ids: Array.from({ length: 252 }, (_, j) => 3 + ((b * 31 + j * 7) % 500)), targetStart: 250 }));
      await lm.score(rows, prompt);
      console.log(JSON.stringify({ grown: peak() - before }));`;
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const { grown } = JSON.parse(out.trim().split('\n').pop()!);
    const cfg = parseModelConfig(config);
    const training = 16 * activationBytesPerExample(cfg, 256);
    const forward = 16 * activationBytesPerExample(cfg, 256, true);
    // kept for a backward, the forward's values alone are about half of training's
    assert.ok(grown < training / 4, `scoring 16 x 256 positions grew the peak by ${(grown / 2 ** 20).toFixed(0)} MiB; training's activations would be ${(training / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(grown < forward * 1.5, `grew ${(grown / 2 ** 20).toFixed(0)} MiB; the plan counts ${(forward / 2 ** 20).toFixed(0)} MiB for a forward pass`);
  });
});

describe('setup progress', () => {
  it('a job reports building the graph, loading the weights and the model loaded, before its first step, and plans its memory', async () => {
    const { runJob } = await import('../src/tuning/jobs/index.js');
    const { setupMessage } = await import('../src/common/protocol.js');
    const spec = workspace({
      name: 'mood', model: storiesDir,
      data: { train: join(root, 'data', 'mood', 'train.jsonl'), test: join(root, 'data', 'mood', 'test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 8 },
      softPrompt: { length: 4 }, training: { steps: 2, batchSize: 4, evalEvery: 10, microBatchSize: 3 }, evaluation: { generation: false },
    });
    const seen: string[] = [];
    await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => {
      if (e.type === 'setup') seen.push(setupMessage(e));
      if (e.type === 'progress') seen.push('step');
      if (e.type === 'log' && e.message.startsWith('memory:')) seen.push(e.message);
    });
    const firstStep = seen.indexOf('step');
    assert.match(seen.find((m) => !m.startsWith('memory:'))!, /^building the model's graph \(5 layers\)$/);
    assert.ok(seen.slice(0, firstStep).some((m) => /^loading the weights on cpu/.test(m)), seen.join('\n'));
    assert.ok(seen.slice(0, firstStep).some((m) => /^model loaded on cpu/.test(m)), seen.join('\n'));
    assert.ok(seen.some((m) => /^memory: .* micro-batch 3 \(2 passes per step of 4\), evaluation batch 3$/.test(m)), seen.join('\n'));
  });
});

describe('cache', () => {
  it('float32 copies of weights that earlier versions wrote are removed; other cache files stay', async () => {
    const { removeWidenedCopies } = await import('../src/models/weights.js');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const cache = tempDir('ptune-cache-');
    mkdirSync(join(cache, 'weights'));
    writeFileSync(join(cache, 'weights', '0123456789abcdef01234567.f32'), Buffer.alloc(1000));
    writeFileSync(join(cache, 'weights', 'keep.txt'), 'x');
    assert.equal(removeWidenedCopies(cache), 1000);
    assert.deepEqual(readdirSync(join(cache, 'weights')), ['keep.txt']);
  });
});
