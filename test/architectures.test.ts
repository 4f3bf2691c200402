// Every architecture trains a soft prompt through the whole job (spec, data, training,
// evaluation, PEFT export): tiny random models with real tokenizers on the bundled mood task.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TrainerEvent } from '../src/common/protocol.js';
import { readSafetensorsHeader } from '../src/common/safetensors.js';
import { readPeftAdapter } from '../src/common/peft-adapter.js';
import { randomCheckpoint, root, storiesDir, workspace } from './helpers.js';
import { runJob } from '../src/tuning/jobs/index.js';

const mood = (name: string) => join(root, 'data', 'mood', name);

async function trainsAndLowersDevLoss(model: string): Promise<{ runDir: string; evals: Extract<TrainerEvent, { type: 'eval' }>[] }> {
  const spec = workspace({
    name: 'arch', model,
    data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 40 },
    discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
    softPrompt: { length: 4, init: 'random-uniform' },
    training: { optimizer: 'adam', learningRate: 0.05, steps: 30, batchSize: 8, evalEvery: 15, sampling: 'balanced' },
    evaluation: { generation: true },
  });
  const evals: Extract<TrainerEvent, { type: 'eval' }>[] = [];
  const summary = await runJob({ kind: 'train', specFile: spec, device: 'cpu' }, (e) => { if (e.type === 'eval') evals.push(e); });
  assert.equal(summary.status, 'completed');
  assert.ok(evals[evals.length - 1].nll < evals[0].nll, `dev NLL ${evals.map((e) => e.nll.toFixed(4)).join(' -> ')}`);
  return { runDir: summary.runDir, evals };
}

describe('architectures train end to end', () => {
  it('GPT-2 (random weights, the real GPT-2 tokenizer)', async () => {
    const model = randomCheckpoint({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 2, n_positions: 256, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 }, join(root, 'tokenizers', 'gpt2'), ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], 1, 0.1);
    const { runDir } = await trainsAndLowersDevLoss(model);
    const adapter = readPeftAdapter(runDir);
    assert.equal(adapter.config.task_type, 'CAUSAL_LM');
    assert.deepEqual([adapter.prompt.length, adapter.prompt.dim], [4, 32]);
  });
});

/** stories260K's shape (width 64, 8 heads over 4 key/value heads, its 512-token tokenizer), two layers, each family's options. */
const storiesShape = { hidden_size: 64, intermediate_size: 172, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, bos_token_id: 1, eos_token_id: 2 };
export const FAMILY_CHECKPOINTS: Record<string, Record<string, unknown>> = {
  qwen3: { ...storiesShape, model_type: 'qwen3', head_dim: 16, rope_theta: 1000000, tie_word_embeddings: true },
  gemma3_text: { ...storiesShape, model_type: 'gemma3_text', head_dim: 16, num_key_value_heads: 1, query_pre_attn_scalar: 16, sliding_window: 32, layer_types: ['sliding_attention', 'full_attention'], hidden_activation: 'gelu_pytorch_tanh' },
  gemma2: { ...storiesShape, model_type: 'gemma2', head_dim: 16, num_key_value_heads: 4, query_pre_attn_scalar: 16, sliding_window: 32, hidden_activation: 'gelu_pytorch_tanh' },
  smollm3: { ...storiesShape, model_type: 'smollm3', no_rope_layers: [1, 0], rope_theta: 5000000 },
  olmo2: { ...storiesShape, model_type: 'olmo2', num_key_value_heads: 8 },
  phi3: { ...storiesShape, model_type: 'phi3', partial_rotary_factor: 0.75, original_max_position_embeddings: 256, sliding_window: 64, rope_scaling: { type: 'longrope', short_factor: [1, 1, 1.2], long_factor: [2, 3, 4] } },
};

describe('the 2025 families train end to end (random weights of stories260K\'s size, its tokenizer)', () => {
  for (const [family, config] of Object.entries(FAMILY_CHECKPOINTS)) {
    it(`${family}: trains, evaluates with generation, exports a PEFT adapter`, async () => {
      const model = randomCheckpoint(config, storiesDir, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], 4, 0.1);
      const { runDir } = await trainsAndLowersDevLoss(model);
      const adapter = readPeftAdapter(runDir);
      assert.equal(adapter.config.task_type, 'CAUSAL_LM');
      assert.deepEqual([adapter.prompt.length, adapter.prompt.dim], [4, 64]);
    });
  }
});

describe('T5 (encoder-decoder)', () => {
  it('trains a soft prompt in front of the encoder input, and exports it in PEFT\'s seq2seq layout', async () => {
    // a random T5 with the stories260K tokenizer (vocab 512): any tokenizer serves a random model
    const model = randomCheckpoint({ model_type: 't5', d_model: 32, d_kv: 8, d_ff: 48, num_layers: 2, num_decoder_layers: 2, num_heads: 4, vocab_size: 512, relative_attention_num_buckets: 16, relative_attention_max_distance: 64, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, scale_decoder_outputs: false, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 2 }, storiesDir, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], 3, 0.2);
    const { runDir } = await trainsAndLowersDevLoss(model);
    const adapter = readPeftAdapter(runDir);
    assert.equal(adapter.config.task_type, 'SEQ_2_SEQ_LM');
    assert.equal(adapter.config.num_transformer_submodules, 2);
    assert.equal(adapter.config.num_virtual_tokens, 4);
    const file = readSafetensorsHeader(join(runDir, 'adapter_model.safetensors'));
    assert.deepEqual(file.tensors.get('prompt_embeddings')!.shape, [8, 32]);
  });
});

describe('ptune generate and gradcheck cover every architecture', () => {
  it('generates with a random GPT-2 and a random T5', () => {
    const cli = join(root, 'bin', 'ptune.js');
    const gpt2 = randomCheckpoint({ model_type: 'gpt2', n_embd: 16, n_head: 2, n_layer: 1, n_positions: 64, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 }, join(root, 'tokenizers', 'gpt2'), ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], 2, 0.1);
    const t5 = randomCheckpoint({ model_type: 't5', d_model: 16, d_kv: 4, d_ff: 24, num_layers: 1, num_heads: 4, vocab_size: 512, feed_forward_proj: 'relu', decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 2 }, storiesDir, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], 2, 0.2);
    for (const model of [gpt2, t5]) {
      const out = JSON.parse(execFileSync(process.execPath, [cli, 'generate', '--model', model, '--prompt', 'Once upon a time', '--max-new-tokens', '3', '--json'], { encoding: 'utf8' }));
      assert.equal(out.device, 'cpu');
      assert.ok(out.ids.length >= 4 && out.ids.length <= 4 + 3 + 1, JSON.stringify(out));
    }
  });
  it('gradcheck --json names gpt2 and t5 variants', () => {
    const out = JSON.parse(execFileSync(process.execPath, [join(root, 'bin', 'ptune.js'), 'gradcheck', '--json'], { encoding: 'utf8' }));
    const names: string[] = out.variants.map((v: { name: string }) => v.name);
    assert.ok(names.some((n) => n.startsWith('gpt2')) && names.some((n) => n.startsWith('t5')), names.join(', '));
    assert.ok(out.maxRelError < 1e-5);
  });
});
