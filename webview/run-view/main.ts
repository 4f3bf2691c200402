// The Run view: the running job's loss and dev accuracy, live.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { RunViewFromWebview, RunViewToWebview } from '../../src/common/protocol.js';
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

// the charts draw themselves again on a resize of the view and on a theme change (chart.ts)
function draw() {
  lossChart.render(loss.length ? [{ label: 'loss', points: loss }] : []);
  accChart.render(dev.length ? [{ label: 'dev accuracy', points: dev, percent: true }] : []);
}

window.addEventListener('message', (event: MessageEvent<RunViewToWebview>) => {
  const m = event.data;
  if (m.type === 'reset') {
    loss = m.loss; dev = m.devAccuracy; steps = m.steps;
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
    heading.textContent = `step ${m.step}: dev accuracy ${pct(m.accuracy)}`;
    draw();
  } else if (m.type === 'status') {
    heading.textContent = m.status;
  }
});
api.post({ type: 'ready' });
