// `npm run bench -- <engine|train|mixed|models> [--json] [--device ...] [--targets]`: prints figures and ratios.
import { parseArgs } from 'node:util';
import { parseDevice } from '../src/cli/options.js';
import { benchEngine } from './engine.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'boolean' }, device: { type: 'string' }, steps: { type: 'string' }, only: { type: 'string' }, eval: { type: 'string' }, micro: { type: 'string' }, defaults: { type: 'boolean' }, targets: { type: 'boolean' } } });
const which = positionals[0] ?? 'engine';
const device = parseDevice(values.device);
const steps = Number(values.steps ?? 7);

async function run(): Promise<Record<string, unknown>> {
  if (which === 'engine') return benchEngine({ device, steps });
  if (which === 'train') return (await import('./train.js')).benchTrain({ device });
  if (which === 'models') return (await import('./models.js')).benchModels({ device, only: values.only?.split(','), evalCount: values.eval ? Number(values.eval) : undefined, micro: values.micro ? Number(values.micro) : undefined, defaults: values.defaults, targets: values.targets });
  if (which === 'mixed') return (await import('./mixed.js')).benchMixed({ device });
  throw new Error(`unknown benchmark "${which}" (engine, train, mixed, models)`);
}

const result = await run();
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(16)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : JSON.stringify(v)}\n`);
