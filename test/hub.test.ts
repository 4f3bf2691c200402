// Hub downloads against a local server that imitates the hub endpoints @huggingface/hub calls:
// GET /api/models/{org}/{name}/revision/{revision} (the commit), POST .../paths-info/{revision}
// (which files exist, their size and oid), and GET /{org}/{name}/resolve/{revision}/{file} (a
// Range: bytes=0-0 probe, then the whole file).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanCacheDir } from '@huggingface/hub';
import { downloadModel, type DownloadProgress } from '../src/models/hub.js';
import { openModel } from '../src/models/load.js';
import { storiesDir, tempDir } from './helpers.js';

const COMMIT = 'a'.repeat(39) + 'b';
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'model.safetensors'];
const TOKEN = 'hf_secret-token';

// what the hub's paths-info says of a file: git blob oid, and for LFS files the sha256 (the blob's name in the cache)
function pathInfo(file: string) {
  const body = readFileSync(join(storiesDir, file));
  const oid = createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
  const lfs = file.endsWith('.safetensors') ? { oid: createHash('sha256').update(body).digest('hex'), size: body.length, pointerSize: 130 } : undefined;
  return { type: 'file', path: file, size: body.length, oid, ...(lfs && { lfs }) };
}

const readBody = (req: IncomingMessage) => new Promise<string>((r) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => r(text));
});

