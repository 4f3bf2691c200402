// Evaluation of prompts on a split, all on the same engine and metric: rank classification (the
// label text with the highest log-likelihood after the prompt) and exact match of greedy
// generation. Discrete prompts (zero- and k-shot), soft prompts, and ensembles of soft prompts
// scored in one batch and combined by majority vote.
import { InputError } from '../../common/errors.js';
import type { ChoiceItem, Sequence, SoftPrompt, TunableModel } from '../../models/tunable.js';
import { PASS_OVERHEAD_POSITIONS } from '../../models/one-graph-model.js';
import type { Example, Split } from '../../common/data.js';
import { classificationMetrics, majorityVote } from './metrics.js';
import { taskKind, type Spec } from '../../common/spec.js';
import { Rng } from '../../engine/random.js';
import type { TaskKind } from '../../common/run-files.js';
import { PromptBuilder, type PromptUnderTest } from '../prompts/prompt-builder.js';
import type { Encoded, SequenceEncoder } from '../prompts/encoding.js';
import type { LabelPromptResult, Prediction, PromptResult, ScoredPrediction, ScoredPromptResult, TextMetricName } from '../../common/run-files.js';
import { TEXT_METRICS } from '../../common/text-metrics.js';
import { bootstrapMean } from '../../common/intervals.js';
import { checkAssertions } from '../../common/assertions.js';

export interface EvaluationOptions {
  /** The most examples (prefixes) in one pass. */
  batchSize: number;
  /**
   * The most examples in a pass whose longest input has `tokens` positions (the memory plan's
   * evalBatchFor): one very long record then shares its pass with few others, and passes of short
   * records stay full.
   */
  batchFor?: (tokens: number) => number;
  generation: boolean;
  /** `done` of `total` examples scored. */
  onProgress?: (done: number, total: number, promptId: string) => void;
  /** Each pass through the model: its rows and the positions each row is padded to. */
  onBatch?: (batch: { rows: number; tokens: number }) => void;
  signal?: AbortSignal;
}

/**
 * Examples encoded at a time: within a window, inputs are sorted by length into passes; a large
 * split's token ids are never all in memory.
 */
export const EVALUATION_WINDOW = 1024;

/**
 * The passes over `order` (longest first), cut where padding would cost more than another pass:
 * a pass is padded to its first (longest) entry, holds at most what the sizes allow for it, and
 * costs its rows x that length plus `overhead` positions (PASS_OVERHEAD_POSITIONS for it and for
 * each short pass that follows it: choices' continuations, generated tokens); the cuts minimise
 * the sum.
 */
export function lengthBatches(order: number[], tokensOf: (i: number) => number, options: Pick<EvaluationOptions, 'batchSize' | 'batchFor'>, overhead = PASS_OVERHEAD_POSITIONS): number[][] {
  const count = order.length;
  // at least one a pass, whatever the sizes say: a pass of none would never end
  const sizeAt = (start: number) => Math.max(1, Math.floor(Math.min(options.batchSize, options.batchFor?.(tokensOf(order[start])) ?? Infinity)) || 1);
  const cost = new Float64Array(count + 1);
  const end = new Int32Array(count + 1);
  for (let start = count - 1; start >= 0; start--) {
    const width = tokensOf(order[start]);
    const limit = Math.min(count, start + sizeAt(start));
    cost[start] = Infinity;
    for (let stop = start + 1; stop <= limit; stop++) {
      const total = overhead + (stop - start) * width + cost[stop];
      // on a tie the longer pass: fuller passes first
      if (total <= cost[start]) { cost[start] = total; end[start] = stop; }
    }
  }
  const passes: number[][] = [];
  for (let start = 0; start < count; start = end[start]) passes.push(order.slice(start, end[start]));
  return passes;
}

export class Evaluator {
  readonly labels: string[];
  readonly labelTexts: string[];
  /** The spec's prompts as functions of a record, and the encoder training uses too. */
  readonly prompts: PromptBuilder;

  /** A text-target task: each example has one answer, its target (else one per label). */
  readonly task: TaskKind;

  constructor(readonly lm: TunableModel, readonly spec: Spec, readonly train?: Split) {
    this.task = taskKind(spec);
    this.labels = Object.keys(spec.data.verbalizer);
    this.labelTexts = Object.values(spec.data.verbalizer);
    this.prompts = new PromptBuilder(lm, spec, train);
  }

  /** The answer texts scored for an example: every label's text, or its own target. */
  private answersOf(example: Example): string[] {
    return this.task === 'target' ? [example.target!] : this.labelTexts;
  }

