// The scaling figure (accuracy against parameter count, log scale, one line per method, as the
// paper's first figure) as a standalone SVG file. Written directly: the chart is a few lines and
// paths, and a file needs no browser or chart runtime.
export interface ScalePoint { model: string; params: number; promptDesign: number | null; promptTuning: number | null; modelTuning: number | null }

// distinct dashes and markers, so coinciding lines stay readable
const SERIES = [
  { key: 'modelTuning', label: 'Model tuning', color: '#d18616', dash: '', marker: 'circle' },
  { key: 'promptTuning', label: 'Prompt tuning', color: '#3794ff', dash: '8 4', marker: 'square' },
  { key: 'promptDesign', label: 'Prompt design (best discrete)', color: '#5c8a2e', dash: '2 4', marker: 'triangle' },
] as const;

function marker(kind: string, cx: number, cy: number, color: string): string {
  if (kind === 'square') return `<rect x="${(cx - 4.5).toFixed(1)}" y="${(cy - 4.5).toFixed(1)}" width="9" height="9" fill="${color}"/>`;
  if (kind === 'triangle') return `<polygon points="${cx.toFixed(1)},${(cy - 5.5).toFixed(1)} ${(cx - 5).toFixed(1)},${(cy + 4).toFixed(1)} ${(cx + 5).toFixed(1)},${(cy + 4).toFixed(1)}" fill="${color}"/>`;
  return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${color}"/>`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function scaleChartSvg(points: ScalePoint[], title: string): string {
  const W = 640, H = 420, left = 64, right = 24, top = 48, bottom = 64;
  const sorted = [...points].sort((a, b) => a.params - b.params);
  const logs = sorted.map((p) => Math.log10(p.params));
  const lo = Math.floor(Math.min(...logs)), hi = Math.max(lo + 1, Math.ceil(Math.max(...logs)));
  const x = (params: number) => left + ((Math.log10(params) - lo) / (hi - lo)) * (W - left - right);
  const values = sorted.flatMap((p) => SERIES.map((s) => p[s.key])).filter((v): v is number => v !== null);
  const yLo = Math.max(0, Math.floor((Math.min(...values, 0.5) - 0.05) * 10) / 10);
  const y = (acc: number) => top + (1 - (acc - yLo) / (1 - yLo)) * (H - top - bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let e = lo; e <= hi; e++) {
    const px = x(10 ** e);
    parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${H - bottom}" stroke="#e4e4e4"/>`, `<text x="${px}" y="${H - bottom + 18}" text-anchor="middle">10<tspan dy="-6" font-size="9">${e}</tspan></text>`);
  }
  for (let a = Math.ceil(yLo * 10) / 10; a <= 1.0001; a += 0.1) {
    const py = y(a);
    parts.push(`<line x1="${left}" y1="${py}" x2="${W - right}" y2="${py}" stroke="#e4e4e4"/>`, `<text x="${left - 8}" y="${py + 4}" text-anchor="end">${Math.round(a * 100)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#555"/>`, `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#555"/>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 20}" text-anchor="middle">model parameters (log scale)</text>`);
  parts.push(`<text x="18" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + H - bottom) / 2})">test accuracy (%)</text>`);
  SERIES.forEach((s, i) => {
    const pts = sorted.filter((p) => p[s.key] !== null).map((p) => [x(p.params), y(p[s.key] as number)] as const);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    for (const [a, b] of pts) parts.push(marker(s.marker, a, b, s.color));
    const ly = top + 8 + i * 18;
    parts.push(marker(s.marker, left + 19, ly - 7, s.color), `<text x="${left + 32}" y="${ly - 3}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