describe('hub download into the Hugging Face cache layout', () => {
  let server: Server;
  let endpoint: string;
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];

  before(async () => {
    server = createServer(async (req, res) => {
      requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
      authorizations.push(req.headers.authorization);
      const url = new URL(req.url ?? '/', 'http://hub');
      const api = /^\/api\/models\/([^/]+)\/([^/]+)\/(revision|paths-info)\/([^/]+)$/.exec(url.pathname);
      const resolve = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
      const m = api ? [api[1], api[2], decodeURIComponent(api[4])] : resolve ? [resolve[1], resolve[2], decodeURIComponent(resolve[3])] : null;
      if (!m) return res.writeHead(404).end();
      const [org, name, revision] = m;
      if (name === 'gated' && req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401, { 'x-error-code': 'GatedRepo' }).end();
      if (name === 'missing') return res.writeHead(404, { 'x-error-code': 'RepositoryNotFound' }).end();
      if (revision !== 'main' && revision !== COMMIT) return res.writeHead(404, { 'x-error-code': 'RevisionNotFound', 'content-type': 'application/json' }).end(JSON.stringify({ error: `Invalid rev id: ${revision}` }));
      if (api?.[3] === 'revision') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ _id: '1', id: `${org}/${name}`, sha: COMMIT, private: false, downloads: 0, likes: 0, lastModified: '2024-01-01T00:00:00.000Z' }));
      if (api?.[3] === 'paths-info') {
        const { paths } = JSON.parse(await readBody(req)) as { paths: string[] };
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(paths.filter((p) => FILES.includes(p)).map(pathInfo)));
      }
      const file = resolve![4];
      if (!FILES.includes(file)) return res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      const body = readFileSync(join(storiesDir, file));
      const info = pathInfo(file);
      const headers: Record<string, string> = { 'x-repo-commit': COMMIT };
      if (info.lfs) {
        headers['x-linked-etag'] = `"${info.lfs.oid}"`;
        headers['x-linked-size'] = String(body.length);
      } else headers.etag = `"${info.oid}"`;
      if (req.headers.range === 'bytes=0-0') return res.writeHead(206, { ...headers, 'content-range': `bytes 0-0/${body.length}`, 'content-length': '1' }).end(body.subarray(0, 1));
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      if (name === 'broken' && file === 'model.safetensors') {
        res.write(body.subarray(0, 1000));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads into blobs/, snapshots/<commit>/ links and refs/main, reporting progress', async () => {
    const cacheDir = tempDir('hf-cache-');
    const progress: DownloadProgress[] = [];
    const folder = await downloadModel('org/tiny', { endpoint, cacheDir, onProgress: (p) => progress.push(p) });
    const repo = join(cacheDir, 'models--org--tiny');
    assert.equal(folder, join(repo, 'snapshots', COMMIT));
    assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
    for (const f of FILES) {
      assert.ok(lstatSync(join(folder, f)).isSymbolicLink(), `${f} is a link`);
      assert.match(readlinkSync(join(folder, f)), /^\.\.\/\.\.\/blobs\//);
      assert.deepEqual(readFileSync(join(folder, f)), readFileSync(join(storiesDir, f)));
    }
    const weights = readFileSync(join(storiesDir, 'model.safetensors'));
    assert.ok(existsSync(join(repo, 'blobs', createHash('sha256').update(weights).digest('hex'))), 'safetensors blob named by its sha256');
    // the last report of each file says it is whole
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1);
    assert.deepEqual(last, { file: 'model.safetensors', received: weights.length, total: weights.length });
    // a second call asks the hub for the commit and the file list, and downloads no file again
    const before = requests.length;
    await downloadModel('org/tiny', { endpoint, cacheDir });
    const again = requests.slice(before);
    assert.ok(again.some((r) => r.includes('/paths-info/')), again.join('\n'));
    assert.deepEqual(again.filter((r) => r.includes('/resolve/')), []);
    assert.equal(readdirSync(join(repo, 'blobs')).filter((f) => f.endsWith('.incomplete')).length, 0);
  });

  it('works offline from the cache, and says what to do when the model is not cached', async () => {
    const cacheDir = tempDir('hf-cache-');
    await downloadModel('org/tiny', { endpoint, cacheDir });
    const count = requests.length;
    const folder = await downloadModel('org/tiny', { endpoint, cacheDir, offline: true });
    assert.equal(requests.length, count, 'no request offline');
    assert.equal(folder, join(cacheDir, 'models--org--tiny', 'snapshots', COMMIT));
    await assert.rejects(() => downloadModel('org/other', { endpoint, cacheDir, offline: true }), /org\/other: not in the Hugging Face cache .* offline mode is on \(HF_HUB_OFFLINE\)/);
    // a snapshot without its weights (a download stopped between files) is not taken for a model
    unlinkSync(join(folder, 'model.safetensors'));
    await assert.rejects(() => downloadModel('org/tiny', { endpoint, cacheDir, offline: true }), /org\/tiny: the cached snapshot .* lacks model\.safetensors/);
  });

  it('pins a commit: no branch lookup, no refs file', async () => {
    const cacheDir = tempDir('hf-cache-');
    const before = requests.length;
    const folder = await downloadModel('org/tiny', { endpoint, cacheDir, revision: COMMIT });
    assert.equal(folder, join(cacheDir, 'models--org--tiny', 'snapshots', COMMIT));
    assert.deepEqual(requests.slice(before).filter((r) => r.includes('/revision/')), []);
    assert.ok(!existsSync(join(cacheDir, 'models--org--tiny', 'refs')));
    assert.ok(requests.slice(before).every((r) => !r.includes('/main')), 'every request names the commit');
  });

  it('leaves a cache that @huggingface/hub scanCacheDir reads as the model at its commit, with refs/main', async () => {
    const cacheDir = tempDir('hf-cache-');
    await downloadModel('org/tiny', { endpoint, cacheDir });
    const scan = await scanCacheDir(cacheDir);
    assert.deepEqual(scan.warnings, []);
    assert.equal(scan.repos.length, 1);
    const [repo] = scan.repos;
    assert.deepEqual(repo.id, { type: 'model', name: 'org/tiny' });
    assert.equal(repo.revisions.length, 1);
    assert.equal(repo.revisions[0].commitOid, COMMIT);
    assert.deepEqual(repo.revisions[0].refs, ['main']);
    assert.deepEqual(repo.revisions[0].files.map((f) => f.path.split(/[\\/]/).pop()).sort(), [...FILES].sort());
    const weights = repo.revisions[0].files.find((f) => f.path.endsWith('model.safetensors'))!;
    assert.equal(weights.blob.size, readFileSync(join(storiesDir, 'model.safetensors')).length);
  });

  it('opens a hub model by id and generates the reference text', async () => {
    const cacheDir = tempDir('hf-cache-');
    const lm = await openModel('org/tiny', { endpoint, cacheDir });
    const { ids } = await lm.generate([[1]], lm.emptyPrompt(), 5, { stopAtEos: false });
    assert.deepEqual(ids[0], [1, 403, 407, 261, 378, 432]);
    await lm.dispose();
  });

  it('sends HF_TOKEN for gated models and explains a refusal', async () => {
    const cacheDir = tempDir('hf-cache-');
    await assert.rejects(() => downloadModel('org/gated', { endpoint, cacheDir, token: undefined }), /org\/gated: access denied \(401\); the model may be gated: accept its licence on the hub and set HF_TOKEN/);
    const before = requests.length;
    const folder = await downloadModel('org/gated', { endpoint, cacheDir, token: TOKEN });
    assert.ok(existsSync(join(folder, 'model.safetensors')));
    assert.ok(authorizations.slice(before).every((a) => a === `Bearer ${TOKEN}`), 'every request carries the token');
    // @huggingface/hub accepts only Hugging Face tokens (hf_...)
    await assert.rejects(() => downloadModel('org/gated', { endpoint, cacheDir, token: 'secret-token' }), /org\/gated: the token given \(HF_TOKEN\) is not a Hugging Face access token/);
  });

  it('never leaves a file that looks complete after an interrupted download', async () => {
    const cacheDir = tempDir('hf-cache-');
    await assert.rejects(() => downloadModel('org/broken', { endpoint, cacheDir }), /org\/broken: download of model\.safetensors (was interrupted|ended) after \d+/);
    const repo = join(cacheDir, 'models--org--broken');
    const blobs = readdirSync(join(repo, 'blobs'));
    const weightsSha = createHash('sha256').update(readFileSync(join(storiesDir, 'model.safetensors'))).digest('hex');
    assert.ok(!blobs.some((b) => b.startsWith(weightsSha)), `blobs: ${blobs}`);
    assert.ok(!existsSync(join(repo, 'snapshots', COMMIT, 'model.safetensors')));
  });

  it('names missing repositories and revisions', async () => {
    const cacheDir = tempDir('hf-cache-');
    await assert.rejects(() => downloadModel('org/missing', { endpoint, cacheDir }), /org\/missing: repository not found/);
    await assert.rejects(() => downloadModel('org/tiny', { endpoint, cacheDir, revision: 'v9' }), /org\/tiny: revision "v9" not found/);
    await assert.rejects(() => downloadModel('not a hub id', { endpoint, cacheDir }), /neither a model folder nor a Hugging Face hub id/);
    await assert.rejects(() => downloadModel('org/tiny', { endpoint: 'http://127.0.0.1:1', cacheDir }), /org\/tiny: could not reach http:\/\/127\.0\.0\.1:1 .*HF_HUB_OFFLINE=1/);
  });

  it('takes the cache, endpoint, token and offline mode from HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE', async () => {
    const names = ['HF_HUB_CACHE', 'HF_ENDPOINT', 'HF_TOKEN', 'HF_HUB_OFFLINE'] as const;
    const saved = names.map((n) => process.env[n]);
    const cacheDir = tempDir('hf-cache-');
    try {
      Object.assign(process.env, { HF_HUB_CACHE: cacheDir, HF_ENDPOINT: endpoint, HF_TOKEN: TOKEN });
      const folder = await downloadModel('org/gated');
      assert.equal(folder, join(cacheDir, 'models--org--gated', 'snapshots', COMMIT));
      process.env.HF_HUB_OFFLINE = '1';
      const count = requests.length;
      assert.equal(await downloadModel('org/gated'), folder);
      assert.equal(requests.length, count, 'no request offline');
    } finally {
      names.forEach((n, i) => (saved[i] === undefined ? delete process.env[n] : (process.env[n] = saved[i])));
    }
  });
});
