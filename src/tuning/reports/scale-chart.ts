// The scaling figure (accuracy against parameter count, log scale, one line per method, as the
// paper's first figure) as a standalone SVG file. Written directly: the chart is a few lines and
// paths, and a file needs no browser or chart runtime.
import type { ScalePoint } from '../../common/run-files.js';

// distinct dashes and markers, so coinciding lines stay readable
const SERIES = [
  { key: 'modelTuning', label: 'Model tuning', color: '#d18616', dash: '', marker: 'circle' },
  { key: 'promptTuning', label: 'Prompt tuning', color: '#3794ff', dash: '8 4', marker: 'square' },
  { key: 'promptDesign', label: 'Prompt design (best discrete)', color: '#5c8a2e', dash: '2 4', marker: 'triangle' },
] as const;

export function marker(kind: string, cx: number, cy: number, color: string): string {
  if (kind === 'square') return `<rect x="${(cx - 4.5).toFixed(1)}" y="${(cy - 4.5).toFixed(1)}" width="9" height="9" fill="${color}"/>`;
  if (kind === 'triangle') return `<polygon points="${cx.toFixed(1)},${(cy - 5.5).toFixed(1)} ${(cx - 5).toFixed(1)},${(cy + 4).toFixed(1)} ${(cx + 5).toFixed(1)},${(cy + 4).toFixed(1)}" fill="${color}"/>`;
  return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${color}"/>`;
}

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The canvas and plot margins the accuracy charts share. */
export const CHART = { width: 640, height: 420, left: 64, right: 24, top: 48, bottom: 64 } as const;

/** Pixel x of a value on a log10 axis from 10^lo to 10^hi across the plot. */
export function logScale(lo: number, hi: number): (value: number) => number {
  const { width, left, right } = CHART;
  return (value) => left + ((Math.log10(value) - lo) / (hi - lo)) * (width - left - right);
}

/** Pixel y of an accuracy (0..1): from a tenth below the lowest value (at most 0.5) up to 1. */
export function accuracyScale(values: number[]): { low: number; y(accuracy: number): number } {
  const { height, top, bottom } = CHART;
  const low = Math.max(0, Math.floor((Math.min(...values, 0.5) - 0.05) * 10) / 10);
  return { low, y: (accuracy) => top + (1 - (accuracy - low) / (1 - low)) * (height - top - bottom) };
}

/** Opening tag, background, title, grid, axes and axis titles; x ticks as a pixel and label markup. */
export function chartFrame(title: string, xTicks: { px: number; label: string }[], xTitle: string, scale: ReturnType<typeof accuracyScale>, measure = 'accuracy'): string[] {
  const { width: W, height: H, left, right, top, bottom } = CHART;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (const { px, label } of xTicks) parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${H - bottom}" stroke="#e4e4e4"/>`, `<text x="${px}" y="${H - bottom + 18}" text-anchor="middle">${label}</text>`);
  for (let a = Math.ceil(scale.low * 10) / 10; a <= 1.0001; a += 0.1) {
    const py = scale.y(a);
    parts.push(`<line x1="${left}" y1="${py}" x2="${W - right}" y2="${py}" stroke="#e4e4e4"/>`, `<text x="${left - 8}" y="${py + 4}" text-anchor="end">${Math.round(a * 100)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#555"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#555"/>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 20}" text-anchor="middle">${esc(xTitle)}</text>`);
  parts.push(`<text x="18" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + H - bottom) / 2})">test ${esc(measure)} (%)</text>`);
  return parts;
}

/** A line through points, in a series' colour and dash. */
export function polyline(points: (readonly [number, number])[], color: string, dash: string): string {
  return `<polyline fill="none" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`;
}

/** The k-th legend entry, top left of the plot. */
export function legendEntry(k: number, markerKind: string, color: string, label: string): string[] {
  const ly = CHART.top + 8 + k * 18;
  return [marker(markerKind, CHART.left + 19, ly - 7, color), `<text x="${CHART.left + 32}" y="${ly - 3}">${esc(label)}</text>`];
}

/** `measure`: what the points are, accuracy or (a text target) exact match. */
export function scaleChartSvg(points: ScalePoint[], title: string, measure = 'accuracy'): string {
  const sorted = [...points].sort((a, b) => a.params - b.params);
  const logs = sorted.map((p) => Math.log10(p.params));
  const lo = Math.floor(Math.min(...logs)), hi = Math.max(lo + 1, Math.ceil(Math.max(...logs)));
  const x = logScale(lo, hi);
  const values = sorted.flatMap((p) => SERIES.map((s) => p[s.key])).filter((v): v is number => v !== null);
  const scale = accuracyScale(values);
  const ticks: { px: number; label: string }[] = [];
  for (let e = lo; e <= hi; e++) ticks.push({ px: x(10 ** e), label: `10<tspan dy="-6" font-size="9">${e}</tspan>` });
  const parts = chartFrame(title, ticks, 'model parameters (log scale)', scale, measure);
  SERIES.forEach((s, i) => {
    const pts = sorted.filter((p) => p[s.key] !== null).map((p) => [x(p.params), scale.y(p[s.key] as number)] as const);
    if (pts.length > 1) parts.push(polyline(pts, s.color, s.dash));
    for (const [a, b] of pts) parts.push(marker(s.marker, a, b, s.color));
    parts.push(...legendEntry(i, s.marker, s.color, s.label));
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
