// How a job that owns a run folder ends when it stops early: the one path for cancellation and
// failure, so a run never stays 'running' after its job has returned or thrown.
import type { JobSummary, TrainerEvent } from '../../common/protocol.js';
import type { RunDir } from '../../common/run-folder.js';
import { CancelledError } from '../evaluate/evaluate.js';

/**
 * Runs the part of a job after its run folder exists. A cancellation (CancelledError, from
 * training, evaluation or the job's own loop) ends the run 'cancelled' and returns that summary;
 * any other error ends it 'failed' with the message and is rethrown. Where run.json cannot take
 * the failure (a full disk), the original error still stands, and a warning says the run will
 * show as interrupted (its process gone) instead.
 */
export async function endRun(run: RunDir, split: 'test' | 'dev', emit: (event: TrainerEvent) => void, body: () => Promise<JobSummary>): Promise<JobSummary> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CancelledError) {
      run.updateRecord({ status: 'cancelled' });
      return { runDir: run.dir, split, status: 'cancelled', results: [] };
    }
    if (!run.recordFailure((e as Error).message)) {
      emit({ type: 'log', message: `warning: ${run.path('run.json')} could not be updated to record the failure; the run will show as interrupted` });
    }
    throw e;
  }
}
