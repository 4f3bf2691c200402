// Runs graphs with onnxruntime-node on the CPU, WebGPU (Dawn: the local GPU of any vendor) or
// CUDA (where its provider was installed), falling back to the CPU with the reason when a
// provider cannot start.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph as GraphClass, onnxTypeOf, type FloatType, type Graph } from './graph.js';
import { cacheRoot } from '../common/paths.js';

export type DeviceChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export type Device = 'cpu' | 'webgpu' | 'cuda';
export const DEVICE_CHOICES: DeviceChoice[] = ['auto', 'cpu', 'webgpu', 'cuda'];

/** Where a model's setup is, for progress displays: tracing the graph, then the runtime loading it. */
export interface SetupProgress { phase: 'graph' | 'load' | 'ready'; detail?: string; seconds?: number }

export interface SessionOptions {
  device?: DeviceChoice;
  threads?: number;
  /** Called with a line for the user: which device was picked, or why a fallback happened. */
  log?: (message: string) => void;
  /** The float type of a graph built per device (a plain graph says its own). */
  floatType?: FloatType;
  /** Called as setup goes on (loading a 1B model's weights takes minutes on a laptop). */
  progress?: (p: SetupProgress) => void;
}

export type Feeds = Record<string, ort.Tensor>;

export class EngineSession {
  constructor(readonly session: ort.InferenceSession, readonly device: Device, readonly note: string) {}
  run(feeds: Feeds, fetches?: string[]): Promise<ort.InferenceSession.ReturnType> { return fetches ? this.session.run(feeds, fetches) : this.session.run(feeds); }
  release(): Promise<void> { return this.session.release(); }
}

/**
 * Where the runtime finds a graph's external weight files: the one folder that holds them all
 * (their real paths, since hub snapshots link into blobs/ and the runtime refuses links), so the
 * graph is loaded from memory and nothing is written or copied. Null when the files are in
 * several folders (then each gets a link in a graph folder in the cache).
 */
function weightFolder(externalFiles: Map<string, string>): { folder: string; names: Map<string, string> } | null {
  const names = new Map<string, string>();
  let folder: string | null = null;
  for (const [name, path] of externalFiles) {
    const real = realpathSync(path);
    if (folder !== null && dirname(real) !== folder) return null;
    folder = dirname(real);
    names.set(name, basename(real));
  }
  return folder === null ? null : { folder, names };
}

/** Writes the graph (and links to its external weight files) into the cache; returns the model path. */
export function materialize(graph: Graph, externalFiles: Map<string, string>): { path?: string; bytes: Uint8Array } {
  const bytes = graph.encode();
  if (externalFiles.size === 0) return { bytes };
  const hash = createHash('sha256').update(bytes);
  for (const [name, target] of [...externalFiles].sort()) hash.update(`${name}=${target}\n`);
  const dir = join(cacheRoot(), 'graphs', hash.digest('hex').slice(0, 32));
  const path = join(dir, 'model.onnx');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    for (const [name, target] of externalFiles) {
      const link = join(dir, name);
      if (!existsSync(link)) linkOrCopy(target, link);
    }
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  }
  return { path, bytes };
}

/**
 * onnxruntime refuses external data that resolves outside the model's folder (symbolic links
 * included), so weight files are hard-linked next to the graph; across file systems they are
 * copied once into the cache and hard-linked from there.
 */
function linkOrCopy(linkTarget: string, link: string): void {
  // hub snapshots hold symbolic links into blobs/: link the file itself
  const target = realpathSync(linkTarget);
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    linkSync(target, tmp);
  } catch {
    const st = statSync(target);
    const key = createHash('sha256').update(`${target}|${st.size}|${st.mtimeMs}`).digest('hex').slice(0, 16);
    const dir = join(cacheRoot(), 'weights');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, `${key}_${basename(target)}`);
    if (!existsSync(copy)) {
      const copyTmp = `${copy}.${process.pid}.tmp`;
      copyFileSync(target, copyTmp);
      renameSync(copyTmp, copy);
    }
    try {
      linkSync(copy, tmp);
    } catch {
      copyFileSync(copy, tmp);
    }
  }
  renameSync(tmp, link);
}

interface LoadableModel { path?: string; bytes: Uint8Array; weightFolder?: string }

/**
 * The graph in a form the runtime loads: from memory, with its weights read in place from the
 * folder that holds them; or, where they lie in several folders, a cached graph folder of links.
 */
function loadable(graph: Graph, externalFiles: Map<string, string>): LoadableModel {
  const found = externalFiles.size ? weightFolder(externalFiles) : null;
  if (!found) return materialize(graph, externalFiles);
  graph.renameExternalFiles(found.names);
  return { bytes: graph.encode(), weightFolder: found.folder };
}

type BufferCacheMode = 'disabled' | 'lazyRelease' | 'simple' | 'bucket';

/** onnxruntime's WebGPU storage-buffer cache; PTUNE_WEBGPU_BUFFER_CACHE chooses another mode. */
function webgpuBufferCache(): BufferCacheMode {
  const asked = process.env.PTUNE_WEBGPU_BUFFER_CACHE;
  return asked === 'disabled' || asked === 'lazyRelease' || asked === 'simple' || asked === 'bucket' ? asked : 'bucket';
}

