// Line charts with uPlot: about 45 KB and fast with thousands of points, which is what a loss
// curve over many steps needs; colours follow the theme's --vscode-* variables.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const themeColor = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

export interface Series { label: string; points: [number, number][]; color?: string; percent?: boolean }

export class LineChart {
  private plot: uPlot | null = null;
  constructor(private host: HTMLElement, private title: string, private height = 180) {}

  render(series: Series[]): void {
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const columns = series.map((s) => {
      const m = new Map(s.points);
      return xs.map((x) => (m.has(x) ? m.get(x)! : null));
    });
    const fg = themeColor('--vscode-foreground', '#ccc');
    const grid = themeColor('--vscode-editorWidget-border', '#444');
    const palette = [themeColor('--vscode-charts-blue', '#3794ff'), themeColor('--vscode-charts-orange', '#d18616'), themeColor('--vscode-charts-green', '#89d185'), themeColor('--vscode-charts-purple', '#b180d7'), themeColor('--vscode-charts-red', '#f14c4c')];
    const width = Math.max(240, this.host.clientWidth || 480);
    const options: uPlot.Options = {
      title: this.title, width, height: this.height,
      scales: { x: { time: false } },
      axes: [{ stroke: fg, grid: { stroke: grid, width: 1 }, label: 'step' }, { stroke: fg, grid: { stroke: grid, width: 1 }, values: (_u, ticks) => ticks.map((t) => (series[0]?.percent ? `${Math.round(t * 100)}%` : String(+t.toPrecision(3)))) }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? palette[i % palette.length], width: 2, spanGaps: true, points: { show: s.points.length < 40 } }))],
      legend: { show: series.length > 1 },
    };
    const data = [xs, ...columns] as uPlot.AlignedData;
    if (this.plot && this.plot.series.length === series.length + 1) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.host.replaceChildren();
    this.plot = new uPlot(options, data, this.host);
  }
}
