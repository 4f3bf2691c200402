// The `ptune` command.
import { parseArgs } from 'node:util';
import { parseDevice, parsePrecision, parseThreads } from './options.js';
import { fileSystemError, InputError, RunFailedError } from '../common/errors.js';
import { FileWriteError } from '../common/atomic-file.js';
import { gradcheckAll } from '../tuning/train/gradcheck.js';
import { openModel } from '../models/load.js';
import { bundledModelDir } from '../common/paths.js';
import { readPeftAdapter } from '../common/peft-adapter.js';
import { checkAdapterTaskType } from '../tuning/jobs/import.js';
import { demo, evalMixed, jobCommand, compare, exportPeft, importPeft, scale } from './jobs.js';
import { sweep } from './sweep.js';
import { inspect } from './inspect.js';
import { exportJob, importJob } from './export-job.js';

const USAGE = `usage: ptune <command> [options]

commands:
  demo       [--device D]
             trains a soft prompt on the bundled model and task and prints the comparison
  train      SPEC [--device D] [--resume RUN_DIR [--force]] [--runs-dir DIR] [--json]
             [--seed N] [--steps N] [--length N] [--set PATH=VALUE ...] [--fail-under [PROMPT:]METRIC=VALUE ...]
             learns the spec's soft prompt, then compares it with the spec's discrete prompts;
             --seed, --steps, --length and --set change the spec's fields for this run (run.json
             records the changed spec); --fail-under: see eval; --resume refuses a run whose data
             or model files changed since it started, naming them (--force goes on; run.json records it)
  sweep      SPEC [--length 1,5,20] [--init class-labels,random-uniform] [--steps N,M] [--lr A,B]
             [--axis PATH=V1,V2 ...] [--seeds N] [--set PATH=VALUE ...] [--runs-dir DIR] [--device D] [--json]
             one train run per point of the axes' grid and per seed (from training.seed up), in one
             sweep folder with sweep.json and sweep.svg (accuracy against the first axis, one line
             per value of the others, error bars: standard deviation over seeds)
  eval       SPEC [--run RUN_DIR|ADAPTER_DIR ...] [--device D] [--json] [--fail-under [PROMPT:]METRIC=VALUE ...]
             evaluates the discrete prompts and the given soft prompts on test (else dev);
             --fail-under (repeatable; VALUE 0.8 or 80%): exit 3, naming the prompt and its figure,
             when a prompt (every prompt, or PROMPT) falls below it; METRIC: accuracy, macroF1,
             exactMatch, tokenF1, chrF, rougeL, passRate
  tune-model SPEC [--device D] [--runs-dir DIR] [--json]
             the model-tuning baseline: every weight trained on the same data (spec.modelTuning)
  scale      SPEC --models M1,M2,... [--no-model-tuning] [--device D] [--json]
             the model-scaling ablation: prompt design, prompt tuning and model tuning per model,
             with a chart of accuracy against parameter count (scale.svg in the run folder)
  eval-mixed --task SPEC=RUN_DIR --task SPEC=RUN_DIR ... [--device D] [--json]
             several tasks on one frozen model, each example with its task's soft prompt, in shared batches

  train, eval, tune-model, scale, sweep and generate also take --precision auto|fp32|fp16 (auto: half-
  precision products on a GPU, float32 on the CPU) and --threads N (CPU threads)
  compare    RUN_DIR ... [--format md|csv|json]
             one table of the runs' results
             RUN_A RUN_B --diff [--prompt ID | --prompts IDA,IDB] [--json]: B against A on the same
             examples (accuracy and macro-F1 deltas, exact McNemar test, paired bootstrap interval,
             the examples fixed and broken, the spec differences); default prompt: each run's soft
             prompt, else a prompt id both runs evaluated
  export-peft RUN_DIR OUT_DIR
             writes the run's soft prompt as a Hugging Face PEFT adapter folder
  inspect    RUN_DIR [--top 5] [--json]
             each soft-prompt token's nearest vocabulary tokens (cosine similarity to the model's
             input embeddings) and its similarity to each class label; writes inspect.json into the run
  import-peft ADAPTER_DIR (--spec SPEC | --model M) [--name NAME] [--runs-dir DIR]
             makes a PEFT PROMPT_TUNING adapter a run that eval and ensembles can use
  export-job SPEC --to accelerate OUT_DIR [--model ID] [--slurm]
             writes the experiment as a Hugging Face Accelerate job (train.py with transformers and
             PEFT, job.json with the templated records, the initial soft prompt and the batch order,
             launch.sh for a multi-GPU host, job.sbatch for Slurm); its run folder comes back with import-job
  import-job RUN_DIR [--spec SPEC | --runs-dir DIR] [--name NAME]
             checks a run folder written elsewhere (the exported job's) and copies it among the runs
  generate   --prompt TEXT [--model FOLDER|ORG/NAME] [--max-new-tokens N] [--soft-prompt ADAPTER]
             [--device auto|cpu|webgpu|cuda] [--revision REV] [--json]
             greedy continuation of a prompt (default model: the bundled stories260K)
  gradcheck  [--json]
             checks the engine's gradients against finite differences on tiny random models
`;

