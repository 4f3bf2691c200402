// The engine against Hugging Face transformers itself: tiny random checkpoints with float64
// reference losses, prompt gradients and logits (test/fixtures/hf-fixtures, made by
// scripts/hf_fixtures.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readModelConfig, type T5Config } from '../src/models/config.js';
import { Seq2SeqLanguageModel } from '../src/models/seq2seq-lm.js';
import { relativeBucket } from '../src/models/t5.js';
import { buildModel } from '../src/models/architectures.js';
import { LanguageModel } from '../src/models/language-model.js';
import { readCheckpoint, readTensorF32 } from '../src/common/safetensors.js';
import { ArrayWeights } from '../src/models/weights.js';
import { root, relError } from './helpers.js';

const fixtures = join(root, 'test', 'fixtures', 'hf-fixtures');

/** A checkpoint's weights as float64 arrays, so the whole graph runs in float64. */
function float64Weights(folder: string, keep: (name: string) => boolean = () => true): ArrayWeights {
  const arrays = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, entry] of readCheckpoint(folder)) if (keep(name)) arrays.set(name, { shape: entry.shape, data: Float64Array.from(readTensorF32(entry)) });
  return new ArrayWeights(folder, arrays);
}

/** The soft prompt [n, d] transformers saw, from a reference.json. */
function referencePrompt(ref: { prompt: number[][] }) {
  return { length: ref.prompt.length, dim: ref.prompt[0].length, data: Float64Array.from(ref.prompt.flat()) };
}

function float64Model(folder: string): LanguageModel {
  return new LanguageModel(buildModel(readModelConfig(folder), float64Weights(folder)), null, { floatType: 'float64' });
}

for (const name of ['llama-tiny', 'qwen2-tiny']) {
  describe(`transformers reference: ${name}`, () => {
    const ref = JSON.parse(readFileSync(join(fixtures, name, 'reference.json'), 'utf8'));
    it('loss and prompt gradient match transformers (float64)', async () => {
      const lm = float64Model(join(fixtures, name));
      const prompt = referencePrompt(ref);
      const { loss, grad } = await lm.lossAndGradient([{ ids: ref.ids, targetStart: ref.targetStart }], prompt);
      // transformers rounds RoPE inverse frequencies to float32 before the float64 cast: ~1e-9 here
      assert.ok(Math.abs(loss - ref.loss) < 1e-7, `loss ${loss} vs ${ref.loss}`);
      const err = relError(grad, ref.grad.flat());
      assert.ok(err < 1e-6, `gradient relative error ${err}`);
      await lm.dispose();
    });
    it('logits match transformers at every position (float64)', async () => {
      const lm = float64Model(join(fixtures, name));
      const V = ref.logits[0].length;
      for (let pos = 0; pos < ref.ids.length; pos++) {
        const logits = await lm.logitsAt(ref.ids, pos);
        const err = relError(logits, ref.logits[pos]);
        assert.ok(err < 1e-6, `position ${pos}: relative error ${err} over ${V} logits`);
      }
      await lm.dispose();
    });
  });
}

