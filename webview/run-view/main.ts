// The Run view: the running job's loss and dev accuracy (a text target's headline metric), live.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { lowerIsBetter, metricTitle, metricValueText } from '../../src/common/metric-titles.js';
import type { RunViewFromWebview, RunViewToWebview } from '../../src/common/protocol.js';
import type { HeadlineMetric } from '../../src/common/run-files.js';
import { LineChart } from '../common/chart.js';
import { el, pct, vscodeApi } from '../common/vscode-api.js';
import './run-view.css';

const api = vscodeApi<unknown, RunViewFromWebview>();
const app = document.getElementById('app')!;
const heading = el('div', { class: 'heading' }, 'No job running.');
const progress = el('vscode-progress-bar', { value: '0', max: '100', class: 'hidden' });
const cancel = el('vscode-button', { secondary: '', class: 'hidden' }, 'Cancel');
cancel.addEventListener('click', () => api.post({ type: 'cancel' }));
const lossHost = el('div', { class: 'chart' });
const accHost = el('div', { class: 'chart' });
app.append(heading, progress, cancel, lossHost, accHost);
const lossChart = new LineChart(lossHost, 'training loss', 150);
const accChart = new LineChart(accHost, 'dev accuracy', 150);
let loss: [number, number][] = [];
let dev: [number, number][] = [];
let steps = 0;
/** A text target's headline metric, which the dev curve shows; undefined: accuracy. */
let metric: HeadlineMetric | undefined;

const devTitle = () => `dev ${metric ? metricTitle(metric) : 'accuracy'}`;

// the charts draw themselves again on a resize of the view and on a theme change (chart.ts)
function draw() {
  accChart.setTitle(devTitle());
  lossChart.render(loss.length ? [{ label: 'loss', points: loss }] : []);
  accChart.render(dev.length ? [{ label: devTitle(), points: dev, percent: !(metric && lowerIsBetter(metric)) }] : []);
}

window.addEventListener('message', (event: MessageEvent<RunViewToWebview>) => {
  const m = event.data;
  if (m.type === 'reset') {
    loss = m.loss; dev = m.devAccuracy; steps = m.steps; metric = m.metric;
    const active = m.runId !== null && m.ended === undefined;
    heading.textContent = m.ended !== undefined ? `Last job, ${m.runId}: ${m.ended}` : active ? `${m.runId}: ${m.status}` : 'No job running. Train a soft prompt from the Experiments view.';
    progress.classList.toggle('hidden', !active);
    cancel.classList.toggle('hidden', !active);
    draw();
  } else if (m.type === 'progress') {
    loss.push([m.step, m.loss]);
    steps = m.steps;
    progress.setAttribute('value', String((100 * m.step) / Math.max(1, steps)));
    heading.textContent = `step ${m.step}/${m.steps}, loss ${m.loss.toFixed(4)}, about ${Math.round(m.etaSeconds)} s left`;
    draw();
  } else if (m.type === 'eval') {
    dev.push([m.step, m.accuracy]);
    metric = m.metric;
    heading.textContent = `step ${m.step}: ${devTitle()} ${metric ? metricValueText(metric, m.accuracy) : pct(m.accuracy)}`;
    draw();
  } else if (m.type === 'status') {
    heading.textContent = m.status;
  }
});
api.post({ type: 'ready' });
