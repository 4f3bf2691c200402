// Mixed-task batches against separate passes: two tasks on stories260K, each with its own
// 20-token soft prompt, scored in shared batches or one task after the other.
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';
import type { DeviceChoice } from '../src/engine/runtime.js';
import { openModel } from '../src/models/load.js';
import { packageRoot } from '../src/common/paths.js';
import { readSplit } from '../src/common/data.js';
import { Evaluator } from '../src/tuning/evaluate/evaluate.js';
import { evaluateMixed, type MixedTask } from '../src/tuning/evaluate/mixed.js';
import { parseSpec } from '../src/common/spec.js';
import { readFileSync } from 'node:fs';

export async function benchMixed(options: { device: DeviceChoice }): Promise<Record<string, unknown>> {
  const file = join(packageRoot(), 'examples', 'mood', 'mood.ptune.json');
  const text = readFileSync(file, 'utf8');
  const a = parseSpec(text, file);
  // a second task on the same data: another template and label words
  const b = parseSpec(text.replace('"name": "mood"', '"name": "mood-words"').replace(/"text": "[^"]*"/, '"text": "{story} The story was"').replace('{ "happy": "happy", "sad": "sad" }', '{ "happy": "good", "sad": "bad" }'), file);
  const lm = await openModel(a.resolvePath(a.spec.model), { kind: 'causal', device: options.device });
  const rng = new Rng(4);
  const prompt = () => ({ length: 20, dim: 64, data: Float32Array.from({ length: 20 * 64 }, () => rng.uniform(-0.5, 0.5)) });
  const tasks: MixedTask[] = [];
  for (const loaded of [a, b]) tasks.push({ id: loaded.spec.name, evaluator: new Evaluator(lm, loaded.spec), split: await readSplit(loaded, 'test'), prompt: prompt() });
  await evaluateMixed(lm, tasks, 32); // warm-up
  const mixed = (await evaluateMixed(lm, tasks, 32)).seconds;
  let separate = 0;
  for (const t of tasks) separate += (await evaluateMixed(lm, [t], 32)).seconds;
  const examples = tasks.reduce((s, t) => s + t.split.examples.length, 0);
  await lm.dispose();
  return { device: options.device, tasks: tasks.length, examples, mixedExamplesPerSecond: examples / mixed, separateExamplesPerSecond: examples / separate, ratio: separate / mixed };
}