  /** Answers scored per example (and per soft prompt of an ensemble). */
  private get answerCount(): number {
    return this.task === 'target' ? 1 : this.labels.length;
  }

  /** Log-likelihood of every label for every example: scores[e][c] (per soft prompt for ensembles). */
  async labelScores(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions): Promise<number[][][]> {
    return (await this.scoreAndGenerate(prompt, examples, options, 0)).scores;
  }

  /**
   * Label (or target) scores and, with maxNewTokens, each example's continuation: from its scoring
   * pass where its generation prompt is its scoring prefix, else generated apart. Examples go
   * through in windows (EVALUATION_WINDOW), each sorted by length into passes.
   */
  private async scoreAndGenerate(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions, maxNewTokens: number, sample?: SampleOptions): Promise<Scored> {
    const all: Scored = { scores: [], tokens: this.task === 'target' ? [] : undefined, promptTokens: 0, generated: maxNewTokens > 0 ? [] : undefined, truncated: 0 };
    for (let start = 0; start < examples.length; start += EVALUATION_WINDOW) {
      const window = examples.slice(start, start + EVALUATION_WINDOW);
      const part = await this.scoreWindow(prompt, window, options, maxNewTokens, (done) => options.onProgress?.(start + done, examples.length, prompt.id), sample);
      for (let e = 0; e < window.length; e++) {
        all.scores.push(part.scores[e]);
        all.tokens?.push(part.tokens![e]);
        all.generated?.push(part.generated![e]);
      }
      all.promptTokens += part.promptTokens;
      all.truncated += part.truncated;
    }
    return all;
  }

  /** `truncated`: the examples whose input, for scoring or for generating, was cut to the context. */
  private async scoreWindow(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions, maxNewTokens: number, progress: (done: number) => void, sample?: SampleOptions): Promise<Scored> {
    const promptCount = Math.max(1, prompt.soft.length);
    const { items, slots, truncated } = this.labelChoices(prompt, examples);
    const C = this.answerCount;
    const n = prompt.soft[0]?.length ?? 0;
    const itemOf = (e: number) => slots[e * promptCount * C][0];
    // the example each item scores (for sampling, whose draws follow the example)
    const exampleOf = new Array<number>(items.length);
    slots.forEach(([item], k) => (exampleOf[item] = Math.floor(k / (promptCount * C))));
    // an item generates in its scoring pass where its example's generation prompt is its prefix
    // (not where truncation cut the two differently, as for a record longer than the context)
    const sharing = new Array<boolean>(items.length).fill(false);
    if (maxNewTokens > 0 && promptCount === 1) {
      examples.forEach((e, i) => {
        const { ids, truncated: cut } = this.prompts.encoder.promptOnly(prompt.text(e), n, maxNewTokens);
        if (cut) truncated[i] = true;
        const item = items[itemOf(i)];
        sharing[itemOf(i)] = slots.slice(i * C, (i + 1) * C).every(([it]) => it === itemOf(i)) && item.prefix.length === ids.length && item.prefix.every((id, j) => id === ids[j]);
      });
    }
    const soft = prompt.soft.length ? prompt.soft : [this.lm.emptyPrompt()];
    // longest prefixes first: batches of similar lengths pad little
    const order = items.map((_, i) => i).sort((a, b) => items[b].prefix.length - items[a].prefix.length);
    const itemScores = new Array<number[]>(items.length);
    // a text target's log-likelihood is kept whole: its NLL per token is reported from the counts
    const perToken = this.spec.evaluation.rankScoring === 'mean' && this.task === 'label';
    const itemGenerations = new Array<Generation | undefined>(items.length);
    // a pass is padded to its longest prefix and its longest choice (or the generated tokens)
    const tokensOf = (i: number, generating = sharing[i]) => n + items[i].prefix.length + Math.max(generating ? maxNewTokens : 0, ...items[i].choices.map((ch) => ch.ids.length));
    // the short passes after each: one per choice index where a choice has more than one token,
    // and one per generated token after the first
    const continuations = items.some((item) => item.choices.some((ch) => ch.ids.length > 1)) ? Math.max(...items.map((item) => item.choices.length)) : 0;
    const followUps = continuations + (sharing.some(Boolean) ? maxNewTokens - 1 : 0);
    let done = 0;
    for (const idx of lengthBatches(order, (i) => tokensOf(i), options, PASS_OVERHEAD_POSITIONS * (1 + followUps))) {
      if (options.signal?.aborted) throw new CancelledError();
      const generating = idx.every((i) => sharing[i]);
      options.onBatch?.({ rows: idx.length, tokens: Math.max(...idx.map((i) => tokensOf(i, generating))) });
      const out = await this.lm.scoreChoices(idx.map((i) => items[i]), soft, generating ? { maxNewTokens, ...(sample ? { sample: this.sampler(sample, idx.map((i) => examples[exampleOf[i]])) } : {}) } : {});
      out.scores.forEach((row, j) => {
        const choices = items[idx[j]].choices;
        itemScores[idx[j]] = perToken ? row.map((v, c) => v / Math.max(1, choices[c].ids.length - choices[c].scoreFrom)) : row;
      });
      if (generating) out.generated?.forEach((ids, j) => (itemGenerations[idx[j]] = this.generation(ids)));
      done += idx.length;
      progress(Math.floor((examples.length * done) / items.length));
    }
    const scores = examples.map((_, e) => Array.from({ length: promptCount }, (_, k) => Array.from({ length: C }, (_, c) => {
      const [item, choice] = slots[(e * promptCount + k) * C + c];
      return itemScores[item][choice];
    })));
    // a text target's token counts give its NLL per token (a label task's would only cost memory)
    const tokens = this.task !== 'target' ? undefined : examples.map((_, e) => Array.from({ length: promptCount }, (_, k) => Array.from({ length: C }, (_, c) => {
      const [item, choice] = slots[(e * promptCount + k) * C + c];
      const ch = items[item].choices[choice];
      return ch.ids.length - ch.scoreFrom;
    })));
    const promptTokens = examples.reduce((sum, _, e) => sum + n + items[itemOf(e)].prefix.length, 0);
    const truncatedCount = truncated.filter(Boolean).length;
    if (maxNewTokens === 0) return { scores, tokens, promptTokens, truncated: truncatedCount };
    const generated = examples.map((_, e) => itemGenerations[itemOf(e)]);
    const apart = examples.flatMap((example, e) => (generated[e] ? [] : [{ example, e }]));
    if (apart.length) {
      const more = await this.generations(prompt, apart.map((a) => a.example), { ...options, maxNewTokens, sample });
      apart.forEach((a, k) => (generated[a.e] = more[k]));
    }
    return { scores, tokens, promptTokens, generated: generated as Generation[], truncated: truncatedCount };
  }

