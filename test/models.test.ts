// Model folders: config and safetensors validation, each bad input with a clear message.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseModelConfig, ropeInverseFrequencies, type LlamaConfig } from '../src/models/config.js';
import { openModel } from '../src/models/load.js';
import { encodeSafetensors, readCheckpoint, readSafetensorsHeader } from '../src/common/safetensors.js';
import { root, storiesDir, tempDir } from './helpers.js';

function rawSafetensors(header: object, dataBytes: number, headerLengthOverride?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(headerLengthOverride ?? BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

function writeTemp(name: string, data: Buffer): string {
  const file = join(tempDir(), name);
  writeFileSync(file, data);
  return file;
}

/** A copy of stories260K with one file replaced. */
function storiesVariant(change: (dir: string) => void): string {
  const dir = tempDir('ptune-model-');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join(storiesDir, f), join(dir, f));
  change(dir);
  return dir;
}

describe('safetensors validation', () => {
  it('rejects a header longer than the file', () => {
    const file = writeTemp('a.safetensors', rawSafetensors({}, 0, 5000n));
    assert.throws(() => readSafetensorsHeader(file), /a\.safetensors: safetensors header claims 5000 bytes but the file has only \d+; the file is truncated/);
  });
  it('rejects a header over 100 MB', () => {
    const file = writeTemp('b.safetensors', rawSafetensors({}, 0, 200_000_000n));
    assert.throws(() => readSafetensorsHeader(file), /over the 100 MB limit/);
  });
  it('rejects offsets out of range', () => {
    const file = writeTemp('c.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8));
    assert.throws(() => readSafetensorsHeader(file), /tensor "w" has data_offsets \[0, 16\] outside the 8 data bytes/);
  });
  it('rejects overlapping tensors', () => {
    const file = writeTemp('d.safetensors', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 16));
    assert.throws(() => readSafetensorsHeader(file), /tensors "a" and "b" overlap/);
  });
  it('rejects unknown dtypes', () => {
    const file = writeTemp('e.safetensors', rawSafetensors({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2));
    assert.throws(() => readSafetensorsHeader(file), /tensor "w" has dtype F8_E4M3, which is not supported/);
  });
  it('rejects a size that does not match the shape', () => {
    const file = writeTemp('f.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8));
    assert.throws(() => readSafetensorsHeader(file), /tensor "w" of shape \[3\] F32 needs 12 bytes but data_offsets span 8/);
  });
  it('reads a sharded checkpoint through its index', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'part1.safetensors'), encodeSafetensors([{ name: 'a', shape: [2], data: new Float32Array([1, 2]) }]));
    writeFileSync(join(dir, 'part2.safetensors'), encodeSafetensors([{ name: 'b', shape: [1], data: new Float32Array([3]) }]));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'part1.safetensors', b: 'part2.safetensors' } }));
    const all = readCheckpoint(dir);
    assert.deepEqual([...all.keys()].sort(), ['a', 'b']);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'part1.safetensors', c: 'part2.safetensors' } }));
    assert.throws(() => readCheckpoint(dir), /weight_map names tensor "c" in part2\.safetensors, but that shard does not contain it/);
  });
});

describe('model folder validation', () => {
  it('rejects an unsupported model_type', () => {
    assert.throws(() => parseModelConfig({ model_type: 'bert', hidden_size: 8 }, 'x/config.json'), /x\/config\.json: model_type "bert" is not supported \(supported: llama, mistral, qwen2/);
  });
  it('rejects a config without required fields', () => {
    assert.throws(() => parseModelConfig({ model_type: 'llama' }, 'c.json'), /c\.json: field "hidden_size" must be a positive integer/);
  });
  it('rejects weights whose shapes do not match config.json', async () => {
    const dir = storiesVariant((d) => {
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 100 }));
    });
    await assert.rejects(() => openModel(dir, { kind: 'causal' }), /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[172,64\] but config\.json implies \[100,64\]/);
  });
  it('rejects a checkpoint with a missing tensor', () => {
    const dir = storiesVariant((d) => {
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, tie_word_embeddings: false }));
    });
    return assert.rejects(() => openModel(dir, { kind: 'causal' }), /tensor "lm_head\.weight" is missing; config\.json \(model_type llama\) expects it/);
  });
  it('rejects a folder without weights, config or tokenizer', async () => {
    const empty = tempDir();
    await assert.rejects(() => openModel(empty, { kind: 'causal' }), /no config\.json/);
    copyFileSync(join(storiesDir, 'config.json'), join(empty, 'config.json'));
    await assert.rejects(() => openModel(empty, { kind: 'causal' }), /no model\.safetensors or model\.safetensors\.index\.json/);
  });
  it('loads F16 and BF16 checkpoints (computed in float32)', async () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = storiesVariant((d) => writeFileSync(join(d, 'model.safetensors'), narrowCheckpoint(join(storiesDir, 'model.safetensors'), dtype)));
      const lm = await openModel(dir, { kind: 'causal' });
      const logits = await lm.logitsAt([1], 0);
      const best = logits.indexOf(Math.max(...logits));
      assert.equal(best, 403, `${dtype}: top token ${best}`);
      assert.ok(Math.abs(logits[403] - 17.0235) < (dtype === 'F16' ? 0.05 : 0.5), `${dtype}: ${logits[403]}`);
      await lm.dispose();
    }
  });
});

