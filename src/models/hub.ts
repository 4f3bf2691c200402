// Downloads the files a model needs from the Hugging Face Hub into the shared Hugging Face cache
// through @huggingface/hub, whose downloadFileToCacheDir writes the layout Python's
// huggingface_hub reads, so both share downloads:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--org--name/blobs/<etag>            file contents (written as <etag>.incomplete, renamed when whole)
//     models--org--name/snapshots/<commit>/<f>  symbolic links to ../../blobs/<etag>
//     models--org--name/refs/<revision>         the commit a branch or tag pointed to
// The library leaves to its callers what is here: which files a model needs, offline mode,
// HF_ENDPOINT and HF_TOKEN from the environment, progress, the refs file once the snapshot is
// whole, and errors that say what to do.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { downloadFileToCacheDir, getHFHubCachePath, getRepoFolderName, HubApiError, InvalidApiResponseFormatError, modelInfo, pathsInfo, REGEX_COMMIT_HASH, type PathInfo, type RepoDesignation } from '@huggingface/hub';
import { InputError } from '../common/errors.js';

export const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export interface DownloadProgress { file: string; received: number; total: number | null }

export interface HubOptions {
  revision?: string;
  token?: string;
  offline?: boolean;
  /** The hub's address; HF_ENDPOINT, else huggingface.co. */
  endpoint?: string;
  /** The cache folder; HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  onProgress?: (p: DownloadProgress) => void;
}

const REQUIRED = ['config.json', 'tokenizer.json'];
const OPTIONAL = ['tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];
const WEIGHTS = 'model.safetensors';
const WEIGHTS_INDEX = 'model.safetensors.index.json';

// The library reports nothing while a blob downloads, so the growing <etag>.incomplete is measured.
const PROGRESS_INTERVAL_MS = 200;

/** Resolves a hub id to a local snapshot folder, downloading what is missing. */
export async function downloadModel(repoId: string, options: HubOptions = {}): Promise<string> {
  if (!HUB_ID.test(repoId)) throw new InputError(`"${repoId}" is neither a model folder nor a Hugging Face hub id (org/name)`);
  const env = process.env;
  const revision = options.revision ?? 'main';
  const cacheDir = options.cacheDir ?? getHFHubCachePath();
  const repo: RepoDesignation = { type: 'model', name: repoId };
  const repoFolder = join(cacheDir, getRepoFolderName(repo));
  const offline = options.offline ?? ['1', 'true', 'yes'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  if (offline) return offlineSnapshot(repoFolder, repoId, revision);

  // @huggingface/hub reads neither HF_ENDPOINT nor HF_TOKEN; Python's client does, so both are honoured here.
  const hubUrl = (options.endpoint ?? env.HF_ENDPOINT)?.replace(/\/$/, '');
  const endpointName = hubUrl ?? 'https://huggingface.co';
  const accessToken = options.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (accessToken && !accessToken.startsWith('hf_')) throw new InputError(`${repoId}: the token given (HF_TOKEN) is not a Hugging Face access token (those start with "hf_")`);

  // HubApiError keeps the status but not the hub's X-Error-Code header, which tells a missing
  // repository from a missing revision or a gated model; the last one seen is kept here.
  let lastErrorCode: string | null = null;
  const hubFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!response.ok) lastErrorCode = response.headers.get('x-error-code');
    return response;
  };
  const common = { repo, hubUrl, accessToken, fetch: hubFetch };

