// Packages one VSIX per platform: `npm run package -- [--target linux-x64|linux-arm64|darwin-arm64|darwin-x64|win32-x64|win32-arm64] [--out FILE]`.
// onnxruntime-node ships every platform's binaries (113 MB packed); a VSIX keeps only its own.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { target: { type: 'string' }, out: { type: 'string' } } });
const target = values.target ?? `${process.platform}-${process.arch}`;
const [os, arch] = target.split('-');
const platforms = ['linux', 'darwin', 'win32'];
const arches = ['x64', 'arm64'];
if (!platforms.includes(os) || !arches.includes(arch)) {
  console.error(`unknown target ${target}; use one of ${platforms.flatMap((p) => arches.map((a) => `${p}-${a}`)).join(', ')}`);
  process.exit(2);
}
const sharp = `node_modules/@img/sharp-${os}-${arch}`;
if (!existsSync(sharp)) {
  console.error(`${sharp} is not installed: the tokenizer library loads sharp. Install it first: npm install --no-save --os=${os} --cpu=${arch} @img/sharp-${os}-${arch}`);
  process.exit(2);
}
const ignore = [readFileSync('.vscodeignore', 'utf8').trimEnd()];
for (const p of platforms) for (const a of arches) {
  if (p === os && a === arch) continue;
  ignore.push(`node_modules/onnxruntime-node/bin/napi-v6/${p}/${a}/**`, `node_modules/@img/sharp-${p}-${a}/**`, `node_modules/@img/sharp-libvips-${p}-${a}/**`);
}
// transformers.js inlines the onnxruntime-web build it needs; the package folder is unused
ignore.push('node_modules/onnxruntime-web/**');
const file = join(mkdtempSync(join(tmpdir(), 'vsix-')), '.vscodeignore');
writeFileSync(file, ignore.join('\n') + '\n');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const out = values.out ?? `${pkg.name}-${target}-${pkg.version}.vsix`;
execFileSync(process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--target', target, '--ignoreFile', file, '--out', out, '--allow-missing-repository', '--skip-license'], { stdio: 'inherit' });
console.log(out);
