// The paper's model-tuning baseline: every weight of the model trained on the same data, with
// the same template, evaluation and artifacts as prompt tuning. The engine's autodiff gives the
// weight gradients (weights become graph inputs); the tuned weights are saved as a model folder
// next to the run, loadable like any model.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import type { FloatType } from '../../engine/graph.js';
import { createSession, floatTensor, type DeviceChoice, type EngineSession } from '../../engine/runtime.js';
import { buildModel } from '../../models/architectures.js';
import { buildCausalGraph } from '../../models/causal-lm.js';
import type { ModelConfig } from '../../models/config.js';
import { LanguageModel } from '../../models/language-model.js';
import { encodeSafetensors } from '../../common/safetensors.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import type { Sequence, TunableModel } from '../../models/tunable.js';
import { modelFromWeights } from '../../models/load.js';
import { buildSeq2SeqGraph, Seq2SeqLanguageModel } from '../../models/seq2seq-lm.js';
import { ArrayWeights, TrainableWeights, type WeightSource } from '../../models/weights.js';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { Adafactor, Adam, type Optimizer } from './optimizers.js';

export interface MemoryEstimate { bytes: number; available: number; fits: boolean; detail: string }

/**
 * Model tuning keeps, per parameter, the weight, its gradient and two optimiser moments (Adam),
 * plus the activations of forward and backward: about 12 floats per hidden unit per token and layer.
 */
export function estimateModelTuningMemory(params: number, cfg: { hiddenSize: number; numLayers: number; vocabSize: number }, batchSize: number, tokens: number): MemoryEstimate {
  const weights = params * 4 * 4;
  const activations = batchSize * tokens * (cfg.hiddenSize * cfg.numLayers * 12 + cfg.vocabSize * 2) * 4;
  const bytes = weights + activations;
  const available = Math.min(freemem(), totalmem() * 0.8);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  return { bytes, available, fits: bytes < available, detail: `${mb(weights)} for weights, gradients and Adam moments (${params.toLocaleString('en-US')} parameters), ${mb(activations)} for activations; ${mb(available)} available` };
}

export function parameterCount(weights: WeightSource, names: Iterable<string>): number {
  let total = 0;
  for (const n of names) total += weights.shape(n).reduce((p, d) => p * d, 1);
  return total;
}

export class ModelTuner {
  readonly arrays = new Map<string, Float32Array>();
  private optimizers = new Map<string, Optimizer>();
  private trainable: TrainableWeights;
  private view: LanguageModel | Seq2SeqLanguageModel;
  private floatType: FloatType;
  private session: Promise<EngineSession>;

  constructor(readonly cfg: ModelConfig, readonly base: WeightSource, readonly tokenizer: Tokenizer | null, options: { device?: DeviceChoice; floatType?: FloatType; optimizer: 'adam' | 'adafactor'; weightDecay?: number }) {
    this.trainable = new TrainableWeights(base);
    const floatType = options.floatType ?? 'float32';
    // the view prepares feeds exactly as prompt tuning does; its graph differentiates every weight
    let graph;
    if (cfg.architecture === 't5') {
      const view = new Seq2SeqLanguageModel(cfg, this.trainable, tokenizer, { floatType });
      graph = buildSeq2SeqGraph(view.model, 'train', floatType, { weightGradients: () => this.trainable.created });
      this.view = view;
    } else {
      const model = buildModel(cfg, this.trainable);
      this.view = new LanguageModel(model, tokenizer, { floatType });
      graph = buildCausalGraph(model, 'train', floatType, { weightGradients: () => this.trainable.created });
    }
    this.floatType = floatType;
    for (const name of this.trainable.created.keys()) {
      this.arrays.set(name, Float32Array.from(base.read(name)));
      const shape = base.shape(name);
      // a vector is one row, so Adafactor keeps its second moment whole
      const [rows, cols] = shape.length === 2 ? shape : [1, shape.reduce((p, d) => p * d, 1)];
      this.optimizers.set(name, options.optimizer === 'adafactor' ? new Adafactor(rows, cols, { weightDecay: options.weightDecay, multiplyByParameterScale: true }) : new Adam(rows * cols, { weightDecay: options.weightDecay }));
    }
    this.session = createSession(graph, new Map(), { device: options.device ?? 'cpu' });
  }

  get names(): string[] { return [...this.arrays.keys()]; }
  get parameters(): number { return [...this.arrays.values()].reduce((p, a) => p + a.length, 0); }

  async lossAndGradients(sequences: Sequence[], floatData?: Map<string, Float64Array>): Promise<{ loss: number; grads: Map<string, Float32Array | Float64Array> }> {
    const session = await this.session;
    const { feeds } = this.view.prepare(sequences, this.view.emptyPrompt());
    const f = this.floatType;
    for (const [name, data] of this.arrays) feeds[name] = floatTensor(f, floatData?.get(name) ?? data, this.base.shape(name));
    const out = await session.run(feeds);
    const grads = new Map<string, Float32Array | Float64Array>();
    for (const name of this.arrays.keys()) grads.set(name, out[`grad.${name}`].data as Float32Array);
    return { loss: Number((out.loss.data as Float32Array)[0]), grads };
  }

  async step(sequences: Sequence[], learningRate: number): Promise<number> {
    const { loss, grads } = await this.lossAndGradients(sequences);
    if (!Number.isFinite(loss)) return loss;
    for (const [name, g] of grads) this.optimizers.get(name)!.step(this.arrays.get(name)!, g, learningRate);
    return loss;
  }

  /** The current weights as a model to evaluate. */
  snapshot(): TunableModel {
    const arrays = new Map([...this.arrays].map(([n, a]) => [n, { shape: this.base.shape(n), data: Float64Array.from(a) }]));
    return modelFromWeights(this.cfg, new ArrayWeights(`${this.base.origin} (tuned)`, arrays), this.tokenizer);
  }

  /** Writes the weights as a Hugging Face model folder (config, safetensors, tokenizer files). */
  save(folder: string, sourceFolder: string, arrays: Map<string, Float32Array> = this.arrays): void {
    mkdirSync(folder, { recursive: true });
    const tensors = [...arrays].map(([name, data]) => ({ name, shape: this.base.shape(name), data }));
    writeFileAtomic(join(folder, 'model.safetensors'), encodeSafetensors(tensors));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      if (existsSync(join(sourceFolder, f))) copyFileSync(join(sourceFolder, f), join(folder, f));
    }
  }

  async dispose(): Promise<void> { await (await this.session).release(); }
}
