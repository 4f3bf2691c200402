// The layers of the project (docs/ARCHITECTURE.md): each may import only those below it.
// common < engine < models < tuning < trainer, cli; the extension sees common and the trainer's
// client only; the webviews see common only.
const layer = (from, forbidden, comment) => ({ name: `${from.replace(/[^a-z]/g, '')}-not-up`, severity: 'error', comment, from: { path: `^${from}` }, to: { path: forbidden } });
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle hides which module is the lower one', from: {}, to: { circular: true } },
    layer('src/common/', '^src/(engine|models|tuning|trainer|cli|extension)/|^webview/', 'common is below everything'),
    layer('src/engine/', '^src/(models|tuning|trainer|cli|extension)/|^webview/', 'the engine knows graphs and sessions, not models'),
    layer('src/models/', '^src/(tuning|trainer|cli|extension)/|^webview/', 'models know nothing of tuning'),
    layer('src/tuning/', '^src/(trainer|cli|extension)/|^webview/', 'tuning is a library the trainer and CLI call'),
    layer('src/trainer/', '^src/(cli|extension)/|^webview/', 'the trainer process is driven, it does not drive'),
    layer('src/cli/', '^src/(extension)/|^webview/', 'the CLI does not know VS Code'),
    // inside tuning: prompts < evaluate < train < reports < jobs
    layer('src/tuning/prompts/', '^src/tuning/(evaluate|train|reports|jobs)/', 'how a prompt becomes tokens knows nothing of what scores or trains it'),
    layer('src/tuning/evaluate/', '^src/tuning/(train|reports|jobs)/', 'evaluation does not train'),
    layer('src/tuning/train/', '^src/tuning/(reports|jobs)/', 'training loops are called by jobs, not the other way'),
    layer('src/tuning/reports/', '^src/tuning/(prompts|evaluate|train|jobs)/', 'reports read finished runs only'),
    { name: 'tuning-in-rooms', severity: 'error', comment: 'every tuning module lives in a room (docs/ARCHITECTURE.md)', from: { path: '^src/tuning/[^/]+$' }, to: {} },
    {
      name: 'extension-host-runs-no-model', severity: 'error',
      comment: 'the extension host never loads a model: it talks to a forked trainer (a native crash would take the editor down)',
      from: { path: '^src/extension/' }, to: { path: '^src/(engine|models|tuning|cli)/|^src/trainer/index' },
    },
    { name: 'webview-sees-common-only', severity: 'error', comment: 'webviews run in the browser', from: { path: '^webview/' }, to: { path: '^src/(?!common/)' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(test|bench|scripts|dist)/' },
  },
};
