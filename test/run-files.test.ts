// The run folder's files through their typed readers and writers: each round-trips, carries its
// schema version, reads as version 1 where written before versions were recorded, and is refused,
// naming the file, where written by a newer Prompt Tuning Studio.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../src/common/errors.js';
import { importRunFolder } from '../src/common/job-import.js';
import { RunDir } from '../src/common/run-folder.js';
import { SCHEMA_VERSIONS, type EvalFile, type InspectReport, type MetricRow, type Prediction, type RunJsonFiles, type RunRecord, type ScaleFile, type SweepFile, type Unversioned } from '../src/common/run-files.js';
import { comparisonRows } from '../src/tuning/reports/compare.js';
import { tempDir } from './helpers.js';

const now = '2025-01-02T03:04:05.000Z';

const record: Unversioned<RunRecord> = {
  id: 'r', name: 'mood', kind: 'import', importedFrom: '/elsewhere/adapter', specFile: null, spec: null,
  model: { id: 'org/model', folder: '/models/model', revision: null, files: {} },
  seed: null, device: 'none', status: 'completed', createdAt: now, updatedAt: now, step: 0, steps: 0, bestStep: null, bestDevAccuracy: null,
};

const evalFile: Unversioned<EvalFile> = {
  split: 'test', file: '/data/test.jsonl', labels: ['happy', 'sad'], verbalizer: { happy: 'happy', sad: 'sad' }, truncated: 0,
  results: [{ id: 'soft', kind: 'soft', taskParameters: 256, count: 2, accuracy: 0.5, macroF1: 0.333, confusion: [[1, 0], [1, 0]], nll: 1.25, predictedRate: { happy: 1, sad: 0 }, auc: 0.75 }],
};

const inspectReport: Unversioned<InspectReport> = {
  runId: 'r', model: 'org/model', createdAt: now, top: 1, vocabularySize: 100,
  tokens: [{ index: 0, neighbours: [{ id: 7, text: ' happy', cosine: 0.9, label: 'happy' }], nearestLabel: { label: 'happy', cosine: 0.9 } }],
  labels: [{ label: 'happy', text: 'happy', ids: [7], similarities: [0.9] }], tokensWithLabelNeighbour: 1, summary: '1 of 1 prompt tokens have a class label among their top 1 neighbours (happy: 1)',
};

const sweepFile: Unversioned<SweepFile> = {
  split: 'dev', axes: [{ path: 'softPrompt.length', values: [1, 4] }], seeds: [1, 2], overrides: ['training.steps=2'],
  points: [{ values: { 'softPrompt.length': 1 }, accuracy: { mean: 0.5, std: 0, n: 2 }, runs: [{ seed: 1, runDir: '/runs/a', status: 'completed', accuracy: 0.5, macroF1: 0.4, nll: 1 }, { seed: 2, runDir: '/runs/b', status: 'completed', accuracy: 0.5, macroF1: 0.4, nll: 1.1 }] }],
};

const scaleFile: Unversioned<ScaleFile> = {
  points: [{ model: 'org/small', params: 260032, promptDesign: 0.5, promptTuning: 0.75, modelTuning: null }],
  runs: { 'org/small': { promptTuning: '/runs/small', modelTuning: null } },
};

const metrics: MetricRow[] = [{ step: 1, loss: 2.5, learningRate: 0.3 }, { step: 1, split: 'dev', devAccuracy: 0.5, devNll: null }];
const predictions: Prediction[] = [
  { index: 0, line: 1, promptId: 'soft', kind: 'soft', gold: 'happy', prediction: 'happy', correct: true, scores: { happy: -0.1, sad: -2.3 } },
  { index: 0, line: 1, promptId: 'p/stage1', kind: 'pipeline-stage1', gold: 'happy', prediction: 'sad', correct: false, scores: null, stage1: 'sad' },
];

/** Each JSON-object file with its writer, reader and fields. */
const jsonFiles = [
  { name: 'run.json', fields: record, write: (run: RunDir) => run.writeRecord(record), read: (run: RunDir) => run.record },
  { name: 'eval.json', fields: evalFile, write: (run: RunDir) => run.writeEval(evalFile), read: (run: RunDir) => run.readEval() },
  { name: 'inspect.json', fields: inspectReport, write: (run: RunDir) => run.writeInspect(inspectReport), read: (run: RunDir) => run.readInspect() },
  { name: 'sweep.json', fields: sweepFile, write: (run: RunDir) => run.writeSweep(sweepFile), read: (run: RunDir) => run.readSweep() },
  { name: 'scale.json', fields: scaleFile, write: (run: RunDir) => run.writeScale(scaleFile), read: (run: RunDir) => run.readScale() },
] satisfies { name: keyof RunJsonFiles; fields: object; write: (run: RunDir) => object; read: (run: RunDir) => object }[];