describe('sliding-window attention (Mistral)', () => {
  it('sequences longer than the window are refused, not computed wrongly', async () => {
    const { LanguageModel } = await import('../src/models/language-model.js');
    const { buildModel } = await import('../src/models/architectures.js');
    const { randomWeights } = await import('../src/models/random-model.js');
    const cfg = parseModelConfig({ model_type: 'mistral', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 40, max_position_embeddings: 64, sliding_window: 8 });
    const lm = new LanguageModel(buildModel(cfg, randomWeights(cfg, 1)), null);
    assert.equal(lm.contextLength, 8);
    await assert.rejects(() => lm.score([{ ids: [1, 5, 6, 7, 8, 9, 10, 11, 12], targetStart: 1 }], lm.emptyPrompt()), /a sequence of 9 positions \(soft prompt \+ tokens\) is longer than the model's context of 8/);
    const qwen = parseModelConfig({ model_type: 'qwen2', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 40, sliding_window: 8, use_sliding_window: false }) as LlamaConfig;
    assert.equal(qwen.slidingWindow, null);
  });
});

describe('llama3 rope scaling', () => {
  it('keeps high frequencies, divides low ones by the factor', () => {
    const cfg = parseModelConfig({ model_type: 'llama', hidden_size: 64, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 1, vocab_size: 8, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }) as LlamaConfig;
    const plain = ropeInverseFrequencies({ ...cfg, ropeScaling: null });
    const scaled = ropeInverseFrequencies(cfg);
    assert.equal(scaled[0], plain[0]);
    assert.ok(Math.abs(scaled[31] - plain[31] / 8) < 1e-15);
  });
});

/** Re-encodes an F32 checkpoint as F16 or BF16 (round to nearest even). */
function narrowCheckpoint(file: string, dtype: 'F16' | 'BF16'): Buffer {
  const header = readSafetensorsHeader(file);
  const buf = readFileSync(file);
  const meta: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of header.tensors.values()) {
    const f32 = new Float32Array(buf.buffer.slice(buf.byteOffset + t.offset, buf.byteOffset + t.offset + t.length));
    const out = new Uint16Array(f32.length);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < f32.length; i++) out[i] = dtype === 'BF16' ? (u32[i] + 0x7fff + ((u32[i] >> 16) & 1)) >>> 16 : toHalf(f32[i]);
    meta[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + out.byteLength] };
    offset += out.byteLength;
    chunks.push(Buffer.from(out.buffer));
  }
  const json = Buffer.from(JSON.stringify(meta));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...chunks]);
}

function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign | Math.round((mant | 0x800000) / 2 ** (14 - exp));
  if (exp >= 31) return sign | 0x7c00;
  return sign | ((exp << 10) + Math.round(mant / 8192));
}

describe('TinyStories-656K (a second real pretrained model, a real Hugging Face export)', () => {
  it('loads with its tied head stored only as lm_head.weight, and writes as a TinyStories model does', async () => {
    const lm = await openModel(join(root, 'models', 'TinyStories-656K'), { kind: 'causal' });
    const tok = lm.tokenizer!;
    const ids = tok.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.');
    assert.equal(ids[0], 1, 'the post-processor adds <|start_story|> as BOS');
    const [s] = await lm.score([{ ids, targetStart: 1 }], lm.emptyPrompt());
    // a model that had lost its tied head would be near ln(2048) = 7.6 nats per token
    assert.ok(-s.logProb / s.count < 5, `NLL per token ${-s.logProb / s.count}`);
    const { ids: out } = await lm.generate([tok.encode('Once upon a time')], lm.emptyPrompt(), 12);
    assert.match(tok.decode(out[0]), /^Once upon a time, a little girl named Lily/);
    await lm.dispose();
  });
});
