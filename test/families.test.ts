// The families added after transformers' own fixtures (Qwen3, Gemma 3, SmolLM3, OLMo 2, Phi-3, Gemma 2)
// against float64 references written from the published modeling code in numpy
// (scripts/numpy_reference.py, fixtures in test/fixtures/numpy-fixtures: to be replaced by
// transformers' own once scripts/hf_fixtures.py runs on a machine with transformers), and the
// registry's own behaviour: config fields, the nearest family, 16-bit vocabulary tables.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../src/engine/graph.js';
import { gradients } from '../src/engine/autodiff.js';
import { createSession, ort } from '../src/engine/runtime.js';
import { mul } from '../src/engine/ops/elementwise.js';
import { reduceSum } from '../src/engine/ops/reduce.js';
import { linear } from '../src/engine/ops/matmul.js';
import { buildModel } from '../src/models/architectures.js';
import { parseModelConfig, readModelConfig, type DecoderConfig } from '../src/models/config.js';
import { LanguageModel } from '../src/models/language-model.js';
import { vocabLogits } from '../src/models/vocab.js';
import { ArrayWeights, CheckpointWeights } from '../src/models/weights.js';
import { readCheckpoint, readTensorF32 } from '../src/common/safetensors.js';
import { openModel } from '../src/models/load.js';
import { randomCheckpoint, root, storiesDir, relError } from './helpers.js';

const fixtures = join(root, 'test', 'fixtures', 'numpy-fixtures');
export const NUMPY_FIXTURES = ['qwen3-tiny', 'gemma3-tiny', 'smollm3-tiny', 'olmo2-tiny', 'phi3-tiny', 'gemma2-tiny'];

interface Reference {
  ids: number[]; targetStart: number; prompt: number[][]; loss: number; grad: number[][];
  logitsWithPrompt: number[][]; logits: number[][];
  greedy: { from: number[]; newTokens: number; plain: number[]; withPrompt: number[] };
}

function float64Weights(folder: string): ArrayWeights {
  const arrays = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, entry] of readCheckpoint(folder)) arrays.set(name, { shape: entry.shape, data: Float64Array.from(readTensorF32(entry)) });
  return new ArrayWeights(folder, arrays);
}

function open(folder: string, floatType: 'float64' | 'float32'): LanguageModel {
  const cfg = readModelConfig(folder);
  return new LanguageModel(buildModel(cfg, floatType === 'float64' ? float64Weights(folder) : new CheckpointWeights(folder)), null, { floatType });
}

for (const name of NUMPY_FIXTURES) {
  describe(`numpy reference: ${name}`, () => {
    const folder = join(fixtures, name);
    const ref: Reference = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8'));
    const prompt = { length: ref.prompt.length, dim: ref.prompt[0].length, data: Float64Array.from(ref.prompt.flat()) };
    const n = ref.prompt.length;

    it('float64: loss, prompt gradient and logits at every position, with and without the soft prompt', async () => {
      const lm = open(folder, 'float64');
      try {
        const { loss, grad } = await lm.lossAndGradient([{ ids: ref.ids, targetStart: ref.targetStart }], prompt);
        assert.ok(Math.abs(loss - ref.loss) / ref.loss < 1e-10, `loss ${loss} vs ${ref.loss}`);
        // the reference gradient is a central difference (h = 1e-5): good to about 1e-9
        assert.ok(relError(grad, ref.grad.flat()) < 1e-7, `gradient relative error ${relError(grad, ref.grad.flat())}`);
        for (let pos = 0; pos < ref.ids.length; pos++) {
          const plain = await lm.logitsAt(ref.ids, pos);
          assert.ok(relError(plain, ref.logits[pos]) < 1e-9, `position ${pos}: relative error ${relError(plain, ref.logits[pos])}`);
          const withPrompt = await lm.logitsAt(ref.ids, pos, prompt);
          assert.ok(relError(withPrompt, ref.logitsWithPrompt[n + pos]) < 1e-9, `with prompt, position ${pos}: ${relError(withPrompt, ref.logitsWithPrompt[n + pos])}`);
        }
      } finally {
        await lm.dispose();
      }
    });

    for (const floatType of ['float64', 'float32'] as const) {
      it(`${floatType}: greedy generation equals the reference's, alone and beside a shorter prompt (left padding)`, async () => {
        const lm = open(folder, floatType);
        try {
          const k = ref.greedy.newTokens;
          const alone = await lm.generate([ref.greedy.from], lm.emptyPrompt(), k, { stopAtEos: false });
          assert.deepEqual(alone.ids[0].slice(ref.greedy.from.length), ref.greedy.plain);
          const withPrompt = await lm.generate([ref.greedy.from, ref.greedy.from.slice(0, 2)], prompt, k, { stopAtEos: false });
          assert.deepEqual(withPrompt.ids[0].slice(ref.greedy.from.length), ref.greedy.withPrompt);
        } finally {
          await lm.dispose();
        }
      });
    }

    it('float32 (the checkpoint as stored): loss and logits within float32 rounding', async () => {
      const lm = open(folder, 'float32');
      try {
        const { loss } = await lm.lossAndGradient([{ ids: ref.ids, targetStart: ref.targetStart }], prompt);
        assert.ok(Math.abs(loss - ref.loss) / ref.loss < 1e-5, `loss ${loss} vs ${ref.loss}`);
        const last = ref.ids.length - 1;
        const logits = await lm.logitsAt(ref.ids, last, prompt);
        assert.ok(relError(logits, ref.logitsWithPrompt[n + last]) < 1e-5, `relative error ${relError(logits, ref.logitsWithPrompt[n + last])}`);
      } finally {
        await lm.dispose();
      }
    });
  });
}

