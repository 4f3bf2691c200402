// What the Run view shows: the running job, live; between jobs, the last job's curves under one
// line saying how it ended. A reload ends the window's job with its extension host, and the new
// host remembers no job: until it runs one, the run written to last stands for the last job.
import { dirname } from 'node:path';
import { jobSubject, type RunViewToWebview } from '../../common/protocol.js';
import { effectiveStatus, listRuns, runsRootFor, type RunDir } from '../../common/run-folder.js';
import type { RunRecord } from '../../common/run-files.js';
import { trainingCurves } from './comparison-data.js';
import { outcomeLine, resultsLine, type FinishedJob, type LiveJob } from './jobs.js';
import { stoppedAt } from './experiments.js';

export type RunViewReset = Extract<RunViewToWebview, { type: 'reset' }>;

/** The view's whole content: the live job's, else the job that ended last in this window, else the newest run's on disk. A text target's dev curve is its headline metric, named by `metric`. */
export function runViewReset(live: LiveJob | null, lastFinished: FinishedJob | null, newest: RunDir | null): RunViewReset {
  const metricOf = (job: LiveJob) => (job.devMetric ? { metric: job.devMetric } : {});
  if (live) return { type: 'reset', runId: live.runId, steps: live.steps, loss: live.loss, devAccuracy: live.devAccuracy, status: live.status, ...metricOf(live) };
  if (lastFinished) {
    const { live: last, outcome } = lastFinished;
    return { type: 'reset', runId: last.runId ?? `${outcome.job.kind} ${jobSubject(outcome.job)}`, steps: last.steps, loss: last.loss, devAccuracy: last.devAccuracy, status: 'idle', ended: outcomeLine(outcome), ...metricOf(last) };
  }
  if (newest) {
    try {
      const record = newest.record;
      const { loss, devAccuracy, devMetric } = trainingCurves(newest);
      const dev = devMetric ? { devAccuracy: devMetric.points, metric: devMetric.name } : { devAccuracy };
      return { type: 'reset', runId: newest.id, steps: record.steps, loss, ...dev, status: 'idle', ended: runStateLine(newest, record) };
    } catch {
      /* a run folder being deleted, or a torn file: show none */
    }
  }
  return { type: 'reset', runId: null, steps: 0, loss: [], devAccuracy: [], status: 'idle' };
}

/** The run of the specs' folders whose run.json was written last, or null where they have none. */
export function newestRun(specFiles: string[]): RunDir | null {
  const roots = [...new Set(specFiles.map((f) => runsRootFor(dirname(f))))];
  let newest: { run: RunDir; updatedAt: string } | null = null;
  for (const run of roots.flatMap(listRuns)) {
    try {
      const { updatedAt } = run.record;
      if (!newest || updatedAt > newest.updatedAt) newest = { run, updatedAt };
    } catch {
      /* not a readable run: not the last job's */
    }
  }
  return newest?.run ?? null;
}

/** How a run on disk ended, in the words the view has for a job that ended in this window. */
function runStateLine(run: RunDir, record: RunRecord): string {
  const status = effectiveStatus(record);
  if (status === 'completed') {
    const evaluation = run.has('eval.json') ? run.readEval() : null;
    if (!evaluation) return 'completed';
    return resultsLine(evaluation.split, evaluation.results, evaluation.task === 'target' ? evaluation.metric ?? 'exactMatch' : undefined);
  }
  if (status === 'failed') return record.error ? `failed: ${record.error.split('\n')[0]}` : 'failed';
  if (status === 'running') return `running in another process, step ${record.step}/${record.steps} at its last checkpoint`;
  return stoppedAt(status, record);
}
