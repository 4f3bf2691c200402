// Bundles the CLI, the trainer, the extension and the webviews into dist/ with esbuild.
import * as esbuild from 'esbuild';

// native or very large packages stay in node_modules; the rest is bundled
const external = ['vscode', 'onnxruntime-node', '@huggingface/transformers', 'playwright-core'];
const watch = process.argv.includes('--watch');
// 'module' first: jsonc-parser's UMD build cannot be bundled
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, external, logLevel: 'warning', mainFields: ['module', 'main'] };

const builds = [
  { ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', format: 'esm' },
];
for (const [entry, out] of [['src/trainer/index.ts', 'dist/trainer.cjs'], ['src/extension/index.ts', 'dist/extension.cjs']]) {
  try {
    await import('node:fs').then((fs) => fs.accessSync(entry));
    builds.push({ ...common, entryPoints: [entry], outfile: out, format: 'cjs', define: { 'import.meta.url': '"file:///"' } });
  } catch { /* not written yet */ }
}

// webviews: browser bundles (script + stylesheet), no Node built-ins
for (const name of ['comparison', 'run-view']) {
  builds.push({ bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning', entryPoints: [`webview/${name}/main.ts`], outfile: `dist/webview/${name}.js`, loader: { '.css': 'css' } });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