const newRun = () => RunDir.create(join(tempDir(), 'runs'), 'files');
const rawJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('run files', () => {
  for (const f of jsonFiles) {
    it(`${f.name} round-trips with its schema version`, () => {
      const run = newRun();
      const written = f.write(run);
      assert.deepEqual(written, { schemaVersion: SCHEMA_VERSIONS[f.name], ...f.fields });
      assert.deepEqual(f.read(run), written);
      const raw = rawJson(run.path(f.name));
      assert.equal(raw.schemaVersion, 1);
      assert.equal(Object.keys(raw)[0], 'schemaVersion', 'the version leads the file');
    });

    it(`${f.name} written without a schema version reads as version 1`, () => {
      const run = newRun();
      writeFileSync(run.path(f.name), JSON.stringify(f.fields));
      assert.deepEqual(f.read(run), { schemaVersion: 1, ...f.fields });
    });

    it(`${f.name} of a newer schema version is refused, naming the file and its version`, () => {
      const run = newRun();
      const file = run.path(f.name);
      writeFileSync(file, JSON.stringify({ ...f.fields, schemaVersion: SCHEMA_VERSIONS[f.name] + 1 }));
      assert.throws(() => f.read(run), (e: unknown) => e instanceof InputError
        && e.message === `${file}: schemaVersion 2 is newer than this version of Prompt Tuning Studio reads (1); update Prompt Tuning Studio to open this run`
        && e.location?.file === file && e.location.field === 'schemaVersion');
    });
  }

  it('a schema version that is no whole number of at least 1 is refused', () => {
    const run = newRun();
    for (const version of [0, 1.5, '1', null]) {
      writeFileSync(run.path('eval.json'), JSON.stringify({ ...evalFile, schemaVersion: version }));
      assert.throws(() => run.readEval(), (e: unknown) => e instanceof Error && e.message === `${run.path('eval.json')}: schemaVersion is ${JSON.stringify(version)}; expected a whole number of at least 1`);
    }
    writeFileSync(run.path('eval.json'), '[]');
    assert.throws(() => run.readEval(), /eval\.json: expected a JSON object/);
  });

  it('rewriting a file read without a version stamps the version this code writes', () => {
    const run = newRun();
    writeFileSync(run.path('run.json'), JSON.stringify(record));
    run.updateRecord({ status: 'failed', error: 'disk full' });
    const raw = rawJson(run.path('run.json'));
    assert.equal(raw.schemaVersion, 1);
    assert.equal(raw.status, 'failed');
  });

  it('metrics.jsonl and predictions.jsonl round-trip, and read as no rows before they exist', () => {
    const run = newRun();
    assert.deepEqual(run.readMetrics(), []);
    assert.deepEqual(run.readPredictions(), []);
    run.writeMetrics(metrics);
    const writer = run.predictionsWriter();
    writer.add(predictions);
    writer.commit();
    assert.deepEqual(run.readMetrics(), metrics);
    assert.deepEqual(run.readPredictions(), predictions);
    assert.equal(readFileSync(run.path('metrics.jsonl'), 'utf8').split('\n').length, metrics.length + 1, 'one line per row');
  });

  it('a record written without claiming keeps the process fields it came with', () => {
    const run = newRun();
    const elsewhere = { ...record, status: 'running' as const, pid: 12345, host: 'cluster-node', heartbeat: now };
    run.writeRecord(elsewhere, { claim: false });
    assert.deepEqual(run.record, { schemaVersion: 1, ...elsewhere });
    run.writeRecord({ ...elsewhere });
    assert.equal(run.record.pid, process.pid, 'a claimed running record is this process\'s');
    run.updateRecord({ status: 'completed' });
  });

  it('compare and the import of a run folder refuse a newer eval.json or run.json by name', () => {
    const run = newRun();
    run.writeRecord(record);
    writeFileSync(run.path('eval.json'), JSON.stringify({ schemaVersion: 3, ...evalFile }));
    assert.throws(() => comparisonRows([run.dir]), /eval\.json: schemaVersion 3 is newer than .*update Prompt Tuning Studio/);
    writeFileSync(run.path('run.json'), JSON.stringify({ ...record, schemaVersion: 2 }));
    assert.throws(() => importRunFolder(run.dir, join(tempDir(), 'runs')), /run\.json: schemaVersion 2 is newer than .*update Prompt Tuning Studio/);
  });
});
