// What the Experiments tree shows, computed from the files: each spec, its runs newest first,
// with a status, progress and best metric.
import { resolve } from 'node:path';
import { listRuns, runsRootFor, type RunRecord } from '../../common/run-folder.js';
import type { PromptResult } from '../../common/run-files.js';

export interface LiveProgress { runDir: string; step: number; steps: number; loss?: number }

export interface RunNode {
  kind: 'run';
  runDir: string;
  id: string;
  status: RunRecord['status'];
  label: string;
  description: string;
  tooltip: string;
  /** For `when` clauses of context-menu actions. */
  contextValue: string;
  icon: 'pass' | 'error' | 'circle-slash' | 'sync~spin' | 'history';
}

export interface SpecNode { kind: 'spec'; file: string; label: string; description: string; runs: RunNode[] }

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export function runNode(runDir: string, record: RunRecord & { kind?: string }, results: PromptResult[] | null, live?: LiveProgress): RunNode {
  const status = record.status;
  let description: string;
  if (live && live.runDir === runDir && status === 'running') {
    description = `step ${live.step}/${live.steps}${live.loss !== undefined ? `, loss ${live.loss.toFixed(3)}` : ''}`;
  } else if (results && results.length) {
    const soft = results.filter((r) => r.kind !== 'discrete');
    const best = [...(soft.length ? soft : results)].sort((a, b) => b.accuracy - a.accuracy)[0];
    description = `${best.id} ${pct(best.accuracy)}`;
    const discrete = results.filter((r) => r.kind === 'discrete');
    if (discrete.length && soft.length) description += ` (best discrete ${pct(Math.max(...discrete.map((r) => r.accuracy)))})`;
  } else if (status === 'running') description = `running, step ${record.step}/${record.steps}`;
  else if (status === 'cancelled') description = `cancelled at step ${record.step}`;
  else if (status === 'failed') description = 'failed';
  else description = record.kind === 'import' ? 'imported soft prompt' : record.kind === 'scale' ? `scaling ablation over ${(record as { models?: string[] }).models?.length ?? 0} models` : record.kind === 'sweep' ? `sweep (${status})` : status;
  const icon = status === 'completed' ? 'pass' : status === 'failed' ? 'error' : status === 'cancelled' ? 'circle-slash' : live?.runDir === runDir ? 'sync~spin' : 'history';
  const tooltip = [`${record.id}`, `status: ${status}`, `model: ${record.model?.id ?? ''}`, `device: ${record.device}`, record.error ? `error: ${record.error}` : ''].filter(Boolean).join('\n');
  const evaluated = results !== null || record.kind === 'scale';
  return { kind: 'run', runDir, id: record.id, status, label: record.id, description, tooltip, contextValue: `run.${status}${evaluated ? '.evaluated' : ''}`, icon };
}

export function specNode(file: string, live?: LiveProgress): SpecNode {
  const abs = resolve(file);
  const runs = listRuns(runsRootFor(resolve(abs, '..')))
    .flatMap((run) => {
      try {
        const record = run.record as RunRecord & { kind?: string };
        if (record.specFile && resolve(record.specFile) !== abs) return [];
        const results = run.has('eval.json') ? run.readJson<{ results: PromptResult[] }>('eval.json').results : null;
        return [runNode(run.dir, record, results, live)];
      } catch {
        return [];
      }
    });
  const name = abs.split(/[\\/]/).pop()!.replace(/\.ptune\.json$/, '');
  return { kind: 'spec', file: abs, label: name, description: runs.length ? `${runs.length} run${runs.length > 1 ? 's' : ''}` : 'no runs yet', runs };
}