describe('the family registry', () => {
  it('qwen3: an unsupported model_type names the supported families and the nearest', () => {
    assert.throws(() => parseModelConfig({ model_type: 'qwen3_moe' }, 'c.json'), /c\.json: model_type "qwen3_moe" is not supported \(supported: llama, mistral, qwen2, gpt2, t5, .*qwen3.*\); the nearest is "qwen3"/);
    assert.throws(() => parseModelConfig({ model_type: 'bert' }, 'c.json'), (e: Error) => !/nearest/.test(e.message));
  });

  it('qwen3: head_dim apart from hidden / heads, q/k norms per head', () => {
    const qwen = parseModelConfig({ model_type: 'qwen3', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 100 }) as DecoderConfig;
    assert.equal(qwen.headDim, 32);
    assert.equal(qwen.qkNorm, 'head');
  });

  it('gemma3_text: sliding layers from sliding_window_pattern with their own RoPE base; query_pre_attn_scalar; scaled embeddings; the nearest to gemma3', () => {
    const cfg = parseModelConfig({ model_type: 'gemma3_text', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 7, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32, vocab_size: 100, sliding_window: 16, sliding_window_pattern: 3, query_pre_attn_scalar: 24, rope_local_base_freq: 1000 }) as DecoderConfig;
    assert.deepEqual(cfg.layers.map((l) => l.window), [16, 16, null, 16, 16, null, 16]);
    assert.deepEqual(cfg.layers.map((l) => l.rope), ['local', 'local', 'global', 'local', 'local', 'global', 'local']);
    assert.equal(cfg.localRopeTheta, 1000);
    assert.equal(cfg.ropeTheta, 1000000);
    assert.equal(cfg.queryScale, 1 / Math.sqrt(24));
    assert.equal(cfg.embeddingScale, 8);
    assert.equal(cfg.tieWordEmbeddings, true);
    // transformers 5's per-type rope_parameters
    const v5 = parseModelConfig({ model_type: 'gemma3_text', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, head_dim: 32, vocab_size: 100, layer_types: ['sliding_attention', 'full_attention'], sliding_window: 8, rope_parameters: { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } } }) as DecoderConfig;
    assert.deepEqual(v5.ropeScaling, { type: 'linear', factor: 8 });
    assert.equal(v5.localRopeTheta, 1e4);
    assert.throws(() => parseModelConfig({ model_type: 'gemma3_text', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, head_dim: 32, vocab_size: 100, use_bidirectional_attention: true }, 'g.json'), /g\.json: use_bidirectional_attention true is not supported for gemma3_text/);
    assert.throws(() => parseModelConfig({ model_type: 'gemma3' }, 'c.json'), /the nearest is "gemma3_text"/);
  });

  it('gemma3_text: generation stops at any of eos_token_id\'s ids (an instruct model\'s <end_of_turn> beside <eos>)', async () => {
    const folder = join(fixtures, 'gemma3-tiny');
    const ref: Reference = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8'));
    const raw = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    const stop = ref.greedy.plain[ref.greedy.plain.length - 1];
    const cfg = parseModelConfig({ ...raw, eos_token_id: [1, stop] });
    assert.deepEqual(cfg.eosTokenIds, [1, stop]);
    const lm = new LanguageModel(buildModel(cfg, float64Weights(folder)), null, { floatType: 'float64' });
    const { ids } = await lm.generate([ref.greedy.from], lm.emptyPrompt(), ref.greedy.newTokens);
    assert.deepEqual(ids[0].slice(ref.greedy.from.length), ref.greedy.plain.slice(0, ref.greedy.plain.indexOf(stop) + 1));
    await lm.dispose();
  });

  it('qwen3: chat prompts render with enable_thinking false, so the reply starts with the answer', async () => {
    const folder = randomCheckpoint({ model_type: 'qwen3', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, head_dim: 8, vocab_size: 512 }, storiesDir, ['tokenizer.json', 'special_tokens_map.json']);
    const config = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'chat-stories260K-chatml', 'tokenizer_config.json'), 'utf8'));
    // the part of Qwen3's template that the option decides: an empty reasoning block when thinking is off
    config.chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}";
    writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(config));
    const lm = await openModel(folder, { kind: 'causal' });
    assert.match(lm.tokenizer!.renderChat!([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }), /<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/);
    await lm.dispose();
  });

  it('gemma2: the whole input scaled (not the token embeddings), both soft caps by default, every other layer sliding from the first', () => {
    const cfg = parseModelConfig({ model_type: 'gemma2', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32, vocab_size: 100 }) as DecoderConfig;
    assert.deepEqual([cfg.inputScale, cfg.embeddingScale, cfg.attnLogitSoftcap, cfg.finalLogitSoftcap], [8, 1, 50, 30]);
    assert.deepEqual(cfg.layers.map((l) => l.window), [4096, null, 4096, null]);
    assert.equal(cfg.qkNorm, 'none');
  });

  it('smollm3: every fourth layer without RoPE by default', () => {
    const smol = parseModelConfig({ model_type: 'smollm3', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 8, num_attention_heads: 4, vocab_size: 100 }) as DecoderConfig;
    assert.deepEqual(smol.layers.map((l) => l.rope), ['global', 'global', 'global', null, 'global', 'global', 'global', null]);
  });

  it('phi3: RoPE on part of each head; longrope factors per rotated pair; the context stops at original_max_position_embeddings', () => {
    const phi = parseModelConfig({ model_type: 'phi3', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, vocab_size: 100, partial_rotary_factor: 0.75, max_position_embeddings: 4096 }) as DecoderConfig;
    assert.equal(phi.rotaryDim, 24);
    assert.throws(() => parseModelConfig({ model_type: 'phi3', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, vocab_size: 100, partial_rotary_factor: 0.75, rope_scaling: { type: 'longrope', short_factor: [1, 2], long_factor: [1, 2] }, original_max_position_embeddings: 1024 }, 'p.json'), /p\.json: rope_scaling\.short_factor must be 12 numbers/);
    assert.equal(open(join(fixtures, 'phi3-tiny'), 'float32').contextLength, 16);
  });
});