describe('transformers reference: gpt2-tiny', () => {
  const ref = JSON.parse(readFileSync(join(fixtures, 'gpt2-tiny', 'reference.json'), 'utf8'));
  it('loss, prompt gradient and logits match transformers (float64)', async () => {
    const lm = float64Model(join(fixtures, 'gpt2-tiny'));
    const prompt = referencePrompt(ref);
    const { loss, grad } = await lm.lossAndGradient([{ ids: ref.ids, targetStart: ref.targetStart }], prompt);
    assert.ok(Math.abs(loss - ref.loss) < 1e-10, `loss ${loss} vs ${ref.loss}`);
    assert.ok(relError(grad, ref.grad.flat()) < 1e-9, `gradient ${relError(grad, ref.grad.flat())}`);
    for (let pos = 0; pos < ref.ids.length; pos++) {
      const err = relError(await lm.logitsAt(ref.ids, pos), ref.logits[pos]);
      assert.ok(err < 1e-9, `position ${pos}: ${err}`);
    }
    // with the soft prompt, at its last row and after
    const withPrompt = await lm.logitsAt(ref.ids, ref.ids.length - 1, prompt);
    assert.ok(relError(withPrompt, ref.logitsWithPrompt[ref.logitsWithPrompt.length - 1]) < 1e-9);
    await lm.dispose();
  });
  it('refuses prompt + input longer than n_positions', async () => {
    const lm = float64Model(join(fixtures, 'gpt2-tiny'));
    const prompt = { length: 30, dim: 16, data: new Float64Array(30 * 16) };
    await assert.rejects(() => lm.lossAndGradient([{ ids: ref.ids, targetStart: 2 }], prompt), /a sequence of 38 positions \(soft prompt \+ tokens\) is longer than the model's context of 32/);
  });
});

function float64T5(folder: string): Seq2SeqLanguageModel {
  return new Seq2SeqLanguageModel(readModelConfig(folder) as T5Config, float64Weights(folder), null, { floatType: 'float64' });
}

for (const name of ['t5-v1_1-tiny', 't5-original-tiny']) {
  describe(`transformers reference: ${name}`, () => {
    const ref = JSON.parse(readFileSync(join(fixtures, name, 'reference.json'), 'utf8'));
    it('loss, prompt gradient and decoder logits match transformers (float64)', async () => {
      const lm = float64T5(join(fixtures, name));
      const prompt = referencePrompt(ref);
      const seq = { ids: [...ref.encoderIds, ...ref.labels], targetStart: ref.encoderIds.length };
      const { loss, grad } = await lm.lossAndGradient([seq], prompt);
      // transformers' T5LayerNorm takes the variance in float32 even in a float64 model: ~1e-7 apart
      assert.ok(Math.abs(loss - ref.loss) / ref.loss < 1e-6, `loss ${loss} vs ${ref.loss}`);
      assert.ok(relError(grad, ref.grad.flat()) < 1e-5, `gradient ${relError(grad, ref.grad.flat())}`);
      for (let j = 0; j < ref.labels.length; j++) {
        const decoded = [0, ...ref.labels.slice(0, j)];
        const [withPrompt] = await lm.nextLogits([ref.encoderIds], prompt, [decoded]);
        assert.ok(relError(withPrompt, ref.logitsWithPrompt[j]) < 1e-6, `with prompt, position ${j}: ${relError(withPrompt, ref.logitsWithPrompt[j])}`);
        const [plain] = await lm.nextLogits([ref.encoderIds], lm.emptyPrompt(), [decoded]);
        assert.ok(relError(plain, ref.logits[j]) < 1e-6, `plain, position ${j}: ${relError(plain, ref.logits[j])}`);
      }
      await lm.dispose();
    });
  });
}

describe('T5 checkpoints', () => {
  it('a checkpoint without the relative attention bias is refused with a clear message', () => {
    const folder = join(fixtures, 't5-v1_1-tiny');
    const cfg = readModelConfig(folder) as T5Config;
    const weights = float64Weights(folder, (n) => !n.startsWith('encoder.block.0.layer.0.SelfAttention.relative_attention_bias'));
    assert.throws(() => new Seq2SeqLanguageModel(cfg, weights, null), /tensor "encoder\.block\.0\.layer\.0\.SelfAttention\.relative_attention_bias\.weight" is missing: a T5 checkpoint needs the encoder's relative attention bias/);
  });
  it('relative position buckets follow transformers (bidirectional and causal)', () => {
    const cfg = { relativeBuckets: 32, relativeMaxDistance: 128 } as T5Config;
    // worked by hand from the bucket formula (log-spaced beyond max_exact, capped at the last bucket)
    assert.deepEqual([-200, -20, -8, -1, 0, 1, 7, 8, 20, 200].map((r) => relativeBucket(r, true, cfg.relativeBuckets, cfg.relativeMaxDistance)), [15, 10, 8, 1, 0, 17, 23, 24, 26, 31]);
    assert.deepEqual([-200, -20, -16, -15, -1, 0, 5].map((r) => relativeBucket(r, false, cfg.relativeBuckets, cfg.relativeMaxDistance)), [31, 17, 16, 15, 1, 0, 0]);
  });
});
