// Gradients and the invariances the training graph must keep.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/engine/random.js';
import { gradcheckBatch, gradcheckVariant } from '../src/tuning/train/gradcheck.js';
import { buildModel } from '../src/models/architectures.js';
import { LanguageModel } from '../src/models/language-model.js';
import { GRADCHECK_VARIANTS, randomModelConfig, randomWeights } from '../src/models/random-model.js';
import { modelFromWeights, openModel } from '../src/models/load.js';
import { maxAbsDiff, storiesDir } from './helpers.js';

describe('float64 gradient vs central finite differences', () => {
  for (const variant of GRADCHECK_VARIANTS) {
    it(`${variant.name}: max relative error below 1e-5`, async () => {
      const r = await gradcheckVariant(variant);
      assert.ok(r.maxRelError < 1e-5, `${variant.name}: ${r.maxRelError}`);
    });
  }
});

describe('padding changes neither loss nor gradient', () => {
  for (const variant of GRADCHECK_VARIANTS.filter((v) => ['llama-gqa-tied', 'qwen2-qkv-bias', 'gpt2', 't5-relu-tied'].includes(v.name))) {
    it(variant.name, async () => {
      const cfg = randomModelConfig(variant.config);
      const lm = modelFromWeights(cfg, randomWeights(cfg, 5), null, { floatType: 'float64' });
      const rng = new Rng(2);
      const prompt = { length: 2, dim: cfg.hiddenSize, data: Float64Array.from({ length: 2 * cfg.hiddenSize }, () => rng.uniform(-0.5, 0.5)) };
      const batch = gradcheckBatch(cfg.vocabSize, 9);
      const base = await lm.lossAndGradient(batch, prompt);
      const padded = await lm.lossAndGradient(batch, prompt, 'token', { padTo: 12, padId: 7 });
      const otherPad = await lm.lossAndGradient(batch, prompt, 'token', { padTo: 12, padId: 31 });
      assert.ok(Math.abs(base.loss - padded.loss) < 1e-12, `${base.loss} vs ${padded.loss}`);
      assert.ok(maxAbsDiff(base.grad, padded.grad) < 1e-12);
      assert.ok(maxAbsDiff(padded.grad, otherPad.grad) < 1e-12);
      // each example scored inside a padded batch equals the example scored alone
      const together = await lm.score(batch, prompt);
      for (let i = 0; i < batch.length; i++) {
        const [alone] = await lm.score([batch[i]], prompt);
        assert.ok(Math.abs(alone.logProb - together[i].logProb) < 1e-12);
      }
      await lm.dispose();
    });
  }
});

describe('soft prompt consistency (stories260K)', () => {
  let lm: LanguageModel;
  before(async () => { lm = await openModel(storiesDir, { kind: 'causal' }); });
  after(async () => { await lm.dispose(); });

  it('a soft prompt equal to the embeddings of a text scores like the text as tokens', async () => {
    const tok = lm.tokenizer!;
    const prefix = tok.encode('Once upon a time, there was');
    const rest = tok.encode(' a little girl named Lily.', { addSpecialTokens: false });
    const discrete = await lm.score([{ ids: [...prefix, ...rest], targetStart: prefix.length }], lm.emptyPrompt());
    const soft = { length: prefix.length, dim: lm.cfg.hiddenSize, data: lm.embeddings(prefix) };
    // the soft prompt supplies the prefix; its last row predicts the first target
    const asSoft = await lm.score([{ ids: rest, targetStart: 0 }], soft);
    assert.equal(asSoft[0].count, discrete[0].count);
    assert.ok(Math.abs(asSoft[0].logProb - discrete[0].logProb) < 1e-4, `${asSoft[0].logProb} vs ${discrete[0].logProb}`);
  });

  it('the float32 gradient agrees with finite differences of the float32 loss', async () => {
    const tok = lm.tokenizer!;
    const ids = tok.encode('Once upon a time, there was a little girl');
    const rng = new Rng(4);
    const data = Float32Array.from({ length: 3 * 64 }, () => rng.uniform(-0.5, 0.5));
    const prompt = { length: 3, dim: 64, data };
    const { grad } = await lm.lossAndGradient([{ ids, targetStart: 1 }], prompt);
    // a directional derivative along the gradient: robust to float32 rounding
    const norm = Math.sqrt(Array.from(grad).reduce((p, g) => p + g * g, 0));
    const h = 1e-2;
    const shifted = (sign: number) => ({ ...prompt, data: Float32Array.from(data, (v, i) => v + (sign * h * grad[i]) / norm) });
    const plus = (await lm.lossAndGradient([{ ids, targetStart: 1 }], shifted(1))).loss;
    const minus = (await lm.lossAndGradient([{ ids, targetStart: 1 }], shifted(-1))).loss;
    const numeric = (plus - minus) / (2 * h);
    assert.ok(Math.abs(numeric - norm) / norm < 1e-2, `${numeric} vs ${norm}`);
  });
});

describe('several soft prompts in one batch', () => {
  it('scores and gradients equal those of each prompt alone', async () => {
    const cfg = randomModelConfig(GRADCHECK_VARIANTS[0].config);
    const lm = new LanguageModel(buildModel(cfg, randomWeights(cfg, 5)), null, { floatType: 'float64' });
    const rng = new Rng(8);
    const make = () => ({ length: 2, dim: cfg.hiddenSize, data: Float64Array.from({ length: 2 * cfg.hiddenSize }, () => rng.uniform(-0.5, 0.5)) });
    const prompts = [make(), make()];
    const batch = gradcheckBatch(cfg.vocabSize, 4);
    const mixed = batch.map((s, i) => ({ ...s, prompt: i % 2 }));
    const together = await lm.score(mixed, prompts);
    for (let i = 0; i < batch.length; i++) {
      const [alone] = await lm.score([batch[i]], prompts[i % 2]);
      assert.ok(Math.abs(alone.logProb - together[i].logProb) < 1e-12);
    }
    // the gradient splits by prompt: prompt 1's rows equal its gradient over its examples alone
    const { grad } = await lm.lossAndGradient(mixed, prompts, 'example');
    const only1 = await lm.lossAndGradient(mixed.filter((s) => s.prompt === 1).map((s) => ({ ...s, prompt: 0 })), prompts[1], 'example');
    const rows1 = grad.slice(2 * cfg.hiddenSize);
    const share = mixed.filter((s) => s.prompt === 1).length / mixed.length;
    assert.ok(maxAbsDiff(rows1, Array.from(only1.grad, (g) => g * share)) < 1e-12);
    await lm.dispose();
  });
});
