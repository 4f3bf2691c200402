// How a job that owns a run folder ends when it stops early: the one path for cancellation and
// failure, so a run never stays 'running' after its job has returned or thrown.
import type { JobSummary } from '../../common/protocol.js';
import type { RunDir } from '../../common/run-folder.js';
import { CancelledError } from '../evaluate/evaluate.js';

/**
 * Runs the part of a job after its run folder exists. A cancellation (CancelledError, from
 * training, evaluation or the job's own loop) ends the run 'cancelled' and returns that summary;
 * any other error ends it 'failed' with the message and is rethrown.
 */
export async function endRun(run: RunDir, split: 'test' | 'dev', body: () => Promise<JobSummary>): Promise<JobSummary> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CancelledError) {
      run.updateRecord({ status: 'cancelled' });
      return { runDir: run.dir, split, status: 'cancelled', results: [] };
    }
    run.updateRecord({ status: 'failed', error: (e as Error).message });
    throw e;
  }
}