  /**
   * Each (example, soft prompt) as one prefix with a choice per label. Label sequences share their
   * tokens up to the earliest target start; where truncation made them differ, each label is its
   * own item. `slots[(e * prompts + k) * labels + c]` is [item, choice] of label c.
   */
  labelChoices(prompt: PromptUnderTest, examples: Example[], promptOffset = 0): { items: ChoiceItem[]; slots: [number, number][]; truncated: boolean[] } {
    const sequences = this.labelSequences(prompt, examples, promptOffset);
    const C = this.answerCount;
    const perExample = C * Math.max(1, prompt.soft.length);
    const items: ChoiceItem[] = [];
    const slots: [number, number][] = [];
    // an example whose sequence for any label was cut to the context
    const truncated = examples.map(() => false);
    for (let start = 0; start < sequences.length; start += C) {
      const group = sequences.slice(start, start + C);
      if (group.some((q) => q.truncated)) truncated[Math.floor(start / perExample)] = true;
      const m = Math.min(...group.map((q) => q.targetStart));
      const head = group[0].ids.slice(0, m);
      const shared = group.every((q) => q.ids.length > m && head.every((id, j) => q.ids[j] === id));
      if (shared) {
        items.push({ prefix: head, prompt: group[0].prompt, choices: group.map((q) => ({ ids: q.ids.slice(m), scoreFrom: q.targetStart - m })) });
        group.forEach((_, c) => slots.push([items.length - 1, c]));
      } else {
        for (const q of group) {
          items.push({ prefix: q.ids.slice(0, q.targetStart), prompt: q.prompt, choices: [{ ids: q.ids.slice(q.targetStart), scoreFrom: 0 }] });
          slots.push([items.length - 1, 0]);
        }
      }
    }
    return { items, slots, truncated };
  }

  async generate(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions & { maxNewTokens?: number }): Promise<string[]> {
    return (await this.generations(prompt, examples, options)).map((g) => g.text);
  }

