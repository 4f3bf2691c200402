// `ptune export-job` (an experiment as an Accelerate job for a multi-GPU host or Slurm) and
// `ptune import-job` (the job's run folder back among the runs).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../common/errors.js';
import { importRunFolder } from '../common/job-import.js';
import { runsRootFor } from '../common/run-folder.js';
import { loadSpec } from '../common/spec.js';
import { exportAccelerateJob } from '../tuning/jobs/export-job.js';

export async function exportJob(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { to: { type: 'string' }, model: { type: 'string' }, slurm: { type: 'boolean' } } });
  if (values.to !== 'accelerate') throw new InputError(`export-job: --to ${values.to ?? '(missing)'}: the one target is "accelerate"`);
  if (positionals.length !== 2) throw new InputError('export-job: give a spec file and an output folder');
  const [spec, out] = positionals.map((p) => resolve(p));
  const result = await exportAccelerateJob(spec, out, { model: values.model, log: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`wrote ${result.outDir}: ${result.files.join(', ')}\n`);
  process.stdout.write(values.slurm
    ? `run it with: cd ${result.outDir} && sbatch job.sbatch   (then: ptune import-job ${result.outDir}/run)\n`
    : `run it with: ${result.outDir}/launch.sh   (then: ptune import-job ${result.outDir}/run)\n`);
}

export async function importJob(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { spec: { type: 'string' }, 'runs-dir': { type: 'string' }, name: { type: 'string' } } });
  if (positionals.length !== 1) throw new InputError('import-job: give one run folder');
  const runsDir = values['runs-dir'] ? resolve(values['runs-dir']) : values.spec ? runsRootFor(loadSpec(resolve(values.spec)).dir) : runsRootFor(process.cwd());
  const run = importRunFolder(positionals[0], runsDir, values.name);
  process.stdout.write(`imported ${resolve(positionals[0])} as ${run.dir}\n`);
}
