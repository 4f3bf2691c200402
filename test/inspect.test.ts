// Soft-prompt inspection (Lester et al. 2021, section 7): nearest vocabulary tokens by cosine
// similarity, label similarity, the inspect job and CLI, and the comparison panel's data.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openModel } from '../src/models/load.js';
import type { TunableModel } from '../src/models/tunable.js';
import { continuationIds } from '../src/models/tokenizer.js';
import { inspectSoftPrompt, tokenText } from '../src/tuning/jobs/inspect.js';
import { initSoftPrompt } from '../src/tuning/prompts/prompt-init.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { loadSpec } from '../src/common/spec.js';
import { RunDir } from '../src/common/run-folder.js';
import type { InspectReport } from '../src/common/run-files.js';
import { main } from '../src/cli/main.js';
import { loadComparison } from '../src/extension/logic/comparison-data.js';
import { root, storiesDir, workspace } from './helpers.js';

const mood = (name: string) => join(root, 'data', 'mood', name);
const moodSpec = (extra: Record<string, unknown> = {}) => ({
  name: 'mood', model: storiesDir,
  data: { train: mood('train.jsonl'), dev: mood('dev.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' }, maxExamples: 24 },
  discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
  softPrompt: { length: 4, init: 'class-labels' },
  training: { steps: 2, batchSize: 2, evalEvery: 2 },
  evaluation: { generation: false },
  ...extra,
});
const labels = [{ label: 'happy', text: 'happy' }, { label: 'sad', text: 'sad' }];

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  // main reads process.exitCode, which the test runner sets once any test has failed
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await run(), out };
  } finally {
    process.stdout.write = write;
    process.exitCode = exitCode;
  }
}

describe('nearest vocabulary tokens', () => {
  let lm: TunableModel;
  before(async () => { lm = await openModel(storiesDir); });

  it('a prompt made of token embeddings lists those tokens first, with cosine 1', () => {
    const ids = lm.tokenizer!.encode('Once upon a time the happy dog', { addSpecialTokens: false });
    const prompt = { length: ids.length, dim: lm.cfg.hiddenSize, data: lm.embeddings(ids) };
    const report = inspectSoftPrompt(lm, prompt, labels, { top: 3 });
    assert.equal(report.tokens.length, ids.length);
    for (const [i, t] of report.tokens.entries()) {
      assert.equal(t.neighbours.length, 3);
      assert.equal(t.neighbours[0].id, ids[i]);
      assert.ok(Math.abs(t.neighbours[0].cosine - 1) < 1e-5, `token ${i}: cosine ${t.neighbours[0].cosine}`);
      assert.ok(t.neighbours[1].cosine < t.neighbours[0].cosine && t.neighbours[2].cosine <= t.neighbours[1].cosine);
      assert.equal(t.neighbours[0].text, tokenText(lm.tokenizer!, ids[i]));
    }
    const happy = ids.indexOf(continuationIds(lm.tokenizer!, ' happy')[0]);
    assert.equal(report.tokens[happy].neighbours[0].label, 'happy');
    assert.equal(report.tokensWithLabelNeighbour, 1);
    assert.equal(report.summary, `1 of ${ids.length} prompt tokens have a class label among their top 3 neighbours (happy: 1)`);
  });

  it('special and byte tokens are never neighbours, even of their own embeddings', () => {
    // stories260K: <unk> <s> </s> are 0..2, the byte tokens <0x00>..<0xFF> 3..258
    const ids = [1, 2, 3 + 0x61, 200];
    const report = inspectSoftPrompt(lm, { length: ids.length, dim: lm.cfg.hiddenSize, data: lm.embeddings(ids) }, [], { top: 10 });
    for (const t of report.tokens) for (const nb of t.neighbours) assert.ok(nb.id > 258, `neighbour ${nb.id} (${nb.text}) is special or a byte token`);
    assert.equal(report.vocabularySize, lm.cfg.vocabSize - 259);
  });

  it('reading the table in small chunks finds the same neighbours, never asking for more rows than a chunk', () => {
    const ids = lm.tokenizer!.encode('The little girl', { addSpecialTokens: false });
    const data = lm.embeddings(ids).map((v, i) => v + 0.01 * Math.sin(i));
    const prompt = { length: ids.length, dim: lm.cfg.hiddenSize, data };
    let largest = 0;
    const counting = { cfg: lm.cfg, tokenizer: lm.tokenizer, embeddings: (rows: number[]) => { largest = Math.max(largest, rows.length); return lm.embeddings(rows); } };
    const whole = inspectSoftPrompt(lm, prompt, labels, { top: 5 });
    const chunked = inspectSoftPrompt(counting, prompt, labels, { top: 5, chunkRows: 37 });
    assert.equal(largest, 37);
    assert.deepEqual(chunked, whole);
  });

  it('class-label initialisation: label similarity is 1 on the label rows', () => {
    const spec = loadSpec(workspace(moodSpec()));
    const prompt = initSoftPrompt(lm, spec, 0);
    const report = inspectSoftPrompt(lm, prompt, labels, { top: 5 });
    assert.deepEqual(report.labels.map((l) => l.label), ['happy', 'sad']);
    assert.ok(Math.abs(report.labels[0].similarities[0] - 1) < 1e-5);
    assert.ok(Math.abs(report.labels[1].similarities[1] - 1) < 1e-5);
    assert.ok(report.labels[0].similarities[1] < 0.999, 'the two label rows differ');
    assert.deepEqual(report.tokens.slice(0, 2).map((t) => t.nearestLabel?.label), ['happy', 'sad']);
    // "happy" is one token, so row 0 is its embedding; "sad" is several, so no neighbour names it
    assert.equal(report.tokens[0].neighbours[0].label, 'happy');
    assert.ok(report.tokens.every((t) => t.neighbours.every((nb) => nb.label !== 'sad')));
  });
});

