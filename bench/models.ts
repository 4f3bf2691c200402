// `npm run bench -- models [--device D] [--json] [--only a,b] [--eval N] [--micro M] [--defaults]`: the sizes
// users tune, as random-weight checkpoints with the exact configs of real models (BF16 on disk, as
// they ship), each through a small real job (train steps, then the three discrete prompts and the
// soft prompt on the test split) in a child process of its own, so each peak RSS is that job's.
// --defaults: the job as a spec that leaves the soft prompt's length, the batch and generation at
// their defaults (100 tokens, 32, on) instead of the fixed 20 tokens, batch 8, rank only.
// --targets: a text-target job (the bundled subject task: outputs generated and scored), and
// batched greedy decoding timed on its own (output tokens per second, 32 rows, 32 new tokens).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DeviceChoice } from '../src/engine/runtime.js';
import { cacheRoot } from '../src/common/paths.js';
import { hasCheckpoint, REAL_CONFIGS, writeRandomCheckpoint } from '../src/models/random-checkpoint.js';
import { packageRoot } from '../src/common/paths.js';
import { configParameters } from '../src/tuning/train/memory-plan.js';
import { parseModelConfig } from '../src/models/config.js';
import { runJob } from '../src/tuning/jobs/index.js';
import { openModel } from '../src/models/load.js';
import { RunDir } from '../src/common/run-folder.js';

export const CPU_MODELS = ['SmolLM2-135M', 'Qwen2.5-0.5B', 'Qwen3-0.6B', 'Gemma-3-270M', 'Llama-3.2-1B', 'gpt2', 'flan-t5-base'];
export const GPU_MODELS = [...CPU_MODELS, 'Llama-3.1-8B'];

export interface ModelBenchRow {
  model: string;
  parameters: number;
  setupSeconds: number;
  trainExamplesPerSecond: number;
  evalExamplesPerSecond: number;
  evalToTrainRatio: number;
  peakRssGB: number;
  microBatch: string;
  device: string;
  /** --targets: output tokens per second of batched greedy decoding alone, and of the job's evaluation (scoring included). */
  decodeTokensPerSecond?: number;
  evalOutputTokensPerSecond?: number;
}

/** Rows and new tokens of the decoding timed by --targets. */
const DECODE_ROWS = 32;
const DECODE_TOKENS = 32;

/**
 * Batched greedy decoding alone: DECODE_ROWS test stories behind a 20-token soft prompt, each
 * continued by DECODE_TOKENS tokens (end-of-sequence does not stop it); output tokens per second
 * of the second of two runs (the first warms the runtime up).
 */
async function decodeThroughput(folder: string, device: DeviceChoice, stories: string[]): Promise<number> {
  const lm = await openModel(folder, { device });
  try {
    const prompts = stories.slice(0, DECODE_ROWS).map((s) => lm.tokenizer!.encode(`${s} The story is about the`));
    const soft = { length: 20, dim: lm.cfg.hiddenSize, data: lm.embeddings(Array.from({ length: 20 }, (_, i) => 100 + i)) };
    let seconds = 0;
    for (let run = 0; run < 2; run++) {
      const started = performance.now();
      await lm.generate(prompts, soft, DECODE_TOKENS, { stopAtEos: false });
      seconds = (performance.now() - started) / 1000;
    }
    return (prompts.length * DECODE_TOKENS) / seconds;
  } finally {
    await lm.dispose();
  }
}

function checkpointFor(name: string): string {
  const dir = join(process.env.PTUNE_BENCH_CHECKPOINTS ?? join(cacheRoot(), 'bench-checkpoints'), name);
  if (!hasCheckpoint(dir)) {
    process.stderr.write(`writing a random BF16 checkpoint of ${name} into ${dir}\n`);
    writeRandomCheckpoint(dir, REAL_CONFIGS[name], join(packageRoot(), 'models', 'stories260K'));
  }
  return dir;
}

