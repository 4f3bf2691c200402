// Two-stage prompting: stage one (a discrete or soft prompt) generates a text for each record;
// stage two sees the record's fields and {stage1} and answers, scored like any prompt.
import { InputError } from '../../common/errors.js';
import type { SoftPrompt, TunableModel } from '../../models/tunable.js';
import { readSoftPromptSource } from '../../common/run-folder.js';
import type { Example } from '../../common/data.js';
import type { Evaluator, Generation } from './evaluate.js';
import type { PromptUnderTest } from '../prompts/prompt-builder.js';
import type { LoadedSpec, PipelineSpec } from '../../common/spec.js';
import { fillTemplate } from '../../common/template.js';

export function softFrom(loaded: LoadedSpec, lm: TunableModel, path: string | undefined, where: (string | number)[]) {
  if (!path) return [];
  try {
    return [readSoftPromptSource(loaded.resolvePath(path), lm.cfg.hiddenSize)];
  } catch (e) {
    const line = loaded.lineOf(where);
    throw new InputError(`${loaded.file}:${line}: ${where.join('.')}: ${(e as Error).message}`, { file: loaded.file, line, field: where.join('.') });
  }
}

/** The first line of a generated text: what stage two sees as {stage1}. */
export const firstLine = (text: string) => text.trim().split('\n')[0].trim();

/** Stage one as a prompt under test (id `<pipeline>/stage1`); `soft` replaces the pipeline's own stage-one soft prompt. */
export function stage1Prompt(loaded: LoadedSpec, evaluator: Evaluator, pipeline: PipelineSpec, soft?: SoftPrompt, id = pipeline.id): PromptUnderTest {
  const i = loaded.spec.pipelines.indexOf(pipeline);
  return {
    id: `${id}/stage1`, kind: 'pipeline-stage1',
    soft: soft ? [soft] : softFrom(loaded, evaluator.lm, pipeline.stage1.softPrompt, ['pipelines', i, 'stage1', 'softPrompt']),
    text: (e) => fillTemplate(pipeline.stage1.template, e.fields),
  };
}

/** Stage one's whole greedy continuation for each example, up to the pipeline's maxNewTokens. */
export function stage1Generations(evaluator: Evaluator, pipeline: PipelineSpec, prompt: PromptUnderTest, examples: Example[], batchSize: number): Promise<Generation[]> {
  return evaluator.generations(prompt, examples, { batchSize, generation: true, maxNewTokens: pipeline.stage1.maxNewTokens });
}

/** Stage one's text for each example (greedy, up to the pipeline's maxNewTokens, one line); `soft` replaces the pipeline's own stage-one soft prompt. */
export async function stage1Texts(loaded: LoadedSpec, evaluator: Evaluator, pipeline: PipelineSpec, examples: Example[], batchSize: number, soft?: SoftPrompt): Promise<string[]> {
  const generated = await stage1Generations(evaluator, pipeline, stage1Prompt(loaded, evaluator, pipeline, soft), examples, batchSize);
  return generated.map((g) => firstLine(g.text));
}

/** Stage two as a prompt under test; `stage1` maps each example to its first-stage text. */
export function stage2Prompt(loaded: LoadedSpec, evaluator: Evaluator, pipeline: PipelineSpec, stage1: Map<Example, string>): PromptUnderTest {
  const i = loaded.spec.pipelines.indexOf(pipeline);
  const soft = softFrom(loaded, evaluator.lm, pipeline.stage2.softPrompt, ['pipelines', i, 'stage2', 'softPrompt']);
  return {
    id: pipeline.id, kind: 'pipeline', soft,
    text: (e) => fillTemplate(pipeline.stage2.template, { ...e.fields, stage1: stage1.get(e) ?? '' }),
  };
}

/** Adds {stage1} to every example's fields: the fixed first stage for a soft prompt tuned as stage two. */
export async function addStage1Field(loaded: LoadedSpec, evaluator: Evaluator, pipelineId: string, examples: Example[], batchSize: number): Promise<void> {
  const pipeline = loaded.spec.pipelines.find((p) => p.id === pipelineId)!;
  const texts = await stage1Texts(loaded, evaluator, pipeline, examples, batchSize);
  examples.forEach((e, k) => { e.fields = { ...e.fields, stage1: texts[k] }; });
}