  /** Each example's greedy continuation, in example order; passes are sorted by prompt length within windows. */
  async generations(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions & { maxNewTokens?: number; sample?: SampleOptions }): Promise<Generation[]> {
    const n = prompt.soft[0]?.length ?? 0;
    const maxNew = options.maxNewTokens ?? this.generationLength(prompt);
    const soft = prompt.soft.length ? prompt.soft[0] : this.lm.emptyPrompt();
    const out: Generation[] = [];
    for (let start = 0; start < examples.length; start += EVALUATION_WINDOW) {
      const window = examples.slice(start, start + EVALUATION_WINDOW).map((e) => this.prompts.encoder.promptOnly(prompt.text(e), n, maxNew).ids);
      const order = window.map((_, i) => i).sort((a, b) => window[b].length - window[a].length);
      const tokensOf = (i: number) => n + window[i].length + maxNew;
      const generated = new Array<Generation>(window.length);
      for (const idx of lengthBatches(order, tokensOf, options, PASS_OVERHEAD_POSITIONS * maxNew)) {
        if (options.signal?.aborted) throw new CancelledError();
        options.onBatch?.({ rows: idx.length, tokens: tokensOf(idx[0]) });
        const batch = idx.map((i) => window[i]);
        const sample = options.sample ? { sample: this.sampler(options.sample, idx.map((i) => examples[start + i])) } : {};
        const { ids } = await this.lm.generate(batch, soft, maxNew, sample);
        ids.forEach((row, j) => (generated[idx[j]] = this.generation(row.slice(batch[j].length))));
      }
      for (const g of generated) out.push(g);
    }
    return out;
  }

  /**
   * A continuation as a generation: in a text-target task it ends before end-of-sequence and before
   * the first stop string (neither is part of the output); a label task's is kept whole, since a
   * label is read from its start.
   */
  private generation(ids: number[]): Generation {
    const tok = this.lm.tokenizer!;
    if (this.task === 'label') return { ids, text: tok.decode(ids) };
    const end = this.prompts.encoder.endCausalTargets ?? this.prompts.encoder.eosForTargets ?? this.lm.cfg.eosTokenId;
    const stopAt = end === null ? -1 : ids.indexOf(end);
    const kept = stopAt >= 0 ? ids.slice(0, stopAt) : ids;
    const whole = tok.decode(kept, { skipSpecialTokens: true });
    const text = beforeStop(whole, this.spec.evaluation.stop);
    let tokens = kept.length;
    if (text.length < whole.length) {
      const cut = text.length;
      // the tokens whose text precedes the stop string
      while (tokens > 0 && tok.decode(kept.slice(0, tokens), { skipSpecialTokens: true }).length > cut) tokens--;
    }
    return { ids: kept.slice(0, tokens), text };
  }

  /**
   * The text an output is compared with: the target up to its first stop string. An output ends
   * before a stop string, so a target that spells one out ("{answer}." with stop ".", teaching
   * the model to end there) would otherwise count against every output.
   */
  private expected(example: Example): string {
    return beforeStop(example.target!, this.spec.evaluation.stop);
  }

  /**
   * Sampling draws for a pass's rows: row b's from a generator seeded by evaluation.seed and its
   * example alone, so an output does not depend on the pass it fell in.
   */
  private sampler(options: SampleOptions, rowExamples: Example[]): { temperature: number; topP: number; random: (row: number) => number } {
    const generators = rowExamples.map((e) => new Rng(((options.seed * 1_000_003) ^ Math.imul(e.index + 1, 2_654_435_761)) >>> 0));
    return { temperature: options.temperature, topP: options.topP, random: (row) => generators[row].next() };
  }

  /** Tokens generated for exact match: the longest label's, and one more. */
  private generationLength(prompt?: PromptUnderTest): number {
    const sep = prompt?.labelSeparator ?? this.spec.data.labelSeparator;
    return Math.max(...this.labelTexts.map((t) => this.prompts.encoder.targetIds(sep + t).length)) + 1;
  }