  let current = '';
  try {
    const commit = REGEX_COMMIT_HASH.test(revision) ? revision : (await modelInfo({ ...common, name: repoId, revision, additionalFields: ['sha'] })).sha;
    if (!commit || !REGEX_COMMIT_HASH.test(commit)) throw new InputError(`${repoId}: ${endpointName} did not say which commit revision "${revision}" is`);
    const snapshot = join(repoFolder, 'snapshots', commit);
    const found = await pathsInfo({ ...common, revision: commit, paths: [...REQUIRED, ...OPTIONAL, WEIGHTS, WEIGHTS_INDEX] });
    const byPath = new Map(found.filter((f) => f.type === 'file').map((f) => [f.path, f]));
    const missing = REQUIRED.find((f) => !byPath.has(f)) ?? (byPath.has(WEIGHTS) || byPath.has(WEIGHTS_INDEX) ? undefined : WEIGHTS);
    if (missing) throw new InputError(`${repoId}: ${missing} not found at revision "${revision}"`);

    const download = async (file: PathInfo) => {
      current = file.path;
      await downloadBlob(repoFolder, file, () => downloadFileToCacheDir({ ...common, path: file.path, revision: commit, cacheDir }), repoId, options.onProgress);
    };
    for (const f of [...REQUIRED, ...OPTIONAL]) {
      const info = byPath.get(f);
      if (info) await download(info);
    }
    const index = byPath.get(WEIGHTS_INDEX);
    if (index) {
      await download(index);
      const weightMap = (JSON.parse(readFileSync(join(snapshot, WEIGHTS_INDEX), 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
      const shards = [...new Set(Object.values(weightMap))];
      const shardInfo = shards.length ? await pathsInfo({ ...common, revision: commit, paths: shards }) : [];
      for (const shard of shards) {
        const info = shardInfo.find((s) => s.path === shard);
        if (!info) throw new InputError(`${repoId}: ${shard}, named in ${WEIGHTS_INDEX}, not found at revision "${revision}"`);
        await download(info);
      }
    } else {
      await download(byPath.get(WEIGHTS)!);
    }
    // Written last (the library's snapshotDownload writes it first), so a ref never names a snapshot
    // still missing files; temporary name and rename, so it is never half written.
    if (revision !== commit) {
      const ref = join(repoFolder, 'refs', revision);
      mkdirSync(dirname(ref), { recursive: true });
      writeFileSync(`${ref}.tmp`, commit);
      renameSync(`${ref}.tmp`, ref);
    }
    return snapshot;
  } catch (e) {
    throw explainFailure(e, { repoId, revision, endpointName, file: current, errorCode: lastErrorCode, withToken: !!accessToken });
  }
}

/**
 * Downloads one file through the library, reporting progress, and removes the partial blob of a
 * failed download (the library leaves it, and does not resume it either). The library writes the
 * blob under a temporary name and renames it when the stream ends; the size check after it catches
 * a body that ended early without an error (no Content-Length to hold it to).
 */
async function downloadBlob(repoFolder: string, file: PathInfo, fetchFile: () => Promise<string>, repoId: string, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  // the blob name the library gives a file: its LFS sha256, else its Xet hash, else its git oid
  const etag = file.lfs?.oid ?? file.xetHash ?? file.oid;
  const partial = etag ? join(repoFolder, 'blobs', `${etag}.incomplete`) : null;
  const received = () => (partial && existsSync(partial) ? statSync(partial).size : 0);
  const report = (bytes: number) => onProgress?.({ file: file.path, received: bytes, total: file.size });
  const timer = onProgress ? setInterval(() => report(received()), PROGRESS_INTERVAL_MS) : null;
  let pointer: string;
  try {
    pointer = await withoutLibraryDebugLog(fetchFile);
  } catch (e) {
    if (e instanceof HubApiError) throw e;
    const got = received();
    if (partial) rmSync(partial, { force: true });
    // the library's stream passes a failed request on as its message alone, a string
    throw new InputError(`${repoId}: download of ${file.path} was interrupted after ${got} bytes (${e instanceof Error ? e.message : String(e)}); run again to restart it`);
  } finally {
    if (timer) clearInterval(timer);
  }
  const size = statSync(pointer).size;
  if (size !== file.size) {
    rmSync(pointer, { force: true });
    if (etag) rmSync(join(repoFolder, 'blobs', etag), { force: true });
    throw new InputError(`${repoId}: download of ${file.path} ended after ${size} of ${file.size} bytes; run again to restart it`);
  }
  report(size);
}

// downloadFileToCacheDir announces each file with console.debug, which Node writes to stdout, where
// `--json` output goes; the count keeps overlapping downloads from restoring a silenced logger.
let silenced = 0;
let libraryDebugLog: typeof console.debug = console.debug;
async function withoutLibraryDebugLog<T>(run: () => Promise<T>): Promise<T> {
  if (silenced++ === 0) {
    libraryDebugLog = console.debug;
    console.debug = () => {};
  }
  try {
    return await run();
  } finally {
    if (--silenced === 0) console.debug = libraryDebugLog;
  }
}

function explainFailure(e: unknown, c: { repoId: string; revision: string; endpointName: string; file: string; errorCode: string | null; withToken: boolean }): Error {
  if (e instanceof InputError) return e;
  if (e instanceof InvalidApiResponseFormatError) return new InputError(`${c.repoId}: ${c.endpointName} answered ${c.file || 'a request'} in a form the hub client does not know (${e.message})`);
  // fetch itself fails with a TypeError when the server cannot be reached
  if (e instanceof TypeError && e.message === 'fetch failed') {
    return new InputError(`${c.repoId}: could not reach ${c.endpointName} (${e.cause instanceof Error ? e.cause.message : e.message}); check the network, or set HF_HUB_OFFLINE=1 to use the cache`);
  }
  if (!(e instanceof HubApiError)) return e instanceof Error ? e : new Error(String(e));
  if (c.errorCode === 'RevisionNotFound') return new InputError(`${c.repoId}: revision "${c.revision}" not found on ${c.endpointName}`);
  // the hub answers 401 RepositoryNotFound for a private repository read without a token that may read it
  if (c.errorCode === 'RepositoryNotFound') return new InputError(`${c.repoId}: repository not found on ${c.endpointName}${e.statusCode === 401 ? ' (if it is private, set HF_TOKEN to a token that may read it)' : ''}`);
  if (e.statusCode === 401 || e.statusCode === 403) {
    return new InputError(`${c.repoId}: access denied (${e.statusCode}); the model may be gated: accept its licence on the hub and set HF_TOKEN${c.withToken ? ' (the token given was refused)' : ''}`);
  }
  if (c.errorCode === 'EntryNotFound') return new InputError(`${c.repoId}: ${c.file || 'a file'} not found at revision "${c.revision}"`);
  return new InputError(`${c.repoId}: ${c.endpointName} answered HTTP ${e.statusCode}${c.file ? ` for ${c.file}` : ''} (${e.message})`);
}

function offlineSnapshot(repoFolder: string, repoId: string, revision: string): string {
  const ref = join(repoFolder, 'refs', revision);
  const commit = REGEX_COMMIT_HASH.test(revision) ? revision : existsSync(ref) ? readFileSync(ref, 'utf8').trim() : null;
  const folder = commit ? join(repoFolder, 'snapshots', commit) : null;
  if (!folder || !existsSync(join(folder, 'config.json'))) {
    throw new InputError(`${repoId}: not in the Hugging Face cache (${repoFolder}) at revision "${revision}", and offline mode is on (HF_HUB_OFFLINE); download it once online`);
  }
  const lacking = snapshotLacks(folder);
  if (lacking) throw new InputError(`${repoId}: the cached snapshot ${folder} lacks ${lacking} (an interrupted download), and offline mode is on (HF_HUB_OFFLINE); download it once online`);
  return folder;
}

/** The first file a model needs that a snapshot folder lacks, or null when it has them all. */
function snapshotLacks(folder: string): string | null {
  const has = (f: string) => existsSync(join(folder, f));
  const required = REQUIRED.find((f) => !has(f));
  if (required) return required;
  if (has(WEIGHTS)) return null;
  if (!has(WEIGHTS_INDEX)) return WEIGHTS;
  const weightMap = (JSON.parse(readFileSync(join(folder, WEIGHTS_INDEX), 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
  return Object.values(weightMap).find((shard) => !has(shard)) ?? null;
}

/** The commit a snapshot folder belongs to, when the folder is inside the hub cache. */
export function snapshotCommit(folder: string): string | null {
  const m = /snapshots[\\/]([0-9a-f]{40})[\\/]?$/.exec(folder);
  return m ? m[1] : null;
}
