// The trainer process (dist/trainer.cjs): forked by the extension host, it runs one job and
// reports over IPC with the messages of src/common/protocol.ts. It exits when its parent goes away.
import { fileSystemError, InputError, RunFailedError } from '../common/errors.js';
import { jobSubject, type TrainerEvent, type TrainerRequest } from '../common/protocol.js';
import { runJob } from '../tuning/jobs/index.js';
import { onStopSignals } from '../tuning/jobs/stop-signals.js';

function send(event: TrainerEvent): void {
  if (process.send && process.connected) process.send(event);
}

const controller = new AbortController();
let started = false;

// SIGTERM, SIGINT and SIGHUP cancel as the parent's cancel does: the step ends, a checkpoint is
// written and the run is marked cancelled (a second signal ends the process at once)
onStopSignals((signal) => {
  process.stderr.write(`[trainer] ${signal}: cancelling after the current step\n`);
  controller.abort();
});

process.on('disconnect', () => {
  // the parent died or closed the channel: nobody is listening, stop now
  process.exit(0);
});

process.on('message', (message: TrainerRequest) => {
  if (message.type === 'cancel') {
    process.stderr.write('[trainer] cancel requested\n');
    controller.abort();
    return;
  }
  if (message.type === 'start' && !started) {
    started = true;
    process.stderr.write(`[trainer] ${message.job.kind} ${jobSubject(message.job)}\n`);
    runJob(message.job, (e) => {
      if (e.type === 'log') process.stderr.write(`[trainer] ${e.message}\n`);
      send(e);
    }, controller.signal).then(
      (summary) => {
        send({ type: 'done', summary });
        process.disconnect?.();
      },
      (thrown: Error) => {
        // a file-system error is said with its path and operation, as an input error
        const error = fileSystemError(thrown) ?? thrown;
        process.stderr.write(`[trainer] ${error instanceof InputError || error instanceof RunFailedError ? error.message : error.stack ?? error.message}\n`);
        send({ type: 'error', message: error.message, location: error instanceof InputError ? error.location : undefined });
        process.disconnect?.();
      },
    );
  }
});

send({ type: 'ready', pid: process.pid });
