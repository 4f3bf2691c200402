// Hub downloads against a local server that imitates the hub's file endpoint
// (GET /{org}/{name}/resolve/{revision}/{file}, X-Repo-Commit, ETag / X-Linked-Etag headers).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadModel, hubCacheDir } from '../src/models/hub.js';
import { openModel } from '../src/models/load.js';
import { storiesDir, tempDir } from './helpers.js';

const COMMIT = 'a'.repeat(39) + 'b';
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'model.safetensors'];

describe('hub download into the Hugging Face cache layout', () => {
  let server: Server;
  let endpoint: string;
  const requests: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
      if (!m) return res.writeHead(404).end();
      const [, org, name, revision, file] = m;
      if (name === 'gated' && req.headers.authorization !== 'Bearer secret-token') return res.writeHead(401, { 'x-error-code': 'GatedRepo' }).end();
      if (name === 'missing') return res.writeHead(404, { 'x-error-code': 'RepositoryNotFound' }).end();
      if (revision !== 'main' && revision !== COMMIT) return res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
      if (!FILES.includes(file)) return res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      const body = readFileSync(join(storiesDir, file));
      const sha = createHash('sha256').update(body).digest('hex');
      const headers: Record<string, string> = { 'x-repo-commit': COMMIT, 'content-length': String(body.length) };
      if (file.endsWith('.safetensors')) {
        headers['x-linked-etag'] = `"${sha}"`;
        headers['x-linked-size'] = String(body.length);
      } else headers.etag = `W/"${sha.slice(0, 40)}"`;
      res.writeHead(200, headers);
      if (name === 'broken' && file === 'model.safetensors') {
        res.write(body.subarray(0, 1000));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(body);
      void org;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads into blobs/, snapshots/<commit>/ links and refs/main, reporting progress', async () => {
    const cacheDir = tempDir('hf-cache-');
    const progress: string[] = [];
    const folder = await downloadModel('org/tiny', { endpoint, cacheDir, onProgress: (p) => progress.push(p.file) });
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
    assert.ok(progress.includes('model.safetensors'));
    // a second call downloads no file again
    const before = requests.length;
    await downloadModel('org/tiny', { endpoint, cacheDir });
    assert.ok(requests.length - before > 0);
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
    const folder = await downloadModel('org/gated', { endpoint, cacheDir, token: 'secret-token' });
    assert.ok(existsSync(join(folder, 'model.safetensors')));
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
  });

  it('uses HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/x/hub' }), '/x/hub');
    assert.equal(hubCacheDir({ HF_HOME: '/y' }), join('/y', 'hub'));
    assert.match(hubCacheDir({}), /\.cache[\\/]huggingface[\\/]hub$/);
  });
});
