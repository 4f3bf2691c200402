import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { weightShapes } from '../src/models/architectures.js';
import { parseModelConfig } from '../src/models/config.js';
import { randomWeights } from '../src/models/random-model.js';
import { encodeSafetensors } from '../src/common/safetensors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(import.meta.url), '..', '..');
export const storiesDir = join(root, 'models', 'stories260K');
export const tempDir = (prefix = 'ptune-test-') => mkdtempSync(join(tmpdir(), prefix));

/** The largest absolute difference relative to the reference's largest magnitude. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Writes a spec (and data files) into a fresh folder; returns the spec path. */
export function workspace(spec: Record<string, unknown> | string, files: Record<string, string> = {}): string {
  const dir = tempDir('ptune-ws-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const file = join(dir, 'exp.ptune.json');
  writeFileSync(file, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return file;
}

export const baseSpec = (data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'exp',
  model: storiesDir,
  data: { train: 'train.jsonl', dev: 'dev.jsonl', text: '{text} It was', label: 'label', verbalizer: { pos: 'good', neg: 'bad' }, ...data },
  ...extra,
});

/** Writes a random checkpoint of `config` with the given tokenizer files into a folder. */
export function randomCheckpoint(config: Record<string, unknown>, tokenizerDir: string, files: string[], seed = 1, std = 0.3): string {
  const dir = tempDir('ptune-arch-');
  const cfg = parseModelConfig(config);
  const w = randomWeights(cfg, seed, std);
  const tensors = [...weightShapes(cfg)].map(([name, shape]) => ({ name, shape, data: Float32Array.from(w.arrays.get(name)!.data) }));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(join(tokenizerDir, f), join(dir, f));
  return dir;
}

