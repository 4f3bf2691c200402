// The sweep figure: mean test accuracy against the first axis (log scale for soft prompt length
// and learning rate, as the paper's third figure), one line per combination of the other axes,
// error bars of one standard deviation over seeds.
import { accuracyScale, CHART, chartFrame, esc, legendEntry, logScale, marker, polyline } from './scale-chart.js';
import type { AxisValue } from '../../common/run-files.js';

export interface ChartPoint { values: Record<string, AxisValue>; accuracy: { mean: number | null; std: number | null; n: number } }

const STYLES = [
  { color: '#3794ff', dash: '', marker: 'circle' },
  { color: '#d18616', dash: '8 4', marker: 'square' },
  { color: '#5c8a2e', dash: '2 4', marker: 'triangle' },
  { color: '#a1260d', dash: '12 3 3 3', marker: 'circle' },
  { color: '#7a3e9d', dash: '4 2', marker: 'square' },
  { color: '#007a7a', dash: '1 3', marker: 'triangle' },
] as const;

/** Axes whose values span orders of magnitude, drawn on a log scale. */
const LOG_AXES = new Set(['softPrompt.length', 'training.learningRate']);

const fieldName = (path: string) => path.split('.').pop()!;

export function sweepChartSvg(axes: { path: string; values: AxisValue[] }[], points: ChartPoint[], title: string, measure = 'accuracy'): string {
  const { width: W, left, right } = CHART;
  const [first, ...others] = axes;
  const xValues = first ? first.values : ['all runs'];
  const numeric = xValues.every((v) => typeof v === 'number');
  const log = numeric && LOG_AXES.has(first?.path ?? '') && xValues.every((v) => (v as number) > 0);
  let x: (v: AxisValue) => number;
  if (log || numeric) {
    const at = (v: number) => (log ? Math.log10(v) : v);
    const lo = Math.min(...xValues.map((v) => at(v as number))), hi = Math.max(...xValues.map((v) => at(v as number)));
    // a margin either side keeps the end markers and their error bars off the axis
    const pad = hi > lo ? (hi - lo) * 0.08 : 0.5;
    if (log) {
      const scale = logScale(lo - pad, hi + pad);
      x = (v) => scale(v as number);
    } else x = (v) => left + ((at(v as number) - (lo - pad)) / (hi - lo + 2 * pad)) * (W - left - right);
  } else x = (v) => left + ((xValues.indexOf(v) + 0.5) / xValues.length) * (W - left - right);
  const measured = points.filter((p) => p.accuracy.mean !== null);
  const scale = accuracyScale(measured.flatMap((p) => [p.accuracy.mean! - (p.accuracy.std ?? 0), p.accuracy.mean!]));
  const clampY = (a: number) => scale.y(Math.min(1, Math.max(scale.low, a)));
  const ticks = xValues.map((v) => ({ px: x(v), label: esc(String(v)) }));
  const xTitle = first ? `${first.path}${log ? ' (log scale)' : ''}` : '';
  const parts = chartFrame(title, ticks, xTitle, scale, measure);
  // one line per combination of the other axes' values, in the order the axes list them
  const lines = new Map<string, { label: string; points: ChartPoint[] }>();
  for (const p of points) {
    const key = JSON.stringify(others.map((a) => p.values[a.path]));
    const label = others.map((a) => `${fieldName(a.path)}=${p.values[a.path]}`).join(', ') || 'prompt tuning';
    if (!lines.has(key)) lines.set(key, { label, points: [] });
    lines.get(key)!.points.push(p);
  }
  [...lines.values()].forEach((line, k) => {
    const style = STYLES[k % STYLES.length];
    const drawn = line.points.filter((p) => p.accuracy.mean !== null)
      .map((p) => ({ px: x(first ? p.values[first.path] : 'all runs'), mean: p.accuracy.mean!, std: p.accuracy.std ?? 0 }))
      .sort((a, b) => a.px - b.px);
    parts.push(polyline(drawn.map((d) => [d.px, scale.y(d.mean)] as const), style.color, style.dash));
    for (const d of drawn) {
      if (d.std > 0) {
        const y1 = clampY(d.mean - d.std), y2 = clampY(d.mean + d.std);
        parts.push(`<path class="error-bar" d="M${(d.px - 4).toFixed(1)},${y1.toFixed(1)}h8M${d.px.toFixed(1)},${y1.toFixed(1)}V${y2.toFixed(1)}M${(d.px - 4).toFixed(1)},${y2.toFixed(1)}h8" stroke="${style.color}" stroke-width="1.5" fill="none"/>`);
      }
      parts.push(marker(style.marker, d.px, scale.y(d.mean), style.color));
    }
    parts.push(...legendEntry(k, style.marker, style.color, line.label));
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
