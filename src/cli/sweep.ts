// ptune sweep: the spec trained over a grid of field values and seeds, summarised per point.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../common/errors.js';
import type { SweepAxis } from '../common/protocol.js';
import { AXIS_SHORTHANDS, runSweep, type SweepResult } from '../tuning/jobs/sweep.js';
import { terminalReporter } from './jobs.js';
import { onStopSignals } from '../tuning/jobs/stop-signals.js';
import { parseDevice, parsePrecision, parseThreads } from './options.js';

const listOf = (text: string) => text.split(',').map((v) => v.trim()).filter(Boolean);

/** The axes in the order the flags were given: the first is the chart's x axis. */
export function sweepAxes(tokens: { kind: string; name?: string; value?: string }[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'axis') {
      const eq = t.value.indexOf('=');
      if (eq <= 0) throw new InputError(`--axis ${t.value}: expected path=v1,v2, for example softPrompt.length=1,5,20`);
      axes.push({ path: t.value.slice(0, eq).trim(), values: listOf(t.value.slice(eq + 1)) });
    } else if (t.name && t.name in AXIS_SHORTHANDS) {
      axes.push({ path: AXIS_SHORTHANDS[t.name as keyof typeof AXIS_SHORTHANDS], values: listOf(t.value) });
    }
  }
  return axes;
}

export function formatSweepTable(result: SweepResult): string {
  const paths = Object.keys(result.points[0]?.values ?? {});
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(1)}%`);
  const head = `| ${[...paths, 'runs', `${result.split} ${result.measure} (mean)`, 'std'].join(' | ')} |\n|${[...paths.map(() => '---'), '---:', '---:', '---:'].join('|')}|\n`;
  return head + result.points.map((p) => `| ${[...paths.map((k) => String(p.values[k])), String(p.accuracy.n), pct(p.accuracy.mean), pct(p.accuracy.std)].join(' | ')} |\n`).join('');
}

export async function sweep(argv: string[]): Promise<void> {
  const { values, positionals, tokens } = parseArgs({
    args: argv, allowPositionals: true, tokens: true,
    options: {
      axis: { type: 'string', multiple: true }, length: { type: 'string' }, init: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' },
      seeds: { type: 'string' }, set: { type: 'string', multiple: true }, json: { type: 'boolean' }, 'runs-dir': { type: 'string' },
      device: { type: 'string' }, precision: { type: 'string' }, threads: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new InputError('sweep: give one spec file (*.ptune.json)');
  const seeds = values.seeds === undefined ? 1 : Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) throw new InputError(`--seeds ${values.seeds}: expected a whole number of seeds, 1 or more`);
  const controller = new AbortController();
  const stop = onStopSignals((signal) => {
    process.stderr.write(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling the sweep after the current step\n`);
    controller.abort();
  });
  let result: SweepResult;
  try {
    result = await runSweep({
      kind: 'sweep', specFile: resolve(positionals[0]), device: parseDevice(values.device), precision: parsePrecision(values.precision),
      threads: parseThreads(values.threads), runsDir: values['runs-dir'] ? resolve(values['runs-dir']) : undefined,
      axes: sweepAxes(tokens ?? []), seeds, overrides: values.set ?? [],
    }, terminalReporter(values.json ?? false), controller.signal);
  } finally {
    stop();
  }
  if (result.status === 'cancelled') process.exitCode = 130;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runDir: result.runDir, split: result.split, status: result.status, seeds: result.seeds, points: result.points })}\n`);
    return;
  }
  process.stdout.write(`\n${formatSweepTable(result)}\nsweep (${result.status}): ${result.runDir}\nchart: ${join(result.runDir, 'sweep.svg')}\n`);
}
