// ptune inspect: a run's soft-prompt tokens beside their nearest vocabulary tokens and the class labels.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../common/errors.js';
import { RunDir } from '../common/run-folder.js';
import type { InspectReport } from '../common/run-files.js';
import { runJob } from '../tuning/jobs/index.js';
import { DEFAULT_TOP } from '../tuning/jobs/inspect.js';
import { terminalReporter } from './jobs.js';

/** One line per prompt token: its neighbours with their cosines, then its nearest label. */
export function formatInspectTable(report: InspectReport): string {
  const lines = [`run ${report.runId}, model ${report.model}: top ${report.top} of ${report.vocabularySize} ordinary tokens by cosine similarity`, ''];
  const width = String(report.tokens.length - 1).length;
  for (const t of report.tokens) {
    const neighbours = t.neighbours.map((nb) => `${JSON.stringify(nb.text)}${nb.label !== undefined ? '*' : ''} ${nb.cosine.toFixed(3)}`).join('  ');
    const label = t.nearestLabel ? `  | nearest label ${t.nearestLabel.label} ${t.nearestLabel.cosine.toFixed(3)}` : '';
    lines.push(`${String(t.index).padStart(width)}  ${neighbours}${label}`);
  }
  if (report.labels.length) {
    lines.push('', 'label similarity per prompt token:');
    for (const l of report.labels) lines.push(`  ${l.label} (${JSON.stringify(l.text)}): ${l.similarities.map((s) => s.toFixed(3)).join(' ')}`);
    lines.push('  (* marks a class label\'s own token)');
  }
  lines.push('', report.summary);
  return `${lines.join('\n')}\n`;
}

export async function inspect(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { top: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new InputError('inspect: give one run folder');
  const top = values.top === undefined ? DEFAULT_TOP : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new InputError(`--top ${values.top}: expected a whole number of at least 1`);
  const run = RunDir.open(resolve(positionals[0]));
  await runJob({ kind: 'inspect', runDir: run.dir, top }, terminalReporter(values.json ?? false));
  const report = run.readInspect();
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatInspectTable(report));
}