  /**
   * A prompt's metrics on a split and its predictions per example, with what the prompt costs:
   * input tokens per request, output tokens, and the measured time per example.
   */
  async evaluatePrompt(prompt: PromptUnderTest, split: Split, options: EvaluationOptions): Promise<{ result: ScoredPromptResult; predictions: Prediction[] }> {
    const started = performance.now();
    const { examples } = split;
    const target = this.task === 'target';
    const { evaluation } = this.spec;
    // a text target is generated unless only its NLL is asked for (a dev evaluation led by nll)
    const generating = target ? options.generation || evaluation.metric !== 'nll' : (options.generation || evaluation.metric === 'generate') && prompt.kind !== 'ensemble';
    const maxNewTokens = !generating ? 0 : target ? this.targetGenerationLength() : this.generationLength(prompt);
    const sample = target && evaluation.temperature > 0 ? { temperature: evaluation.temperature, topP: evaluation.topP, seed: evaluation.seed } : undefined;
    // an ensemble of soft prompts answers with the output its members find most likely
    const ensembleOfTargets = target && prompt.soft.length > 1;
    const scored = await this.scoreAndGenerate(prompt, examples, options, ensembleOfTargets ? 0 : maxNewTokens, sample);
    if (ensembleOfTargets && maxNewTokens > 0) scored.generated = await this.ensembleOutputs(prompt, examples, options, maxNewTokens, sample);
    const summary = target ? this.summarizeTargets(prompt, examples, scored) : this.summarize(prompt, examples, scored.scores, scored.generated);
    const { result } = summary;
    if (scored.truncated > 0) result.truncated = scored.truncated;
    // what the model saw for the first example: the comparison shows a chat prompt's conversation
    if (prompt.rendered && examples.length > 0) result.rendered = prompt.rendered(examples[0]);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    result.promptTokens = scored.promptTokens / Math.max(1, examples.length);
    if (scored.generated) result.outputTokens = mean(scored.generated.map((g) => g.ids.length));
    result.msPerExample = (performance.now() - started) / Math.max(1, examples.length);
    return summary;
  }

  /** evaluatePrompt for a label task, whose predictions all carry label scores. */
  async evaluate(prompt: PromptUnderTest, split: Split, options: EvaluationOptions): Promise<{ result: LabelPromptResult; predictions: ScoredPrediction[] }> {
    if (this.task !== 'label') throw new Error('evaluate scores labels; a text-target task is evaluated by evaluatePrompt');
    return this.evaluatePrompt(prompt, split, options) as Promise<{ result: LabelPromptResult; predictions: ScoredPrediction[] }>;
  }

  /**
   * An ensemble's outputs for a text target: each soft prompt generates its own, and each example
   * keeps the one with the highest summed log-likelihood under the prompt that wrote it (majority
   * vote has nothing to count when every output differs). An empty output (the end at once) ranks
   * last unless every member's is empty, since its likelihood sums no token.
   */
  private async ensembleOutputs(prompt: PromptUnderTest, examples: Example[], options: EvaluationOptions, maxNewTokens: number, sample?: SampleOptions): Promise<Generation[]> {
    const n = prompt.soft[0].length;
    const best = examples.map(() => ({ score: -Infinity, generation: undefined as Generation | undefined }));
    for (const member of prompt.soft) {
      const generated = await this.generations({ ...prompt, soft: [member] }, examples, { ...options, maxNewTokens, sample });
      const spoken = examples.flatMap((e, i) => (generated[i].ids.length ? [i] : []));
      const sequences = spoken.map((i) => {
        const { ids } = this.prompts.encoder.promptOnly(prompt.text(examples[i]), n, maxNewTokens);
        return { ids: [...ids, ...generated[i].ids], targetStart: ids.length };
      });
      const scored = await scoreInBatches(this.lm, sequences, [member], options.batchSize, { signal: options.signal });
      const scores = new Map(spoken.map((i, k) => [i, scored[k]]));
      generated.forEach((g, i) => {
        const score = scores.get(i) ?? -Infinity;
        if (!best[i].generation || score > best[i].score) best[i] = { score, generation: g };
      });
    }
    return best.map((b) => b.generation!);
  }

  /** Tokens generated for a text target (see targetGenerationLength). */
  targetGenerationLength(): number {
    return targetGenerationLength(this.spec, this.prompts.encoder, this.train?.examples ?? [], this.lm.contextLength);
  }

