// Checks the training graph's gradient with respect to the soft prompt against central finite
// differences of the loss, in float64, on tiny random models of each variant.
import { Rng } from '../../engine/random.js';
import type { Sequence } from '../../models/tunable.js';
import { modelFromWeights } from '../../models/load.js';
import { GRADCHECK_VARIANTS, randomModelConfig, randomWeights, type Variant } from '../../models/random-model.js';
import { ModelTuner } from './model-tuning.js';

export interface GradcheckResult { name: string; maxRelError: number; checked: number }

export function gradcheckBatch(vocabSize: number, seed: number): Sequence[] {
  const rng = new Rng(seed);
  const seq = (len: number, targetStart: number): Sequence => ({ ids: [1, ...Array.from({ length: len - 1 }, () => 3 + rng.int(vocabSize - 3))], targetStart });
  // different lengths, so the batch is padded
  return [seq(7, 3), seq(4, 1), seq(6, 5)];
}

export async function gradcheckVariant(variant: Variant, options: { promptLength?: number; step?: number; seed?: number } = {}): Promise<GradcheckResult> {
  const cfg = randomModelConfig(variant.config);
  const lm = modelFromWeights(cfg, randomWeights(cfg, options.seed ?? 7), null, { floatType: 'float64', device: 'cpu' });
  try {
    const n = options.promptLength ?? 3;
    const h = options.step ?? 1e-5;
    const rng = new Rng(11);
    const prompt = { length: n, dim: cfg.hiddenSize, data: Float64Array.from({ length: n * cfg.hiddenSize }, () => rng.uniform(-0.5, 0.5)) };
    const batch = gradcheckBatch(cfg.vocabSize, 3);
    const { grad } = await lm.lossAndGradient(batch, prompt);
    let maxRel = 0;
    for (let i = 0; i < prompt.data.length; i++) {
      const saved = prompt.data[i];
      prompt.data[i] = saved + h;
      const plus = (await lm.lossAndGradient(batch, prompt)).loss;
      prompt.data[i] = saved - h;
      const minus = (await lm.lossAndGradient(batch, prompt)).loss;
      prompt.data[i] = saved;
      const numeric = (plus - minus) / (2 * h);
      const rel = Math.abs(numeric - grad[i]) / Math.max(Math.abs(numeric), Math.abs(grad[i]), 1e-7);
      maxRel = Math.max(maxRel, rel);
    }
    return { name: variant.name, maxRelError: maxRel, checked: prompt.data.length };
  } finally {
    await lm.dispose();
  }
}

export async function gradcheckAll(): Promise<{ variants: GradcheckResult[]; maxRelError: number }> {
  const variants: GradcheckResult[] = [];
  for (const v of GRADCHECK_VARIANTS) variants.push(await gradcheckVariant(v));
  return { variants, maxRelError: Math.max(...variants.map((v) => v.maxRelError)) };
}

/**
 * The model-tuning graph's weight gradients against central differences, in float64, on a sample
 * of entries spread over every weight tensor.
 */
export async function gradcheckWeights(variant: Variant, options: { samplesPerTensor?: number; step?: number } = {}): Promise<GradcheckResult> {
  const cfg = randomModelConfig(variant.config);
  const base = randomWeights(cfg, 7);
  const tuner = new ModelTuner(cfg, base, null, { floatType: 'float64', optimizer: 'adam' });
  try {
    const data = new Map([...tuner.names].map((n) => [n, Float64Array.from(base.arrays.get(n)!.data)]));
    const batch = gradcheckBatch(cfg.vocabSize, 3);
    const { grads } = await tuner.lossAndGradients(batch, data);
    const rng = new Rng(5);
    const h = options.step ?? 1e-5;
    let maxRel = 0;
    let checked = 0;
    for (const name of tuner.names) {
      const values = data.get(name)!;
      for (let s = 0; s < (options.samplesPerTensor ?? 2); s++) {
        const i = rng.int(values.length);
        const saved = values[i];
        values[i] = saved + h;
        const plus = (await tuner.lossAndGradients(batch, data)).loss;
        values[i] = saved - h;
        const minus = (await tuner.lossAndGradients(batch, data)).loss;
        values[i] = saved;
        const numeric = (plus - minus) / (2 * h);
        const analytic = grads.get(name)![i];
        // entries whose gradient is ~0 (an embedding row no token uses) compare absolutely
        maxRel = Math.max(maxRel, Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-6));
        checked++;
      }
    }
    return { name: `${variant.name}-weights`, maxRelError: maxRel, checked };
  } finally {
    await tuner.dispose();
  }
}
