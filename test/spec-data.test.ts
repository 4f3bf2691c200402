// Bad specs and bad data: every one gets a message that names the file, the line and the field.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSplit } from '../src/common/data.js';
import { loadSpec } from '../src/common/spec.js';
import { fillTemplate, templateFields } from '../src/common/template.js';
import { baseSpec, root, storiesDir, workspace } from './helpers.js';



const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const rows = [{ text: 'a nice day', label: 'pos' }, { text: 'a sad day', label: 'neg' }];

describe('spec validation', () => {
  it('reports invalid JSON with its line', () => {
    const file = workspace('{\n  "name": "x",\n  "model": \n}');
    assert.throws(() => loadSpec(file), (e: Error) => /exp\.ptune\.json:4: not valid JSON \(ValueExpected\)/.test(e.message));
  });
  it('names an unknown field and its line', () => {
    const file = workspace(baseSpec({}, { trainng: { steps: 3 } }));
    assert.throws(() => loadSpec(file), /exp\.ptune\.json:14: trainng is not a known field/);
  });
  it('names a missing required field', () => {
    const file = workspace({ name: 'x', model: storiesDir });
    assert.throws(() => loadSpec(file), /exp\.ptune\.json:1: data is required/);
  });
  it('names a bad enum value and lists the allowed ones', () => {
    const file = workspace(baseSpec({}, { training: { optimizer: 'sgd' } }));
    assert.throws(() => loadSpec(file), /exp\.ptune\.json:15: training\.optimizer must be one of "adafactor", "adam"/);
  });
  it('rejects duplicate prompt ids and missing init options', () => {
    assert.throws(() => loadSpec(workspace(baseSpec({}, { discretePrompts: [{ id: 'a', template: '{text}' }, { id: 'a', template: '{text}' }] }))), /discretePrompts\.1\.id "a" is used twice/);
    assert.throws(() => loadSpec(workspace(baseSpec({}, { softPrompt: { init: 'text' } }))), /softPrompt\.initText is required when init is "text"/);
  });
  it('fills defaults from the paper', () => {
    const { spec } = loadSpec(workspace(baseSpec()));
    assert.equal(spec.training.optimizer, 'adafactor');
    assert.equal(spec.training.learningRate, 0.3);
    assert.equal(spec.softPrompt.length, 100);
    assert.equal(spec.softPrompt.init, 'class-labels');
    assert.equal(spec.softPrompt.template, '{text} It was');
  });
});

describe('data validation', () => {
  it('reads JSONL with string, number and boolean labels', async () => {
    const file = workspace(baseSpec({ verbalizer: { true: 'yes', false: 'no', 1: 'one' } }), { 'train.jsonl': jsonl([{ text: 'a', label: true }, { text: 'b', label: false }, { text: 'c', label: 1 }]) });
    const split = await readSplit(loadSpec(file), 'train');
    assert.deepEqual(split.examples.map((e) => e.label), ['true', 'false', '1']);
    assert.deepEqual(split.counts, { 1: 1, true: 1, false: 1 });
  });
  it('names the line of malformed JSON', async () => {
    const file = workspace(baseSpec(), { 'train.jsonl': `${JSON.stringify(rows[0])}\n\n{"text": "oops", label}\n` });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.jsonl:3: not valid JSON/);
  });
  it('names a missing field with its line', async () => {
    const file = workspace(baseSpec(), { 'train.jsonl': jsonl([rows[0], { label: 'neg' }]) });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.jsonl:2: field "text" is missing \(data\.text uses it\); fields here: label/);
  });
  it('names a label absent from the verbalizer', async () => {
    const file = workspace(baseSpec(), { 'train.jsonl': jsonl([rows[0], { text: 'x', label: 'meh' }]) });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.jsonl:2: label "meh" is not in data\.verbalizer \(known: pos, neg\)/);
  });
  it('rejects an empty split', async () => {
    const file = workspace(baseSpec(), { 'train.jsonl': '\n' });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /the train split has no records/);
  });
  it('names a template field the data does not have, at its line in the spec', async () => {
    const file = workspace(baseSpec({}, { discretePrompts: [{ id: 'z', template: 'Review: {sentence}' }] }), { 'train.jsonl': jsonl(rows) });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /exp\.ptune\.json:\d+: discretePrompts\.0\.template names field \{sentence\}, which .*train\.jsonl does not have \(fields: text, label\)/);
  });
  it('names a missing data file and the spec line that points at it', async () => {
    const file = workspace(baseSpec());
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.jsonl: data file not found \(data\.train at .*exp\.ptune\.json:5\)/);
  });
  it('reads CSV with a header and TSV without one', async () => {
    const csv = workspace(baseSpec({ train: 'train.csv' }), { 'train.csv': 'text,label\n"a, quoted",pos\nplain,neg\n' });
    const a = await readSplit(loadSpec(csv), 'train');
    assert.deepEqual(a.examples.map((e) => [e.fields.text, e.line]), [['a, quoted', 2], ['plain', 3]]);
    const tsv = workspace(baseSpec({ train: 'train.tsv', header: false, columns: ['label', 'text'] }), { 'train.tsv': 'pos\tsome "quoted" text\nneg\tother\n' });
    const b = await readSplit(loadSpec(tsv), 'train');
    assert.deepEqual(b.examples.map((e) => e.fields.text), ['some "quoted" text', 'other']);
  });
  it('names a CSV row with the wrong number of columns', async () => {
    const file = workspace(baseSpec({ train: 'train.csv' }), { 'train.csv': 'text,label\na,pos\nb,neg,extra\n' });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.csv:3: 3 columns, but the header names 2 \(text, label\)/);
  });
  it('reads the real SST-2 TSV and SuperGLUE JSONL files shipped in data/', async () => {
    const sst = workspace(baseSpec({ train: join(root, 'data', 'sst2', 'dev.tsv'), text: '{sentence}', verbalizer: { 0: 'negative', 1: 'positive' } }));
    const split = await readSplit(loadSpec(sst), 'train');
    assert.equal(split.examples.length, 872);
    const boolq = workspace(baseSpec({ train: join(root, 'data', 'superglue', 'boolq', 'train32.jsonl'), text: '{passage} Question: {question}?', verbalizer: { true: 'yes', false: 'no' } }));
    assert.equal((await readSplit(loadSpec(boolq), 'train')).examples.length, 32);
  });
});

describe('templates', () => {
  it('fills fields, keeps escaped braces, lists fields', () => {
    assert.equal(fillTemplate('{{x}} {a}-{ b }', { a: 1, b: true }), '{x} 1-true');
    assert.deepEqual(templateFields('{a} {{lit}} {b} {a}'), ['a', 'b']);
  });
});