  /**
   * A text-target prompt's metrics: each text metric and the assertions on its outputs (where it
   * generated), and the target's teacher-forced NLL per token; per example, and per prompt as the
   * mean with a 95% interval. Accuracy is exact match, the share of outputs right.
   */
  summarizeTargets(prompt: PromptUnderTest, examples: Example[], scored: Scored): { result: ScoredPromptResult; predictions: Prediction[] } {
    const bad = scored.scores.findIndex((perPrompt) => perPrompt.some((row) => !Number.isFinite(row[0])));
    if (bad >= 0) {
      const what = prompt.soft.some((p) => Array.from(p.data).some((v) => !Number.isFinite(v))) ? 'its soft prompt holds NaN or infinite values' : 'the model gives NaN or infinite log-probabilities (check its weights)';
      throw new NonFiniteScoresError(`prompt "${prompt.id}": the target's log-likelihood for the record on line ${examples[bad].line} is not finite (${scored.scores[bad][0][0]}); ${what}`);
    }
    // per token; an ensemble's is the mean over its soft prompts
    const nll = examples.map((_, e) => scored.scores[e].reduce((sum, row, k) => sum - row[0] / Math.max(1, scored.tokens![e][k][0]), 0) / scored.scores[e].length);
    const assertions = [...this.spec.evaluation.assert, ...(prompt.assert ?? [])];
    const outputs = scored.generated?.map((g) => g.text);
    const expected = examples.map((e) => this.expected(e));
    const perExample = outputs ? TEXT_METRICS.map((m) => ({ metric: m, values: examples.map((_, i) => m.perExample(outputs[i], expected[i])) })) : [];
    const verdicts = outputs && assertions.length ? examples.map((e, i) => checkAssertions(assertions, outputs[i], e.fields)) : undefined;
    const exact = perExample.find((p) => p.metric.name === 'exactMatch')?.values;
    const predictions = examples.map((e, i): Prediction => ({
      index: e.index, line: e.line, promptId: prompt.id, kind: prompt.kind,
      gold: expected[i], prediction: outputs?.[i] ?? '', correct: exact ? exact[i] === 1 : false, scores: null,
      target: expected[i],
      ...(outputs ? { output: outputs[i], outputTokens: scored.generated![i].ids.length } : {}),
      metrics: { ...Object.fromEntries(perExample.map((p) => [p.metric.name, p.values[i]])), nll: nll[i] },
      ...(verdicts ? { assertions: verdicts[i] } : {}),
      ...(prompt.demonstrations ? { shots: prompt.demonstrations(e).map((d) => d.line) } : {}),
    }));
    const intervals: NonNullable<PromptResult['intervals']> = {};
    const means: Partial<Record<TextMetricName, number>> = {};
    for (const { metric, values } of perExample) {
      const { value, interval } = metric.aggregate(values);
      means[metric.name] = value;
      intervals[metric.name] = interval;
    }
    const nllSummary = bootstrapMean(nll);
    intervals.nll = nllSummary.interval;
    let passRate: number | undefined;
    if (verdicts) {
      // each example's share of passing assertions, so the interval resamples examples
      const shares = verdicts.map((v) => v.filter((a) => a.pass).length / v.length);
      const summary = bootstrapMean(shares);
      passRate = summary.value;
      intervals.passRate = summary.interval;
    }
    const correct = exact ? exact.filter((v) => v === 1).length : 0;
    const taskParameters = prompt.taskParameters ?? prompt.soft.reduce((p, s) => p + s.length * s.dim, 0);
    const result: ScoredPromptResult = {
      id: prompt.id, kind: prompt.kind, taskParameters, count: examples.length,
      accuracy: correct / Math.max(1, examples.length), accuracyInterval: intervals.exactMatch ?? [0, 1],
      nll: nllSummary.value, intervals,
      ...(exact ? { exactMatch: means.exactMatch, tokenF1: means.tokenF1, chrF: means.chrF, rougeL: means.rougeL } : {}),
      ...(passRate !== undefined ? { passRate } : {}),
    };
    return { result, predictions };
  }

