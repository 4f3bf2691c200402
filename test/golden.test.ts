// Golden values of the real pretrained stories260K model (models/stories260K/README.md).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LanguageModel } from '../src/models/language-model.js';
import { openModel } from '../src/models/load.js';
import { root, storiesDir } from './helpers.js';

const GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267,
  337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432,
  352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333,
  415, 426, 13, 438];

describe('stories260K golden values', () => {
  let lm: LanguageModel;
  before(async () => { lm = await openModel(storiesDir, { kind: 'causal' }); });
  after(async () => { await lm.dispose(); });

  it('tokenizes like the reference', () => {
    assert.deepEqual(lm.tokenizer!.encode('Once upon a time'), [1, 403, 407, 261, 378]);
  });

  it('has the reference top-5 logits at position 0', async () => {
    const logits = await lm.logitsAt([1], 0);
    const top = [...logits].map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v).slice(0, 5);
    assert.deepEqual(top.map((t) => t.i), [403, 385, 410, 317, 407]);
    const expected = [17.0235, 15.4062, 13.1083, 12.7692, 12.4181];
    top.forEach((t, k) => assert.ok(Math.abs(t.v - expected[k]) < 1e-3, `logit ${t.i}: ${t.v} vs ${expected[k]}`));
  });

  it('has the reference mean next-token NLL', async () => {
    const ids = lm.tokenizer!.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.');
    assert.equal(ids.length, 32);
    const [s] = await lm.score([{ ids, targetStart: 1 }], lm.emptyPrompt());
    assert.ok(Math.abs(-s.logProb / s.count - 0.1804) < 1e-3, `NLL ${-s.logProb / s.count}`);
    // the training graph computes the same loss
    const { loss } = await lm.lossAndGradient([{ ids, targetStart: 1 }], lm.emptyPrompt());
    assert.ok(Math.abs(loss - 0.1804) < 1e-3, `loss ${loss}`);
  });

  it('decodes the reference 63-token greedy continuation with the KV cache', async () => {
    const { ids } = await lm.generate([[1]], lm.emptyPrompt(), 63, { stopAtEos: false });
    assert.deepEqual(ids[0], GREEDY);
  });

  it('decodes a left-padded batch like each row alone', async () => {
    const tok = lm.tokenizer!;
    const prompts = [tok.encode('Once upon a time'), tok.encode('One day, Tom'), [1]];
    const batch = await lm.generate(prompts, lm.emptyPrompt(), 12, { stopAtEos: false });
    for (let i = 0; i < prompts.length; i++) {
      const alone = await lm.generate([prompts[i]], lm.emptyPrompt(), 12, { stopAtEos: false });
      assert.deepEqual(batch.ids[i], alone.ids[0]);
    }
  });
});

describe('ptune generate', () => {
  const cli = join(root, 'bin', 'ptune.js');
  it('continues "Once upon a time" with the reference text', () => {
    const out = execFileSync(process.execPath, [cli, 'generate', '--prompt', 'Once upon a time', '--json'], { encoding: 'utf8' });
    const result = JSON.parse(out);
    assert.ok(result.text.startsWith(', there was a little girl named Lily. She loved to play outside in the park.'), result.text);
    assert.deepEqual(result.ids.slice(0, 5), [1, 403, 407, 261, 378]);
    assert.equal(result.device, 'cpu');
  });
  it('prints the prompt and its continuation as text', () => {
    const out = execFileSync(process.execPath, [cli, 'generate', '--prompt', 'Once upon a time', '--max-new-tokens', '12'], { encoding: 'utf8' });
    assert.match(out, /^Once upon a time, there was a little girl named/);
  });
  it('rejects an unknown device with a clear message', () => {
    assert.throws(() => execFileSync(process.execPath, [cli, 'generate', '--prompt', 'x', '--device', 'tpu'], { encoding: 'utf8', stdio: 'pipe' }), /--device tpu: expected one of auto, cpu, webgpu, cuda/);
  });
});