async function open(model: LoadableModel, device: Device, threads: number | undefined): Promise<ort.InferenceSession> {
  const session: Record<string, string> = {
    // Prepacked weights are a second copy of every matrix (measured: 2.5x the weights per
    // session on a 0.5B model) for no measurable speed on these shapes.
    disable_prepacking: '1',
  };
  if (model.weightFolder) session.model_external_initializers_file_folder_path = model.weightFolder;
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [device === 'webgpu' ? { name: 'webgpu', storageBufferCacheMode: webgpuBufferCache() } : device],
    graphOptimizationLevel: 'basic',
    enableCpuMemArena: true,
    enableMemPattern: false,
    intraOpNumThreads: threads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session },
  };
  return model.path ? ort.InferenceSession.create(model.path, options) : ort.InferenceSession.create(model.bytes, options);
}

/** The order `auto` tries: CUDA where its provider is installed, then WebGPU, then the CPU. */
export function autoOrder(): Device[] {
  const order: Device[] = [];
  const backends = ort.listSupportedBackends?.() ?? [];
  if (backends.some((b) => b.name === 'cuda' && b.bundled)) order.push('cuda');
  if (backends.some((b) => b.name === 'webgpu')) order.push('webgpu');
  order.push('cpu');
  return order;
}

/**
 * A session for a graph on the chosen device, falling back to the CPU with the reason. The graph
 * may depend on the device (half-precision weights on a GPU): then it is built per attempt.
 */
export async function createSession(graph: Graph | ((device: Device) => Graph | Promise<Graph>), externalFiles: Map<string, string>, options: SessionOptions = {}): Promise<EngineSession> {
  const graphFor = typeof graph === 'function' ? graph : () => graph;
  const choice = options.device ?? 'cpu';
  // float64 graphs run on the CPU only
  const float64 = (typeof graph === 'function' ? options.floatType : graph.floatType) === 'float64';
  const candidates: Device[] = choice === 'auto' ? (float64 ? ['cpu'] : autoOrder()) : [choice];
  const reasons: string[] = [];
  const started = performance.now();
  const tick = options.progress ? setInterval(() => options.progress!({ phase: 'load', seconds: Math.round((performance.now() - started) / 1000) }), 2000) : undefined;
  const attempt = async (device: Device) => {
    const model = loadable(await graphFor(device), externalFiles);
    options.progress?.({ phase: 'load', detail: device, seconds: Math.round((performance.now() - started) / 1000) });
    return open(model, device, options.threads);
  };
  try {
    for (const device of candidates) {
      try {
        const session = await attempt(device);
        options.progress?.({ phase: 'ready', detail: device, seconds: Math.round((performance.now() - started) / 1000) });
        const note = choice === 'auto' ? `device: ${device} (auto${reasons.length ? `; ${reasons.join('; ')}` : ''})` : `device: ${device}`;
        options.log?.(note);
        return new EngineSession(session, device, note);
      } catch (e) {
        reasons.push(`${device} unavailable: ${deviceFailure(e)}`);
      }
    }
    if (choice === 'cpu') throw new Error(`could not create a CPU session: ${reasons.join('; ')}`);
    const note = `device: cpu (${reasons.join('; ')}; fell back to the CPU)`;
    options.log?.(note);
    return new EngineSession(await attempt('cpu'), 'cpu', note);
  } finally {
    if (tick) clearInterval(tick);
  }
}

const halfSupport = new Map<Device, Promise<boolean>>();

/**
 * Whether a device runs half-precision products: WebGPU needs the adapter's shader-f16 feature
 * (SwiftShader, for one, lacks it, and a session then fails only when it runs). Probed once per
 * process with a tiny graph; the CPU runs them (slowly, so `auto` does not choose them there).
 */
export function supportsHalf(device: Device): Promise<boolean> {
  let known = halfSupport.get(device);
  if (!known) {
    known = (async () => {
      if (device === 'cpu') return true;
      const g = new GraphClass('float32', 'float16');
      const x = g.input('x', 'float32', [2, 4]);
      const w = g.initializer('w', 'float16', [4, 4], new Uint8Array(32));
      const h = g.node('Cast', [x], { to: onnxTypeOf('float16') }, [{ dtype: 'float16', shape: [2, 4] }])[0];
      const y = g.node('MatMul', [h, w], {}, [{ dtype: 'float16', shape: [2, 4] }])[0];
      g.output(g.node('Cast', [y], { to: onnxTypeOf('float32') }, [{ dtype: 'float32', shape: [2, 4] }])[0], 'y');
      try {
        const session = await open({ bytes: g.encode() }, device, 1);
        await session.run({ x: new ort.Tensor('float32', new Float32Array(8), [2, 4]) });
        await session.release();
        return true;
      } catch {
        return false;
      }
    })();
    halfSupport.set(device, known);
  }
  return known;
}

/**
 * Why a device did not start, in a line. onnxruntime's "Failed to get a WebGPU adapter" means
 * Dawn found no Vulkan driver: on an NVIDIA Linux machine with libvulkan1 alone the loader saw the
 * driver's ICD (libGLX_nvidia) but could not start it; with glvnd's libraries it did.
 */
export function deviceFailure(e: unknown): string {
  const line = firstLine(e);
  if (/Failed to get a WebGPU adapter/.test(String((e as Error)?.message ?? e))) {
    return 'no WebGPU adapter (no Vulkan, D3D12 or Metal driver answered; on Linux install the GPU driver, libvulkan1 and libglvnd0)';
  }
  return line;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
}

export function floatTensor(dtype: 'float32' | 'float64', data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return dtype === 'float32' ? new ort.Tensor('float32', Float32Array.from(data), dims) : new ort.Tensor('float64', Float64Array.from(data), dims);
}
export function int64Tensor(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(v))), dims);
}

export { ort };