  /** Metrics and per-example predictions from label scores [example][prompt][label] (and generations). */
  summarize(prompt: PromptUnderTest, examples: Example[], scores: number[][][], generated?: Generation[]): { result: LabelPromptResult; predictions: ScoredPrediction[] } {
    const bad = scores.findIndex((perPrompt) => perPrompt.some((row) => row.some((v) => !Number.isFinite(v))));
    if (bad >= 0) {
      const what = prompt.soft.some((p) => Array.from(p.data).some((v) => !Number.isFinite(v))) ? 'its soft prompt holds NaN or infinite values' : 'the model gives NaN or infinite log-probabilities (check its weights)';
      throw new NonFiniteScoresError(`prompt "${prompt.id}": the label scores of the record on line ${examples[bad].line} are not finite (${scores[bad].flat().join(', ')}); ${what}`);
    }
    const gold = examples.map((e) => this.labels.indexOf(e.label));
    const argmax = (row: number[]) => row.reduce((b, v, c) => (v > row[b] ? c : b), 0);
    const ranked = scores.map((perPrompt) => (perPrompt.length === 1 ? argmax(perPrompt[0]) : majorityVote(perPrompt.map(argmax), perPrompt)));
    const targets = this.labelTargets(prompt.labelSeparator);
    const generatedLabels = generated?.map((g) => labelOfGenerated(g, targets));
    const byGeneration = this.spec.evaluation.metric === 'generate' && generatedLabels !== undefined;
    const predicted = byGeneration ? generatedLabels!.map((l) => (l === null ? -1 : this.labels.indexOf(l))) : ranked;
    // an ensemble's label scores: the mean over its prompts
    const merged = scores.map((perPrompt) => perPrompt[0].map((_, c) => perPrompt.reduce((s, row) => s + row[c], 0) / perPrompt.length));
    const metrics = classificationMetrics(this.labels, gold, predicted, merged);
    if (generatedLabels) metrics.exactMatch = generatedLabels.filter((l, i) => l === examples[i].label).length / examples.length;
    const predictions = examples.map((e, i): ScoredPrediction => ({
      index: e.index,
      line: e.line,
      promptId: prompt.id,
      kind: prompt.kind,
      gold: e.label,
      prediction: predicted[i] >= 0 ? this.labels[predicted[i]] : '',
      correct: predicted[i] === gold[i],
      scores: Object.fromEntries(this.labels.map((l, c) => [l, merged[i][c]])),
      ...(generated ? { generated: generated[i].text, generatedLabel: generatedLabels![i], exactMatch: generatedLabels![i] === e.label } : {}),
      ...(prompt.demonstrations ? { shots: prompt.demonstrations(e).map((d) => d.line) } : {}),
    }));
    const taskParameters = prompt.taskParameters ?? prompt.soft.reduce((p, s) => p + s.length * s.dim, 0);
    return { result: { id: prompt.id, kind: prompt.kind, taskParameters, ...metrics }, predictions };
  }

  /** Each label with its text and the token ids a generation naming it starts with. */
  labelTargets(separator = this.spec.data.labelSeparator): { label: string; text: string; ids: number[] }[] {
    const verbalizer = this.spec.data.verbalizer;
    return this.labels.map((label) => ({ label, text: verbalizer[label], ids: this.prompts.encoder.targetIds(separator + verbalizer[label]) }));
  }

  /**
   * Metrics of a prompt judged by its generations alone (a pipeline's first stage): each text is
   * mapped to the label it names, as exact match maps any generation; one naming none is wrong.
   * No label was scored, so there is no NLL or AUC to report (null) and no scores per example;
   * exact match is the accuracy itself. `stage1` holds the first lines the next stage saw.
   */
  generatedOnly(prompt: PromptUnderTest, examples: Example[], generated: Generation[], stage1?: string[]): { result: PromptResult & Pick<LabelPromptResult, 'macroF1'>; predictions: Prediction[] } {
    const targets = this.labelTargets();
    const named = generated.map((g) => labelOfGenerated(g, targets));
    const gold = examples.map((e) => this.labels.indexOf(e.label));
    const predicted = named.map((l) => (l === null ? -1 : this.labels.indexOf(l)));
    // zeros stand in for the label scores; the NLL and AUC computed from them are replaced by null
    const metrics = classificationMetrics(this.labels, gold, predicted, examples.map(() => this.labels.map(() => 0)));
    const predictions = examples.map((e, i): Prediction => ({
      index: e.index, line: e.line, promptId: prompt.id, kind: prompt.kind, gold: e.label,
      prediction: named[i] ?? '', correct: predicted[i] === gold[i], scores: null,
      generated: generated[i].text, generatedLabel: named[i], exactMatch: named[i] === e.label,
      ...(stage1 ? { stage1: stage1[i] } : {}),
    }));
    const taskParameters = prompt.taskParameters ?? prompt.soft.reduce((p, s) => p + s.length * s.dim, 0);
    return { result: { id: prompt.id, kind: prompt.kind, taskParameters, ...metrics, nll: null, auc: null, exactMatch: metrics.accuracy }, predictions };
  }

  /** Every (example, label) sequence of a prompt, in example-major order, tagged with soft prompt `k`. */
  labelSequences(prompt: PromptUnderTest, examples: Example[], promptOffset = 0): (Encoded & { prompt: number })[] {
    const sep = prompt.labelSeparator ?? this.spec.data.labelSeparator;
    const n = prompt.soft[0]?.length ?? 0;
    const out: (Encoded & { prompt: number })[] = [];
    for (const example of examples) {
      const text = prompt.text(example);
      for (let k = 0; k < Math.max(1, prompt.soft.length); k++) {
        for (const answer of this.answersOf(example)) out.push({ ...this.prompts.encoder.withTarget(text, sep + answer, n), prompt: promptOffset + k });
      }
    }
    return out;
  }

}