/** One job on one model, in this process: what the parent reads from the child's stdout. */
async function child(name: string, device: DeviceChoice, evalCount: number, micro: number | undefined, defaults: boolean, targets: boolean): Promise<ModelBenchRow> {
  const folder = checkpointFor(name);
  const data = join(packageRoot(), 'data', targets ? 'subject' : 'mood');
  const dir = join(cacheRoot(), 'bench-jobs', name);
  mkdirSync(dir, { recursive: true });
  // a text target: every prompt generates (a random model never says end-of-sequence, so each
  // output runs to maxNewTokens) and its output is scored
  const task = targets
    ? { data: { text: '{story} The story is about the', target: '{subject}' }, prompts: [{ id: 'zero-shot', template: '{story} The story is about the' }, { id: 'question', template: '{story} What was the story about? It was about the' }], evaluation: { maxNewTokens: 16, assert: [{ type: 'icontains', value: '{subject}' }] } }
    : { data: { text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } }, prompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }, { id: 'question', template: '{story} Was the story happy or sad? It was' }], evaluation: defaults ? {} : { generation: false } };
  const spec = {
    name: `bench-${name}`, model: folder,
    data: { train: join(data, 'train.jsonl'), test: join(data, 'test.jsonl'), ...task.data, maxExamples: evalCount },
    discretePrompts: task.prompts,
    // the fixed job (a 20-token prompt, batch 8, rank classification only), or a spec's defaults
    // (the paper's 100-token prompt, batch 32, exact match by generation too)
    softPrompt: defaults ? { init: 'sampled-vocab' } : { length: 20, init: 'sampled-vocab' },
    training: { steps: 3, ...(defaults ? {} : { batchSize: 8 }), evalEvery: 1000, checkpointEvery: 1000, ...(micro ? { microBatchSize: micro } : {}) },
    evaluation: task.evaluation,
  };
  const batchSize = defaults ? 32 : 8;
  const specFile = join(dir, 'bench.ptune.json');
  writeFileSync(specFile, JSON.stringify(spec));
  let setupStart = 0;
  let setupSeconds = 0;
  let lastProgress = 0;
  const stepSeconds: number[] = [];
  let evalStart = 0;
  let microBatch = '';
  let deviceNote = '';
  const { runDir } = await runJob({ kind: 'train', specFile, device, runsDir: join(dir, 'runs') }, (e) => {
    const now = performance.now();
    if (e.type === 'setup' && setupStart === 0) setupStart = now;
    if (e.type === 'setup' && e.phase === 'ready') setupSeconds = (now - setupStart) / 1000;
    if (e.type === 'log' && e.message.startsWith('memory:')) microBatch = /micro-batch (\d+)/.exec(e.message)?.[1] ?? '';
    if (e.type === 'log' && e.message.startsWith('device:')) deviceNote = e.message.replace('device: ', '');
    if (e.type === 'progress') {
      if (lastProgress !== 0) stepSeconds.push((now - lastProgress) / 1000);
      lastProgress = now;
    }
    if (e.type === 'evalProgress' && evalStart === 0) evalStart = lastProgress;
  });
  const evalSeconds = (performance.now() - (evalStart || lastProgress)) / 1000;
  const tests = evalCount * 3; // two discrete prompts and the soft prompt, each on every test example
  const stepTime = stepSeconds.length ? stepSeconds.reduce((a, b) => a + b, 0) / stepSeconds.length : NaN;
  const train = batchSize / stepTime;
  const evaluation = tests / evalSeconds;
  let targetFigures = {};
  if (targets) {
    const ev = RunDir.open(runDir).readEval();
    const outputTokens = ev.results.reduce((sum, r) => sum + (r.outputTokens ?? 0) * r.count, 0);
    const stories = readFileSync(join(data, 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).story as string);
    targetFigures = { evalOutputTokensPerSecond: outputTokens / evalSeconds, decodeTokensPerSecond: await decodeThroughput(folder, device, stories) };
  }
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  return {
    model: name,
    parameters: configParameters(parseModelConfig(REAL_CONFIGS[name])),
    // from the graph's build to the runtime's session, weights loaded
    setupSeconds: Math.round(setupSeconds * 10) / 10,
    trainExamplesPerSecond: train,
    evalExamplesPerSecond: evaluation,
    evalToTrainRatio: evaluation / train,
    peakRssGB: hwm / 2 ** 30,
    microBatch,
    device: deviceNote,
    ...targetFigures,
  };
}

function runChild(name: string, device: DeviceChoice, evalCount: number, micro: number | undefined, defaults: boolean, targets: boolean): Promise<ModelBenchRow> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--device', device, '--eval', String(evalCount), ...(micro ? ['--micro', String(micro)] : []), ...(defaults ? ['--defaults'] : []), ...(targets ? ['--targets'] : [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`${name}: the bench job exited with ${code}`));
    });
  });
}

export async function benchModels(options: { device: DeviceChoice; only?: string[]; evalCount?: number; micro?: number; defaults?: boolean; targets?: boolean }): Promise<Record<string, unknown>> {
  const names = options.only ?? (options.device === 'cpu' || options.device === 'auto' ? CPU_MODELS : GPU_MODELS);
  const rows: ModelBenchRow[] = [];
  for (const name of names) {
    if (!REAL_CONFIGS[name]) throw new Error(`unknown model "${name}" (${Object.keys(REAL_CONFIGS).join(', ')})`);
    try {
      rows.push(await runChild(name, options.device, options.evalCount ?? 24, options.micro, options.defaults ?? false, options.targets ?? false));
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
    }
    const r = rows[rows.length - 1];
    if (r?.model === name) {
      process.stderr.write(`${name.padEnd(14)} ${(r.parameters / 1e6).toFixed(0).padStart(5)}M  setup ${r.setupSeconds.toFixed(1).padStart(6)} s  train ${r.trainExamplesPerSecond.toPrecision(3).padStart(6)} ex/s  eval ${r.evalExamplesPerSecond.toPrecision(3).padStart(6)} ex/s (x${r.evalToTrainRatio.toFixed(1)})  peak RSS ${r.peakRssGB.toFixed(2)} GiB  micro-batch ${r.microBatch}  ${r.device}${r.decodeTokensPerSecond !== undefined ? `  decode ${r.decodeTokensPerSecond.toPrecision(3)} tok/s (${DECODE_ROWS} rows), evaluation ${r.evalOutputTokensPerSecond!.toPrecision(3)} output tok/s` : ''}\n`);
    }
  }
  return { models: rows };
}

const argv = process.argv;
if (argv.includes('--child')) {
  const get = (flag: string) => argv[argv.indexOf(flag) + 1];
  const row = await child(get('--child'), get('--device') as DeviceChoice, Number(get('--eval')), argv.includes('--micro') ? Number(get('--micro')) : undefined, argv.includes('--defaults'), argv.includes('--targets'));
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
