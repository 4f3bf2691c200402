// Chat prompts: rendering through the model's own chat template (a ChatML and a Llama-3 template on
// the bundled model's tokenizer, checked against the templates' documented output), the spec's
// checks, and a job tuning a soft prompt for the chat format beside zero- and 2-shot chat prompts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSpec, type ChatMessage } from '../src/common/spec.js';
import { readSplit, type Example } from '../src/common/data.js';
import type { PromptResult } from '../src/common/run-files.js';
import { loadTokenizer } from '../src/models/tokenizer.js';
import type { TunableModel } from '../src/models/tunable.js';
import { chatTextForEncoding } from '../src/tuning/prompts/chat.js';
import { chatConversation } from '../src/common/prompt-render.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { loadComparison } from '../src/extension/logic/comparison-data.js';
import { buildSpec, hasChatTemplate } from '../src/extension/logic/new-experiment.js';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

const chatmlDir = join(root, 'test', 'fixtures', 'chat-stories260K-chatml');
const llama3Dir = join(root, 'test', 'fixtures', 'chat-stories260K-llama3');
const mood = (name: string) => join(root, 'data', 'mood', name);

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You judge stories.' },
  { role: 'user', content: 'Story: Tom lost his dog.\nHappy or sad?' },
  { role: 'assistant', content: 'sad' },
  // Llama 3's template trims each content; ChatML keeps it as written
  { role: 'user', content: 'Story: Sue got a kite.\nHappy or sad?  ' },
];

describe('chat templates from tokenizer_config.json', () => {
  it('ChatML renders as documented, with and without the generation prompt', async () => {
    const tok = await loadTokenizer(chatmlDir);
    assert.equal(tok.hasChatTemplate, true);
    const body = '<|im_start|>system\nYou judge stories.<|im_end|>\n'
      + '<|im_start|>user\nStory: Tom lost his dog.\nHappy or sad?<|im_end|>\n'
      + '<|im_start|>assistant\nsad<|im_end|>\n'
      + '<|im_start|>user\nStory: Sue got a kite.\nHappy or sad?  <|im_end|>\n';
    assert.equal(tok.renderChat!(conversation, { addGenerationPrompt: true }), `${body}<|im_start|>assistant\n`);
    assert.equal(tok.renderChat!(conversation, { addGenerationPrompt: false }), body);
  });

  it('Llama 3 renders as documented: BOS first, header ids, trimmed contents, <|eot_id|>', async () => {
    const tok = await loadTokenizer(llama3Dir);
    const body = '<s><|start_header_id|>system<|end_header_id|>\n\nYou judge stories.<|eot_id|>'
      + '<|start_header_id|>user<|end_header_id|>\n\nStory: Tom lost his dog.\nHappy or sad?<|eot_id|>'
      + '<|start_header_id|>assistant<|end_header_id|>\n\nsad<|eot_id|>'
      + '<|start_header_id|>user<|end_header_id|>\n\nStory: Sue got a kite.\nHappy or sad?<|eot_id|>';
    const rendered = tok.renderChat!(conversation, { addGenerationPrompt: true });
    assert.equal(rendered, `${body}<|start_header_id|>assistant<|end_header_id|>\n\n`);
    assert.equal(tok.renderChat!(conversation), body);
    // the template wrote BOS and the tokenizer adds one: the encoded sequence holds it once
    const ids = tok.encode(chatTextForEncoding(tok, rendered));
    assert.equal(ids[0], tok.bosTokenId);
    assert.notEqual(ids[1], tok.bosTokenId);
    assert.equal(tok.decode(ids, { skipSpecialTokens: false }).replace(/^<s> ?/, ''), rendered.slice('<s>'.length));
  });

  it('the bundled model has no chat template', async () => {
    const tok = await loadTokenizer(storiesDir);
    assert.equal(tok.hasChatTemplate, false);
  });

  it('k-shot turns go before the last user message, each a user turn answered by the label text', () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'Judge.' }, { role: 'user', content: 'Story: {story}' }];
    const turns = chatConversation(messages, { story: 'C' }, [{ fields: { story: 'A' }, labelText: 'happy' }, { fields: { story: 'B' }, labelText: 'sad' }]);
    assert.deepEqual(turns, [
      { role: 'system', content: 'Judge.' },
      { role: 'user', content: 'Story: A' }, { role: 'assistant', content: 'happy' },
      { role: 'user', content: 'Story: B' }, { role: 'assistant', content: 'sad' },
      { role: 'user', content: 'Story: C' },
    ]);
  });

  it('a chat prompt\'s label is the assistant\'s reply: the text right after the generation prompt, no separator', async () => {
    const tok = await loadTokenizer(chatmlDir);
    const lm = { tokenizer: tok, contextLength: 512, kind: 'causal', cfg: {}, emptyPrompt: () => ({ length: 0, dim: 64, data: new Float32Array(0) }) } as unknown as TunableModel;
    const spec = loadSpec(workspace(chatSpec(chatmlDir))).spec;
    const evaluator = new Evaluator(lm, spec);
    const prompt = evaluator.prompts.discrete(spec.discretePrompts[0], 0);
    assert.equal(prompt.labelSeparator, '');
    const example: Example = { index: 0, line: 1, fields: { story: 'Tom smiled.' }, label: 'happy' };
    const rendered = '<|im_start|>system\nAnswer happy or sad.<|im_end|>\n<|im_start|>user\nStory: Tom smiled.\nHappy or sad?<|im_end|>\n<|im_start|>assistant\n';
    assert.equal(prompt.rendered!(example), rendered);
    const [happy, sad] = evaluator.labelSequences(prompt, [example]);
    assert.equal(tok.decode(happy.ids.slice(happy.targetStart)), 'happy');
    assert.equal(tok.decode(sad.ids.slice(sad.targetStart)), 'sad');
    assert.deepEqual(happy.ids.slice(0, happy.targetStart), tok.encode(rendered));
  });
});

