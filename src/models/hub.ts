// Downloads a model from the Hugging Face Hub into the standard Hugging Face cache layout, so
// Python tools and this tool share downloads:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--org--name/blobs/<etag>           file contents
//     models--org--name/snapshots/<commit>/<f>  symbolic links to ../../blobs/<etag>
//     models--org--name/refs/<revision>        the commit a branch or tag pointed to
// Files arrive as blobs/<etag>.incomplete and are renamed only when complete.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, lstatSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../common/errors.js';

export const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function hubCacheDir(env = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

export interface DownloadProgress { file: string; received: number; total: number | null }

export interface HubOptions {
  revision?: string;
  token?: string;
  offline?: boolean;
  endpoint?: string;
  cacheDir?: string;
  onProgress?: (p: DownloadProgress) => void;
  fetchImpl?: typeof fetch;
}

const REQUIRED = ['config.json', 'tokenizer.json'];
const OPTIONAL = ['tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

function repoFolder(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.replace('/', '--')}`);
}

const isCommit = (rev: string) => /^[0-9a-f]{40}$/.test(rev);

/** Resolves a hub id to a local snapshot folder, downloading what is missing. */
export async function downloadModel(repoId: string, options: HubOptions = {}): Promise<string> {
  if (!HUB_ID.test(repoId)) throw new InputError(`"${repoId}" is neither a model folder nor a Hugging Face hub id (org/name)`);
  const env = process.env;
  const revision = options.revision ?? 'main';
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const repo = repoFolder(cacheDir, repoId);
  const offline = options.offline ?? ['1', 'true', 'yes'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  if (offline) return offlineSnapshot(repo, repoId, revision);

  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const token = options.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  const fetcher = options.fetchImpl ?? fetch;
  const headers: Record<string, string> = { 'user-agent': 'prompt-tuning-studio' };
  if (token) headers.authorization = `Bearer ${token}`;

  const fileUrl = (file: string) => `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
  let commit: string | null = null;

  const fetchFile = async (file: string, required: boolean): Promise<boolean> => {
    let response: Response;
    try {
      response = await fetcher(fileUrl(file), { headers, redirect: 'follow' });
    } catch (e) {
      throw new InputError(`${repoId}: could not reach ${endpoint} (${(e as Error).message}); check the network, or set HF_HUB_OFFLINE=1 to use the cache`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      if (!required) return false;
      const code = response.headers.get('x-error-code');
      if (code === 'RepositoryNotFound' || code === 'RevisionNotFound') throw new InputError(`${repoId}: ${code === 'RevisionNotFound' ? `revision "${revision}" not found` : 'repository not found'} on ${endpoint}`);
      throw new InputError(`${repoId}: ${file} not found at revision "${revision}"`);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new InputError(`${repoId}: access denied (${response.status}); the model may be gated: accept its licence on the hub and set HF_TOKEN${token ? ' (the token given was refused)' : ''}`);
    }
    if (!response.ok || !response.body) throw new InputError(`${repoId}: downloading ${file} failed with HTTP ${response.status}`);
    const fileCommit = response.headers.get('x-repo-commit') ?? (isCommit(revision) ? revision : null);
    if (!fileCommit) throw new InputError(`${repoId}: the server did not say which commit ${file} belongs to (no X-Repo-Commit header)`);
    if (commit && fileCommit !== commit) throw new InputError(`${repoId}: revision "${revision}" moved during the download (${commit} then ${fileCommit}); run again`);
    commit = fileCommit;
    const etag = (response.headers.get('x-linked-etag') ?? response.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
    if (!etag) throw new InputError(`${repoId}: the server sent ${file} without an ETag`);
    const blob = join(repo, 'blobs', etag);
    const pointer = join(repo, 'snapshots', commit, file);
    mkdirSync(dirname(blob), { recursive: true });
    if (!existsSync(blob)) {
      const total = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length')) || null;
      const partial = `${blob}.incomplete`;
      let received = 0;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += chunk.byteLength;
          options.onProgress?.({ file, received, total });
          controller.enqueue(chunk);
        },
      });
      try {
        await pipeline(Readable.fromWeb(response.body.pipeThrough(counter) as never), createWriteStream(partial));
      } catch (e) {
        rmSync(partial, { force: true });
        throw new InputError(`${repoId}: download of ${file} was interrupted after ${received} bytes (${(e as Error).message}); run again to restart it`);
      }
      if (total !== null && received !== total) {
        rmSync(partial, { force: true });
        throw new InputError(`${repoId}: download of ${file} ended after ${received} of ${total} bytes; run again to restart it`);
      }
      renameSync(partial, blob);
    } else {
      await response.body.cancel();
    }
    mkdirSync(dirname(pointer), { recursive: true });
    if (existsSync(pointer) || isLink(pointer)) unlinkSync(pointer);
    symlinkSync(relative(dirname(pointer), blob), pointer);
    return true;
  };

  for (const f of REQUIRED) await fetchFile(f, true);
  for (const f of OPTIONAL) await fetchFile(f, false);
  if (await fetchFile('model.safetensors.index.json', false)) {
    const index = JSON.parse(readFileSync(join(repo, 'snapshots', commit!, 'model.safetensors.index.json'), 'utf8'));
    for (const shard of new Set(Object.values(index.weight_map ?? {}) as string[])) await fetchFile(shard, true);
  } else {
    await fetchFile('model.safetensors', true);
  }
  if (!isCommit(revision)) {
    mkdirSync(join(repo, 'refs'), { recursive: true });
    const ref = join(repo, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(`${ref}.tmp`, commit!);
    renameSync(`${ref}.tmp`, ref);
  }
  return join(repo, 'snapshots', commit!);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function offlineSnapshot(repo: string, repoId: string, revision: string): string {
  const commit = isCommit(revision) ? revision : existsSync(join(repo, 'refs', revision)) ? readFileSync(join(repo, 'refs', revision), 'utf8').trim() : null;
  const folder = commit ? join(repo, 'snapshots', commit) : null;
  if (!folder || !existsSync(join(folder, 'config.json'))) {
    throw new InputError(`${repoId}: not in the Hugging Face cache (${repo}) at revision "${revision}", and offline mode is on (HF_HUB_OFFLINE); download it once online`);
  }
  return folder;
}

/** The commit a snapshot folder belongs to, when the folder is inside the hub cache. */
export function snapshotCommit(folder: string): string | null {
  const m = /snapshots[\\/]([0-9a-f]{40})[\\/]?$/.exec(folder);
  return m ? m[1] : null;
}