describe('ptune inspect and the comparison panel', () => {
  it('the inspect job writes inspect.json; --json prints it; the panel data carries it', async () => {
    const train = await runJob({ kind: 'train', specFile: workspace(moodSpec()), device: 'cpu' }, () => undefined);
    assert.equal(train.status, 'completed');
    const { code, out } = await captureStdout(() => main(['inspect', train.runDir, '--top', '3', '--json']));
    assert.equal(code, 0);
    const printed = JSON.parse(out) as InspectReport;
    assert.ok(existsSync(join(train.runDir, 'inspect.json')));
    const stored = RunDir.open(train.runDir).readInspect();
    assert.deepEqual(printed, stored);
    assert.deepEqual(Object.keys(printed).sort(), ['createdAt', 'labels', 'model', 'runId', 'schemaVersion', 'summary', 'tokens', 'tokensWithLabelNeighbour', 'top', 'vocabularySize']);
    assert.equal(printed.runId, RunDir.open(train.runDir).id);
    assert.equal(printed.top, 3);
    assert.equal(printed.tokens.length, 4);
    for (const t of printed.tokens) {
      assert.equal(t.neighbours.length, 3);
      for (const nb of t.neighbours) assert.deepEqual(Object.keys(nb).filter((k) => k !== 'label').sort(), ['cosine', 'id', 'text']);
    }
    assert.deepEqual(printed.labels.map((l) => [l.label, l.similarities.length]), [['happy', 4], ['sad', 4]]);

    const table = await captureStdout(() => main(['inspect', train.runDir, '--top', '2']));
    assert.equal(table.code, 0);
    assert.match(table.out, /^0 {2}".*"\*? -?\d\.\d{3} {2}".*"\*? -?\d\.\d{3} {2}\| nearest label (happy|sad) -?\d\.\d{3}$/m);
    assert.match(table.out, /prompt tokens have a class label among their top 2 neighbours/);

    const data = (await loadComparison([train.runDir])).data;
    assert.equal(data.inspections?.length, 1);
    assert.equal(data.inspections![0].prompt, 'soft');
    assert.ok(data.prompts.some((p) => p.key === data.inspections![0].prompt && p.kind === 'soft'));
    assert.equal(data.inspections![0].report.top, 2);
  });

  it('--top must be a whole number', async () => {
    const { code } = await captureStdout(() => main(['inspect', root, '--top', '0']));
    assert.equal(code, 2);
  });
});
