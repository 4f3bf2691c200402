// What Compare Runs shows beside the comparison panel when exactly two runs are picked: the later
// run against the earlier one as a Markdown diff, or why the two cannot be paired.
import { basename } from 'node:path';
import { computeRunDiff, formatRunDiff } from '../../common/run-diff.js';

export type PickedRunsDiff = { kind: 'diff'; title: string; markdown: string } | { kind: 'refused'; message: string };

/**
 * The diff of two picked runs, B being the newer (run ids start with their creation time), each
 * with its default prompt; null for any other number of runs, which the panel alone shows.
 */
export function diffOfPickedRuns(runDirs: string[]): PickedRunsDiff | null {
  if (runDirs.length !== 2) return null;
  const [dirA, dirB] = [...runDirs].sort((x, y) => basename(x).localeCompare(basename(y)));
  try {
    const diff = computeRunDiff(dirA, dirB);
    return { kind: 'diff', title: `${diff.b.runId} vs ${diff.a.runId}`, markdown: formatRunDiff(diff) };
  } catch (e) {
    return { kind: 'refused', message: (e as Error).message };
  }
}
