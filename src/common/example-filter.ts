// Which example rows a comparison filter and search keep. Pure: the webview bundles it too.
import type { ComparisonData, ExampleRow } from './protocol.js';

export type ExampleFilter = 'all' | 'disagreements' | 'soft-wrong' | 'discrete-wrong';

export function filterExamples(data: ComparisonData, filter: ExampleFilter, search: string): ExampleRow[] {
  const kinds = new Map(data.prompts.map((p) => [p.key, p.kind]));
  const needle = search.trim().toLowerCase();
  return data.examples.filter((row) => {
    const cells = Object.entries(row.cells);
    if (filter === 'disagreements' && new Set(cells.map(([, c]) => c.prediction)).size < 2) return false;
    if (filter === 'soft-wrong' && !cells.some(([k, c]) => kinds.get(k) !== 'discrete' && !c.correct)) return false;
    if (filter === 'discrete-wrong' && !cells.some(([k, c]) => kinds.get(k) === 'discrete' && !c.correct)) return false;
    if (needle && !row.input.toLowerCase().includes(needle) && !row.gold.toLowerCase().includes(needle)) return false;
    return true;
  });
}