/**
 * Log-likelihoods of many sequences, scored `perBatch` at a time; sequences may use different soft
 * prompts (their `prompt` index). Without an `order`, longest first, which keeps padding low.
 */
export async function scoreInBatches(lm: TunableModel, sequences: Sequence[], prompts: SoftPrompt[], perBatch: number, options: { order?: number[]; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<number[]> {
  const out = new Array<number>(sequences.length);
  const order = options.order ?? sequences.map((_, i) => i).sort((a, b) => sequences[b].ids.length - sequences[a].ids.length);
  for (let start = 0; start < order.length; start += perBatch) {
    if (options.signal?.aborted) throw new CancelledError();
    const idx = order.slice(start, start + perBatch);
    const scored = await lm.score(idx.map((i) => sequences[i]), prompts);
    scored.forEach((s, k) => (out[idx[k]] = s.logProb));
    options.onProgress?.(Math.min(start + perBatch, order.length), order.length);
  }
  return out;
}

/** What scoring (and generating) a prompt gives: [example][soft prompt][answer] log-likelihoods and their target tokens. */
interface Scored {
  scores: number[][][];
  /** Text targets only. */
  tokens?: number[][][];
  /** The examples' input tokens (soft prompt included), summed. */
  promptTokens: number;
  generated?: Generation[];
  truncated: number;
}

/** Sampling instead of greedy decoding (a text target's evaluation.temperature above 0). */
export interface SampleOptions { temperature: number; topP: number; seed: number }

/**
 * Scores that are NaN or infinite: from the soft prompt or the weights as they are. Training tells
 * a prompt that diverged (its scores were finite at step 0) by this class.
 */
export class NonFiniteScoresError extends InputError {}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/**
 * Tokens generated for a text target: evaluation.maxNewTokens, else the longest train target's
 * tokens (its end-of-sequence included) and a quarter more, at least 4 more: room to say a little
 * more than any train answer did, and a bound on a prompt that never stops.
 */
export function targetGenerationLength(spec: Spec, encoder: SequenceEncoder, train: Example[], contextLength: number): number {
  const asked = spec.evaluation.maxNewTokens;
  if (asked !== undefined) return asked;
  const sep = spec.data.labelSeparator;
  // longest texts first, until no text left could hold more tokens than found
  const bound = train.map((e) => ({ t: sep + e.target!, most: Buffer.byteLength(sep + e.target!, 'utf8') + 4 })).sort((a, b) => b.most - a.most);
  let longest = 1;
  for (const { t, most } of bound) {
    if (most <= longest) break;
    longest = Math.max(longest, encoder.targetIds(t).length);
  }
  return Math.min(contextLength, longest + Math.max(4, Math.ceil(longest / 4)));
}

/** A text up to the first of the stop strings (the whole text where none occurs). */
export function beforeStop(text: string, stops: readonly string[]): string {
  const at = Math.min(...stops.map((st) => text.indexOf(st)).filter((i) => i >= 0));
  return Number.isFinite(at) ? text.slice(0, at) : text;
}

/** Generated text compared with a label: trimmed, lower case, without trailing punctuation. */
/** A greedy continuation: its token ids and their text. */
export interface Generation { ids: number[]; text: string }

const normalise = (text: string) => text.trim().toLowerCase();

/**
 * The label a generation names, as the paper maps T5's output to a class, with the label's end as
 * the stop a causal model lacks (it goes on after the label: "happy. Once", or a tiny vocabulary's
 * "sad" + "r"): the label whose target tokens the generation starts with (the longest first), else
 * the label whose text the generated text starts with before a space, punctuation or its end
 * (the same word spelt in other tokens); null when it names none.
 */
export function labelOfGenerated(generation: Generation, targets: { label: string; text: string; ids: number[] }[]): string | null {
  const byTokens = targets
    .filter((t) => t.ids.length > 0 && t.ids.length <= generation.ids.length && t.ids.every((id, i) => generation.ids[i] === id))
    .sort((a, b) => b.ids.length - a.ids.length)[0];
  if (byTokens) return byTokens.label;
  const text = normalise(generation.text);
  const byText = targets
    .map((t) => ({ label: t.label, text: normalise(t.text) }))
    .filter((t) => text.startsWith(t.text) && (text.length === t.text.length || !/[\p{L}\p{N}_]/u.test(text.charAt(t.text.length))))
    .sort((a, b) => b.text.length - a.text.length)[0];
  return byText?.label ?? null;
}
