// Line charts with uPlot: about 45 KB and fast with thousands of points, which is what a loss
// curve over many steps needs. Colours come from the theme's --vscode-* variables (series colours
// made to reach 3:1 on the background, as WCAG asks of graphics); a chart draws itself again when
// its host changes width (ResizeObserver) and when the theme changes (body's class, html's style).
// Each drawing is stamped on the host: data-theme, data-axis-color and data-draws, a count.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { blend, readableColor } from './contrast.js';
import { cssVar, onThemeChange, themeKind } from './theme.js';

export interface Series { label: string; points: [number, number][]; color?: string; percent?: boolean }

interface Colors { fg: string; grid: string; palette: string[] }

function themeColors(): Colors {
  const bg = cssVar('--vscode-editor-background', '#1e1e1e');
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const border = cssVar('--vscode-editorWidget-border', cssVar('--vscode-widget-border', '#454545'));
  // high-contrast borders are as loud as the series: the grid takes them halfway to the background
  const grid = themeKind().startsWith('high-contrast') ? blend(border, bg, 0.55) : border;
  const names: [string, string][] = [['--vscode-charts-blue', '#3794ff'], ['--vscode-charts-orange', '#d18616'], ['--vscode-charts-green', '#89d185'], ['--vscode-charts-purple', '#b180d7'], ['--vscode-charts-red', '#f14c4c']];
  return { fg, grid, palette: names.map(([n, f]) => readableColor(cssVar(n, f), [bg], fg, 3)) };
}

export class LineChart {
  private plot: uPlot | null = null;
  private series: Series[] = [];
  private width = 0;
  private draws = 0;
  private readonly resize: ResizeObserver;
  private readonly stopTheme: () => void;

  constructor(private host: HTMLElement, private title: string, private height = 180) {
    this.host.classList.add('line-chart');
    this.resize = new ResizeObserver(() => {
      const w = this.measure();
      if (this.plot && w !== this.width) {
        this.width = w;
        this.plot.setSize({ width: w, height: this.height });
        this.stamp();
      }
    });
    this.resize.observe(this.host);
    this.stopTheme = onThemeChange(() => this.redraw());
  }

  /** Names the chart anew (drawn again where the name changed). */
  setTitle(title: string): void {
    if (title === this.title) return;
    this.title = title;
    this.redraw();
  }

  private measure(): number { return Math.max(200, Math.floor(this.host.clientWidth) || 480); }

  render(series: Series[]): void {
    const sameShape = this.plot !== null && this.plot.series.length === series.length + 1;
    this.series = series;
    if (sameShape) {
      this.plot!.setData(this.data());
      return;
    }
    this.redraw();
  }

  /** Builds the plot again with the theme's colours of now. */
  redraw(): void {
    this.plot?.destroy();
    this.plot = null;
    this.host.replaceChildren();
    if (this.series.length === 0) return;
    const series = this.series;
    const { fg, grid, palette } = themeColors();
    this.width = this.measure();
    const options: uPlot.Options = {
      title: this.title, width: this.width, height: this.height,
      scales: { x: { time: false } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label: 'step' },
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: (_u, ticks) => ticks.map((t) => (series[0]?.percent ? `${Math.round(t * 100)}%` : String(+t.toPrecision(3)))) },
      ],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? palette[i % palette.length], width: 2, spanGaps: true, points: { show: s.points.length < 40 } }))],
      legend: { show: series.length > 1 },
    };
    this.plot = new uPlot(options, this.data(), this.host);
    this.host.dataset.axisColor = fg;
    this.host.dataset.seriesColor = palette[0];
    this.stamp();
  }

  private stamp(): void {
    this.host.dataset.theme = themeKind();
    this.host.dataset.width = String(this.width);
    this.host.dataset.draws = String(++this.draws);
  }

  private data(): uPlot.AlignedData {
    const xs = [...new Set(this.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const columns = this.series.map((s) => {
      const m = new Map(s.points);
      return xs.map((x) => (m.has(x) ? m.get(x)! : null));
    });
    return [xs, ...columns] as uPlot.AlignedData;
  }

  dispose(): void {
    this.resize.disconnect();
    this.stopTheme();
    this.plot?.destroy();
    this.plot = null;
  }
}