describe('16-bit vocabulary tables', () => {
  it('logits and their gradient from a bfloat16 table widened chunk by chunk equal those of its float32 copy', async () => {
    const V = 5000, d = 8, N = 3;
    const values = Float32Array.from({ length: V * d }, (_, i) => Math.sin(i * 0.37) * 0.5);
    // bfloat16: the top half of each float32 (truncated), and the float32 values it stands for
    const u32 = new Uint32Array(values.buffer);
    const bf16 = Uint16Array.from(u32, (x) => x >>> 16);
    const widened = new Float32Array(new Uint32Array(Array.from(bf16, (x) => x << 16)).buffer);
    const run = async (half: boolean) => {
      const g = new Graph('float32');
      const rows = g.input('rows', 'float32', ['N', d], { requiresGrad: true });
      const table = half ? g.initializer('table', 'bfloat16', [V, d], new Uint8Array(bf16.buffer)) : g.initializer('table', 'float32', [V, d], widened);
      const logits = half ? vocabLogits(rows, table) : linear(rows, table);
      const weights = g.constant(Array.from({ length: N * V }, (_, i) => Math.cos(i)), 'float32', [N, V]);
      const loss = reduceSum(mul(logits, weights), [0, 1], false);
      g.output(logits, 'logits');
      g.output(gradients(loss, [rows])[0], 'grad');
      const session = await createSession(g, new Map(), { device: 'cpu' });
      const out = await session.run({ rows: new ort.Tensor('float32', Float32Array.from({ length: N * d }, (_, i) => (i % 7) - 3), [N, d]) }, ['logits', 'grad']);
      await session.release();
      return { logits: out.logits.data as Float32Array, grad: out.grad.data as Float32Array };
    };
    const half = await run(true);
    const full = await run(false);
    assert.ok(relError(half.logits, full.logits) < 1e-6, `logits ${relError(half.logits, full.logits)}`);
    assert.ok(relError(half.grad, full.grad) < 1e-6, `gradient ${relError(half.grad, full.grad)}`);
  });
});
