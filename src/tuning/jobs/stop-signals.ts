// The signals that stop a job as Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (kill, a service manager,
// a container stopping) and SIGHUP (the terminal closed). The first cancels after the current step
// (a checkpoint, the run 'cancelled', resumable); a second of any of them ends the process at once.

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The exit status of a process ended by a signal, as a shell reports it (128 + its number). */
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Listens for the stop signals until the returned function is called: the first calls `onStop`
 * with its name, a second ends the process with that signal's exit status. After SIGHUP the
 * terminal may be gone: writes to it then fail, which must not end the job before its checkpoint.
 */
export function onStopSignals(onStop: (signal: StopSignal) => void): () => void {
  let received = 0;
  const ignore = () => undefined;
  const handler = (signal: StopSignal) => {
    received++;
    if (signal === 'SIGHUP') {
      process.stdout.on('error', ignore);
      process.stderr.on('error', ignore);
    }
    if (received > 1) process.exit(SIGNAL_EXIT[signal]);
    onStop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => { for (const s of STOP_SIGNALS) process.off(s, handler); };
}
