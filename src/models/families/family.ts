// What a model family declares, once, for everything the project does with its models: how its
// config.json reads (each field with its default, and what is refused with which message), the
// names and shapes of its weights, the model it builds, the sizes the memory plan estimates from,
// the options its chat template takes, and whether the Accelerate export can take it.
import { InputError } from '../../common/errors.js';
import type { CausalLM } from '../causal-lm.js';
import type { ModelConfig } from '../config-types.js';
import type { WeightSource } from '../weights.js';

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  /** config.json's model_type. */
  readonly modelType: string;
  /** Checkpoints of the family people pick (hub ids): for the README and New Experiment's model step. */
  readonly examples: readonly string[];
  /** config.json in the engine's terms. */
  parse(fields: ConfigFields): C;
  /** Every weight's name and shape, as a checkpoint of this config holds them (in the checkpoint's order). */
  weightShapes(cfg: C): Map<string, number[]>;
  /** The config field that counts the layers of a stack of weights ("model.layers"), for messages. */
  layerCountField(stack: string): string;
  /** The causal model over these weights; 'seq2seq' for an encoder-decoder (opened as one, load.ts). */
  build(cfg: C, weights: WeightSource): CausalLM | 'seq2seq';
  /** What the memory plan sizes activations from: width, feed-forward width, layers (all stacks). */
  activationSizes(cfg: C): { d: number; ffn: number; layers: number };
  /** Options its chat template takes, passed when a chat prompt is rendered (Qwen3's enable_thinking). */
  readonly chatTemplateOptions?: Readonly<Record<string, unknown>>;
  /** Why `ptune export-job` cannot take the family; absent where it can. */
  readonly exportRefusal?: string;
}

/** config.json's fields, read with a default or refused with a message that names the file and the field. */
export class ConfigFields {
  constructor(readonly raw: Record<string, unknown>, readonly file: string) {}

  get modelType(): string { return this.raw.model_type as string; }

  has(key: string): boolean { return this.raw[key] !== undefined && this.raw[key] !== null; }

  int(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new InputError(`${this.file}: field "${key}" must be a positive integer, got ${JSON.stringify(this.raw[key])}`);
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${this.file}: field "${key}" must be a number, got ${JSON.stringify(this.raw[key])}`);
    return v;
  }

  /** A number, or null where the field is absent or null. */
  optionalNum(key: string): number | null {
    return this.has(key) ? this.num(key, 0) : null;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') throw new InputError(`${this.file}: field "${key}" must be true or false, got ${JSON.stringify(this.raw[key])}`);
    return v;
  }

  /** The field's value where it is one of `allowed` (or absent: the fallback); refused, naming what the family takes, otherwise. */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw[key] ?? fallback;
    if (!allowed.includes(v as T)) throw new InputError(`${this.file}: ${key} "${String(v)}" is not supported for ${this.modelType} (${allowed.join(', ')})`);
    return v as T;
  }

  /** Refuses a field set to something other than what the engine computes. */
  refuse(key: string, when: (value: unknown) => boolean, why: string): void {
    if (this.raw[key] !== undefined && when(this.raw[key])) throw new InputError(`${this.file}: ${key} ${JSON.stringify(this.raw[key])} is not supported for ${this.modelType}: ${why}`, { file: this.file, field: key });
  }

  /** A token id, or the first of a list of them (eos_token_id lists several in instruct models). */
  tokenId(key: string): number | null {
    const v = this.raw[key];
    return typeof v === 'number' ? v : Array.isArray(v) && typeof v[0] === 'number' ? v[0] : null;
  }

  /** Every token id of a field that holds one or a list. */
  tokenIds(key: string): number[] {
    const v = this.raw[key];
    return typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
  }

  fail(message: string, field?: string): never {
    throw new InputError(`${this.file}: ${message}`, field ? { file: this.file, field } : undefined);
  }
}
