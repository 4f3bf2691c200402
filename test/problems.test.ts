// Every problem of a spec and its data at once, at its line (the Problems view), and
// data.onBadRecord "skip" reading past bad records and listing them in the run.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { readSplit } from '../src/common/data.js';
import type { InputProblem } from '../src/common/errors.js';
import { loadSpec, parseSpec } from '../src/common/spec.js';
import { specProblems } from '../src/common/spec-problems.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { baseSpec, root, storiesDir, workspace } from './helpers.js';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const goodRows = [{ text: 'a fine day', label: 'pos' }, { text: 'a sad day', label: 'neg' }, { text: 'lovely', label: 'pos' }, { text: 'awful', label: 'neg' }];

/** The 1-based line of the first line of `file` containing `needle`. */
function lineWith(file: string, needle: string): number {
  const index = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle));
  assert.ok(index >= 0, `${needle} not in ${file}`);
  return index + 1;
}

const summary = (problems: InputProblem[]) => problems.map((p) => `${p.severity} ${p.file}:${p.line}:${p.column ?? ''} ${p.message}`).join('\n');

describe('problems of a spec and its data, all at once', () => {
  it('reports a template field typo, a verbalizer key absent from the data and a missing test file, each at its line', async () => {
    const file = workspace(baseSpec(
      { test: 'test.jsonl', verbalizer: { pos: 'good', neg: 'bad', neutral: 'so-so' } },
      { discretePrompts: [{ id: 'typo', template: 'Review: {txet} It was' }] },
    ), { 'train.jsonl': jsonl(goodRows), 'dev.jsonl': jsonl(goodRows) });
    const problems = await specProblems(file);
    const inSpec = problems.filter((p) => p.file === file);
    assert.equal(inSpec.length, 3, summary(problems));
    const typo = inSpec.find((p) => p.field === 'discretePrompts.0.template');
    assert.ok(typo, summary(problems));
    assert.equal(typo.severity, 'error');
    assert.equal(typo.line, lineWith(file, '{txet}'));
    // the column points at the field inside the template
    assert.equal(typo.column, readFileSync(file, 'utf8').split('\n')[typo.line - 1].indexOf('{txet}') + 1);
    assert.match(typo.message, /names field \{txet\}, which no record of train\.jsonl or dev\.jsonl has/);
    const key = inSpec.find((p) => p.field === 'data.verbalizer.neutral');
    assert.ok(key, summary(problems));
    assert.equal(key.line, lineWith(file, '"neutral"'));
    assert.match(key.message, /no record of .* has the label "neutral" \(labels found: pos, neg\)/);
    const missing = inSpec.find((p) => p.field === 'data.test');
    assert.ok(missing, summary(problems));
    assert.equal(missing.severity, 'error');
    assert.equal(missing.line, lineWith(file, '"test":'));
    assert.match(missing.message, /test\.jsonl not found; create it or correct the path/);
    // the CLI still stops at the first of them, as before
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /discretePrompts\.0\.template names field \{txet\}/);
  });

  it('reports every schema error of the spec, not only the first', async () => {
    const file = workspace(baseSpec({}, { training: { steps: 0, optimizer: 'sgd' } }), { 'train.jsonl': jsonl(goodRows), 'dev.jsonl': jsonl(goodRows) });
    const problems = await specProblems(file);
    assert.deepEqual(problems.map((p) => p.field).sort(), ['training.optimizer', 'training.steps'], summary(problems));
    assert.equal(problems.find((p) => p.field === 'training.steps')?.line, lineWith(file, '"steps"'));
    assert.throws(() => loadSpec(file), /training\.(steps|optimizer)/);
  });

  it('names each malformed JSONL line and groups records missing a field or with an unknown label', async () => {
    const lines = [
      JSON.stringify(goodRows[0]),
      '{"text": "cut off", "label": "pos"',
      JSON.stringify(goodRows[1]),
      '[1, 2]',
      JSON.stringify({ label: 'pos' }),
      JSON.stringify({ text: 'meh', label: 'meh' }),
      JSON.stringify({ text: 'also meh', label: 'meh' }),
    ];
    const file = workspace(baseSpec(), { 'train.jsonl': lines.join('\n') + '\n', 'dev.jsonl': jsonl(goodRows) });
    const train = join(dirname(file), 'train.jsonl');
    const problems = (await specProblems(file)).filter((p) => p.file === train);
    const at = (line: number) => problems.find((p) => p.line === line)?.message ?? '';
    assert.equal(problems.length, 4, summary(problems));
    assert.match(at(2), /not valid JSON/);
    assert.match(at(4), /expected a JSON object with named fields, got an array/);
    assert.match(at(5), /field "text" is missing \(data\.text uses it\)/);
    assert.match(at(6), /label "meh" is not in data\.verbalizer .*\(1 more record like it: line 7\)/);
    assert.ok(problems.every((p) => p.severity === 'error'));
  });

  it('names a CSV row with the wrong column count and the record where a quote is never closed', async () => {
    const csv = 'text,label\n"fine",pos\nthree,columns,neg\n"never closed,neg\nlovely,pos\n';
    const file = workspace(baseSpec({ train: 'train.csv', dev: undefined }), { 'train.csv': csv });
    const train = join(dirname(file), 'train.csv');
    const problems = (await specProblems(file)).filter((p) => p.file === train);
    assert.equal(problems.length, 2, summary(problems));
    assert.match(problems.find((p) => p.line === 3)?.message ?? '', /3 columns, but the header names 2/);
    assert.match(problems.find((p) => p.line === 4)?.message ?? '', /quote opened in this record is never closed/);
    // the trainer stops at the quote with the same line
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.csv:3: 3 columns/);
    writeFileSync(train, 'text,label\n"fine",pos\n"never closed,neg\nlovely,pos\n');
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.csv:3: a quote opened in this record is never closed/);
  });

  it('warns of label texts of very different lengths', async () => {
    const file = workspace(baseSpec({ verbalizer: { pos: 'good', neg: 'not good at all, sadly' } }), { 'train.jsonl': jsonl(goodRows), 'dev.jsonl': jsonl(goodRows) });
    const problems = await specProblems(file);
    assert.equal(problems.length, 1, summary(problems));
    assert.equal(problems[0].severity, 'warning');
    assert.equal(problems[0].line, lineWith(file, '"verbalizer"'));
    assert.match(problems[0].message, /label texts have 4 to 22 characters/);
  });

  it('checks only the first records of a large file and says so', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => goodRows[i % 4]);
    const file = workspace(baseSpec(), { 'train.jsonl': jsonl(rows), 'dev.jsonl': jsonl(goodRows) });
    const problems = await specProblems(file, { scanLimit: 10 });
    assert.equal(problems.length, 1, summary(problems));
    assert.equal(problems[0].severity, 'info');
    assert.equal(problems[0].line, lineWith(file, '"train"'));
    assert.match(problems[0].message, /only the first 10 records of train\.jsonl were checked/);
  });
});