function chatSpec(model: string, extra: Record<string, unknown> = {}) {
  const user = { role: 'user', content: 'Story: {story}\nHappy or sad?' };
  return {
    name: 'mood-chat', model,
    data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), test: mood('test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 12 },
    discretePrompts: [
      { id: 'chat-zero-shot', messages: [{ role: 'system', content: 'Answer happy or sad.' }, user] },
      { id: 'chat-2-shot', shots: 2, messages: [{ role: 'system', content: 'Answer happy or sad.' }, user] },
    ],
    softPrompt: { length: 4, messages: [user] },
    training: { steps: 4, batchSize: 4, evalEvery: 2, seed: 0 },
    evaluation: { generation: true },
    ...extra,
  };
}

describe('chat prompts in the spec', () => {
  it('a prompt with both template and messages is refused at its line', () => {
    const spec = chatSpec(chatmlDir, { discretePrompts: [{ id: 'both', template: '{story}', messages: [{ role: 'user', content: '{story}' }] }] });
    assert.throws(() => loadSpec(workspace(spec)), /exp\.ptune\.json:\d+: discretePrompts\.0\.messages and template exclude each other/);
  });

  it('the last message must be the user\'s', () => {
    const spec = chatSpec(chatmlDir, { softPrompt: { messages: [{ role: 'user', content: '{story}' }, { role: 'assistant', content: 'It was' }] } });
    assert.throws(() => loadSpec(workspace(spec)), /exp\.ptune\.json:\d+: softPrompt\.messages\.1\.role is "assistant"; the last message must be the user's/);
  });

  it('every message content may only name fields every record has, said at its line', async () => {
    const spec = chatSpec(chatmlDir);
    spec.discretePrompts[1].messages[0] = { role: 'system', content: 'Genre: {genre}' };
    await assert.rejects(() => readSplit(loadSpec(workspace(spec)), 'train'), /exp\.ptune\.json:\d+: discretePrompts\.1\.messages\.0\.content names field \{genre\}, which .*train\.jsonl does not have/);
  });
});

describe('a job with chat prompts', () => {
  it('trains a soft prompt for the chat format and compares it with zero- and 2-shot chat prompts', async () => {
    const file = workspace(chatSpec(chatmlDir));
    const summary = await runJob({ kind: 'train', specFile: file, device: 'cpu' }, () => undefined);
    assert.equal(summary.status, 'completed');
    assert.deepEqual(summary.results.map((r) => r.id).sort(), ['chat-2-shot', 'chat-zero-shot', 'soft']);
    const evaluated = JSON.parse(readFileSync(join(summary.runDir, 'eval.json'), 'utf8')) as { results: PromptResult[] };
    const rendered = Object.fromEntries(evaluated.results.map((r) => [r.id, r.rendered]));
    const firstStory = JSON.parse(readFileSync(mood('test.jsonl'), 'utf8').split('\n')[0]).story as string;
    const query = `<|im_start|>user\nStory: ${firstStory}\nHappy or sad?<|im_end|>\n<|im_start|>assistant\n`;
    assert.equal(rendered['chat-zero-shot'], `<|im_start|>system\nAnswer happy or sad.<|im_end|>\n${query}`);
    assert.equal(rendered.soft, query);
    // two demonstrations from train, each answered by its label's text, then the query
    const shots = rendered['chat-2-shot']!;
    assert.ok(shots.startsWith('<|im_start|>system\nAnswer happy or sad.<|im_end|>\n') && shots.endsWith(query), shots);
    const demos = [...shots.matchAll(/<\|im_start\|>user\nStory: ([^]*?)\nHappy or sad\?<\|im_end\|>\n<\|im_start\|>assistant\n(happy|sad)<\|im_end\|>\n/g)];
    assert.equal(demos.length, 2, shots);
    const train = readFileSync(mood('train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { story: string; mood: string });
    for (const [, story, label] of demos) assert.equal(train.find((r) => r.story === story)?.mood, label, story);
    const predictions = readFileSync(join(summary.runDir, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { promptId: string });
    for (const id of ['chat-zero-shot', 'chat-2-shot', 'soft']) assert.equal(predictions.filter((p) => p.promptId === id).length, 12);
    // the comparison panel gets the same text for its prompt tooltip
    const comparison = (await loadComparison([summary.runDir])).data;
    assert.deepEqual(Object.fromEntries(comparison.prompts.map((p) => [p.id, p.rendered])), rendered);
  });

  it('a model without a chat template is refused before training, naming the prompt and the model folder', async () => {
    const runsDir = join(tempDir(), 'runs');
    const file = workspace(chatSpec(storiesDir, { softPrompt: { length: 4 } }));
    await assert.rejects(() => runJob({ kind: 'train', specFile: file, device: 'cpu', runsDir }, () => undefined),
      /exp\.ptune\.json:\d+: discretePrompts\.0\.messages: prompt "chat-zero-shot" is a chat prompt, but the model .*stories260K has no chat template/);
    assert.equal(existsSync(runsDir), false);
  });
});

describe('New Experiment with a chat model', () => {
  it('adds zero- and 4-shot chat prompts when the model folder has a chat template, and the spec loads', () => {
    assert.equal(hasChatTemplate(chatmlDir), true);
    assert.equal(hasChatTemplate(storiesDir), false);
    const answers = { name: 'mood', model: chatmlDir, train: mood('train.jsonl'), test: mood('test.jsonl'), textField: 'story', labelField: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, discreteTemplate: '{story} It was' };
    const specDir = tempDir();
    const spec = buildSpec({ ...answers, specDir });
    const chat = [{ role: 'system', content: 'Answer with one of: happy, sad.' }, { role: 'user', content: '{story}' }];
    assert.deepEqual((spec.discretePrompts as object[]).slice(2), [{ id: 'chat-zero-shot', messages: chat }, { id: 'chat-4-shot', messages: chat, shots: 4 }]);
    const file = join(specDir, 'mood.ptune.json');
    writeFileSync(file, JSON.stringify(spec));
    assert.deepEqual(loadSpec(file).spec.discretePrompts.map((p) => p.id), ['zero-shot', '4-shot', 'chat-zero-shot', 'chat-4-shot']);
    assert.equal((buildSpec({ ...answers, specDir, model: storiesDir }).discretePrompts as object[]).length, 2);
  });
});
