// Random-weight checkpoints with the exact configs of real models, written as they ship (BF16
// safetensors in the Hugging Face layout): what speed and memory are measured on when the real
// weights cannot be downloaded. Correctness comes from the real small models and the fixtures.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from './config.js';
import { weightShapes } from './architectures.js';

/** config.json of real checkpoints (the fields the engine reads, values as published). */
export const REAL_CONFIGS: Record<string, Record<string, unknown>> = {
  'SmolLM2-135M': {
    model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
    num_key_value_heads: 3, vocab_size: 49152, max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000,
    tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', torch_dtype: 'bfloat16',
  },
  'Qwen2.5-0.5B': {
    model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000,
    tie_word_embeddings: true, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', use_sliding_window: false,
    sliding_window: 32768, torch_dtype: 'bfloat16',
  },
  'Llama-3.2-1B': {
    model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072, rms_norm_eps: 1e-5,
    rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: 128001, hidden_act: 'silu', torch_dtype: 'bfloat16',
  },
  'Llama-3.1-8B': {
    model_type: 'llama', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 8, head_dim: 128, vocab_size: 128256, max_position_embeddings: 131072, rms_norm_eps: 1e-5,
    rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    tie_word_embeddings: false, bos_token_id: 128000, eos_token_id: 128001, hidden_act: 'silu', torch_dtype: 'bfloat16',
  },
  'Qwen3-0.6B': {
    model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
    num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, max_position_embeddings: 40960, max_window_layers: 28,
    rms_norm_eps: 1e-6, rope_theta: 1000000, rope_scaling: null, tie_word_embeddings: true, attention_bias: false,
    use_sliding_window: false, sliding_window: null, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
    torch_dtype: 'bfloat16',
  },
  'Gemma-3-270M': {
    model_type: 'gemma3_text', hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18, num_attention_heads: 4,
    num_key_value_heads: 1, head_dim: 256, vocab_size: 262144, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: null, query_pre_attn_scalar: 256, sliding_window: 512,
    _sliding_window_pattern: 6,
    layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
    hidden_activation: 'gelu_pytorch_tanh', final_logit_softcapping: null, attn_logit_softcapping: null, attention_bias: false,
    use_bidirectional_attention: false, tie_word_embeddings: true, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
    torch_dtype: 'bfloat16',
  },
  'gpt2': {
    model_type: 'gpt2', n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257, layer_norm_epsilon: 1e-5,
    bos_token_id: 50256, eos_token_id: 50256, activation_function: 'gelu_new', torch_dtype: 'bfloat16',
  },
  'flan-t5-base': {
    model_type: 't5', d_model: 768, d_kv: 64, d_ff: 2048, num_layers: 12, num_decoder_layers: 12, num_heads: 12, vocab_size: 32128,
    relative_attention_num_buckets: 32, relative_attention_max_distance: 128, feed_forward_proj: 'gated-gelu',
    tie_word_embeddings: false, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 1, layer_norm_epsilon: 1e-6,
    torch_dtype: 'bfloat16',
  },
};

/** xorshift32 over bf16 bit patterns: fast enough for billions of weights. */
function fillRandomBf16(out: Uint16Array, state: { s: number }, scale: number, constantOne: boolean): void {
  if (constantOne) {
    out.fill(0x3f80); // 1.0 in bfloat16: norm weights
    return;
  }
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  let s = state.s;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    f[0] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
    out[i] = bits[0] >>> 16;
  }
  state.s = s;
}

/**
 * Writes `folder` with config.json, model.safetensors (BF16, uniform weights of the given scale,
 * norms 1) and the tokenizer files of `tokenizerFolder` (whose ids must fit the vocabulary).
 * Streams tensor by tensor: an 8B checkpoint never sits in memory. Returns the parameter count.
 */
export function writeRandomCheckpoint(folder: string, config: Record<string, unknown>, tokenizerFolder: string, seed = 1, scale = 0.02, options: { repeatChunk?: boolean } = {}): number {
  const cfg = parseModelConfig(config, `${folder}/config.json`);
  const shapes = [...weightShapes(cfg)];
  mkdirSync(folder, { recursive: true });
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((p, d) => p * d, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const path = join(folder, 'model.safetensors');
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let parameters = 0;
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'utf8'));
    const state = { s: (seed * 2654435761) >>> 0 || 1 };
    const chunk = new Uint16Array(1 << 22);
    let filled = false;
    for (const [name, shape] of shapes) {
      let left = shape.reduce((p, d) => p * d, 1);
      parameters += left;
      const isNorm = /norm|ln_|layer_norm/.test(name) && shape.length === 1;
      const isBias = name.endsWith('.bias');
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        const part = chunk.subarray(0, n);
        // repeatChunk: one random chunk reused (an 8B checkpoint in seconds, for speed and memory benches)
        if (isBias || isNorm) {
          if (isBias) part.fill(0);
          else fillRandomBf16(part, state, scale, true);
          filled = false;
        } else if (!options.repeatChunk || !filled || n !== chunk.length) {
          fillRandomBf16(part, state, scale, false);
          filled = n === chunk.length;
        }
        writeSync(fd, part);
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const f of readdirSync(tokenizerFolder)) {
    if (/^(tokenizer.*|special_tokens_map\.json|vocab\.json|merges\.txt|spiece\.model)$/.test(f)) copyFileSync(join(tokenizerFolder, f), join(folder, f));
  }
  return parameters;
}

/** The folder holds a complete checkpoint written by writeRandomCheckpoint. */
export function hasCheckpoint(folder: string): boolean {
  return existsSync(join(folder, 'model.safetensors')) && existsSync(join(folder, 'config.json'));
}