describe('data.onBadRecord', () => {
  const badLines = [
    JSON.stringify(goodRows[0]),
    'not json at all',
    JSON.stringify({ text: 'no label here' }),
    JSON.stringify(goodRows[1]),
    JSON.stringify({ label: 'neg' }),
    JSON.stringify({ text: 'meh', label: 'meh' }),
    JSON.stringify(goodRows[2]),
  ].join('\n') + '\n';

  it('is "error" by default: the first bad record stops the reading', async () => {
    const file = workspace(baseSpec(), { 'train.jsonl': badLines, 'dev.jsonl': jsonl(goodRows) });
    assert.equal(loadSpec(file).spec.data.onBadRecord, 'error');
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /train\.jsonl:2: not valid JSON/);
  });

  it('with "skip" reads the good records and lists each skipped one with its line and reason', async () => {
    const file = workspace(baseSpec({ onBadRecord: 'skip' }), { 'train.jsonl': badLines, 'dev.jsonl': jsonl(goodRows) });
    const split = await readSplit(loadSpec(file), 'train');
    assert.deepEqual(split.examples.map((e) => [e.line, e.label]), [[1, 'pos'], [4, 'neg'], [7, 'pos']]);
    assert.deepEqual(split.counts, { pos: 2, neg: 1 });
    const skipped = split.skipped ?? [];
    assert.deepEqual(skipped.map((s) => s.line), [2, 3, 5, 6]);
    assert.ok(skipped.every((s) => s.file === join(dirname(file), 'train.jsonl')));
    assert.match(skipped[0].reason, /not valid JSON/);
    assert.match(skipped[1].reason, /label field "label" is missing/);
    assert.match(skipped[2].reason, /field "text" is missing/);
    assert.match(skipped[3].reason, /label "meh" is not in data\.verbalizer/);
    // the Problems view shows them as warnings that say they will be skipped
    const problems = (await specProblems(file)).filter((p) => p.file.endsWith('train.jsonl'));
    assert.equal(problems.length, 4);
    assert.ok(problems.every((p) => p.severity === 'warning' && /skipped in training/.test(p.message)), summary(problems));
  });

  it('with "skip" still refuses a split whose every record is bad, naming the first', async () => {
    const file = workspace(baseSpec({ onBadRecord: 'skip' }), { 'train.jsonl': 'oops\n{"label":"pos"}\n', 'dev.jsonl': jsonl(goodRows) });
    await assert.rejects(() => readSplit(loadSpec(file), 'train'), /every record of the train split was skipped .* 2 in all; the first, line 1: not valid JSON/);
  });

  it('is checked by the schema', () => {
    assert.throws(() => parseSpec(JSON.stringify(baseSpec({ onBadRecord: 'ignore' })), join(root, 'x.ptune.json')), /data\.onBadRecord must be one of "error", "skip"/);
  });

  it('a train job with "skip" on corrupted mood data trains and lists the skipped records in run.json', async () => {
    const mood = (split: string) => readFileSync(join(root, 'data', 'mood', `${split}.jsonl`), 'utf8').split('\n').filter(Boolean).slice(0, 24);
    const train = mood('train');
    train.splice(3, 0, '{"story": "cut off');
    const test = mood('test');
    test[5] = JSON.stringify({ story: 'a story with a label nobody knows', mood: 'bored' });
    const file = workspace({
      name: 'skip', model: storiesDir,
      data: { train: 'train.jsonl', test: 'test.jsonl', text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, onBadRecord: 'skip' },
      discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
      softPrompt: { length: 2, init: 'random-uniform' },
      training: { steps: 2, batchSize: 4, evalEvery: 2 },
      evaluation: { generation: false },
    }, { 'train.jsonl': train.join('\n') + '\n', 'test.jsonl': test.join('\n') + '\n' });
    const logs: string[] = [];
    const result = await runJob({ kind: 'train', specFile: file, device: 'cpu' }, (e) => { if (e.type === 'log') logs.push(e.message); });
    assert.equal(result.status, 'completed');
    const record = JSON.parse(readFileSync(join(result.runDir, 'run.json'), 'utf8')) as { skipped?: { file: string; line: number; reason: string }[] };
    const dir = dirname(file);
    assert.deepEqual(record.skipped?.map((s) => [s.file, s.line]), [[join(dir, 'train.jsonl'), 4], [join(dir, 'test.jsonl'), 6]]);
    assert.match(record.skipped?.[1].reason ?? '', /label "bored" is not in data\.verbalizer/);
    assert.ok(logs.some((l) => /^train: 24 examples; .*1 bad records skipped under data\.onBadRecord \(line 4: not valid JSON/.test(l)), logs.join('\n'));
    const evaluation = JSON.parse(readFileSync(join(result.runDir, 'eval.json'), 'utf8')) as { results: { id: string }[] };
    assert.ok(evaluation.results.length > 0);
  });
});