/** One command's lines of the usage text (its line and the indented lines under it). */
export function commandUsage(command: string): string {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  ${command} `) || l === `  ${command}`);
  if (start < 0) return USAGE;
  let end = start + 1;
  while (end < lines.length && /^ {4,}\S/.test(lines[end])) end++;
  return `usage: ptune ${lines.slice(start, end).map((l) => l.trim().replace(/ {2,}/, ' ')).join('\n  ')}\n`;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InputError(`--${name} ${value}: expected a whole number`);
  return n;
}

async function generate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, 'soft-prompt': { type: 'string' },
      device: { type: 'string' }, precision: { type: 'string' }, revision: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' },
    },
  });
  if (values.prompt === undefined) throw new InputError('generate: --prompt is required');
  const maxNew = positiveInt('max-new-tokens', values['max-new-tokens'], 64);
  const lm = await openModel(values.model ?? bundledModelDir(), {
    device: parseDevice(values.device), precision: parsePrecision(values.precision), revision: values.revision, threads: parseThreads(values.threads),
    log: values.json ? undefined : (m) => process.stderr.write(`${m}\n`),
    onProgress: values.json ? undefined : (p) => process.stderr.write(`\r${p.file}: ${(p.received / 1e6).toFixed(1)}${p.total ? ` / ${(p.total / 1e6).toFixed(1)}` : ''} MB`),
  });
  try {
    let soft = lm.emptyPrompt();
    if (values['soft-prompt']) {
      const adapter = readPeftAdapter(values['soft-prompt'], lm.cfg.hiddenSize);
      checkAdapterTaskType(values['soft-prompt'], adapter.config.task_type, { seq2seq: lm.kind === 'seq2seq', modelType: lm.cfg.modelType }, values.model ?? bundledModelDir(), 'use');
      soft = adapter.prompt;
    }
    const tok = lm.tokenizer!;
    const promptIds = tok.encode(values.prompt);
    // the context holds the soft prompt, the prompt's tokens and every new one
    const room = lm.contextLength - soft.length - promptIds.length;
    if (maxNew > room) {
      const held = [`the prompt's ${promptIds.length} tokens`, ...(soft.length ? [`the soft prompt's ${soft.length}`] : [])].join(' and ');
      throw new InputError(room < 1
        ? `--prompt: ${held} fill the model's context of ${lm.contextLength} positions; shorten the prompt${soft.length ? ' or use a shorter soft prompt' : ''}`
        : `--max-new-tokens ${maxNew}: the model's context of ${lm.contextLength} positions holds ${held}, which leaves room for ${room} new tokens; give --max-new-tokens ${room} or less`);
    }
    const { ids } = await lm.generate([promptIds], soft, maxNew);
    const full = tok.decode(ids[0]);
    const head = tok.decode(promptIds);
    const text = full.startsWith(head) ? full.slice(head.length) : tok.decode(ids[0].slice(promptIds.length));
    const device = await lm.device();
    if (values.json) process.stdout.write(`${JSON.stringify({ text, ids: ids[0], device })}\n`);
    else process.stdout.write(`${values.prompt}${text}\n`);
  } finally {
    await lm.dispose();
  }
}

async function gradcheck(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
  const result = await gradcheckAll();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ variants: result.variants.map(({ name, maxRelError }) => ({ name, maxRelError })), maxRelError: result.maxRelError })}\n`);
  } else {
    for (const v of result.variants) process.stdout.write(`${v.name.padEnd(24)} max relative error ${v.maxRelError.toExponential(2)} over ${v.checked} prompt entries\n`);
    process.stdout.write(`${result.maxRelError < 1e-5 ? 'ok' : 'FAILED'}: max relative error ${result.maxRelError.toExponential(2)} (threshold 1e-5)\n`);
  }
  if (result.maxRelError >= 1e-5) process.exitCode = 1;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  generate, gradcheck, train: (a) => jobCommand('train', a), eval: (a) => jobCommand('eval', a), 'tune-model': (a) => jobCommand('model-tune', a),
  demo, compare, 'export-peft': exportPeft, 'import-peft': importPeft, inspect, scale, sweep, 'eval-mixed': evalMixed,
  'export-job': exportJob, 'import-job': importJob,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const run = COMMANDS[command];
  if (Object.hasOwn(COMMANDS, command) && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  if (!run) {
    process.stderr.write(`ptune: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await run(rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // a file-system error (a read-only folder, an unreadable file) names its path and operation
    const err = fileSystemError(e) ?? (e as Error);
    const known = err instanceof InputError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    // a file that could not be written (a full disk) is said as it is: no stack trace helps there
    const said = known || err instanceof FileWriteError || err instanceof RunFailedError;
    process.stderr.write(`ptune ${command}: ${said ? err.message : (err.stack ?? String(err))}\n`);
    return known ? 2 : 1;
  }
}
