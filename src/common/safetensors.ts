// Reads and validates safetensors files (a u64 header length, a JSON header, then raw
// little-endian tensor bytes) and sharded checkpoints (model.safetensors.index.json).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from './errors.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';
const bytesPerElement: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  length: number;
  file: string;
}

export interface SafetensorsFile {
  file: string;
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
}

export function readSafetensorsHeader(file: string): SafetensorsFile {
  if (!existsSync(file)) throw new InputError(`${file}: file not found`);
  const size = statSync(file).size;
  if (size < 8) throw new InputError(`${file}: not a safetensors file (only ${size} bytes; the file starts with an 8-byte header length)`);
  const fd = openSync(file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLength = Number(lenBuf.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES) throw new InputError(`${file}: safetensors header claims ${headerLength} bytes, over the 100 MB limit; the file is corrupt or not safetensors`);
    if (8 + headerLength > size) throw new InputError(`${file}: safetensors header claims ${headerLength} bytes but the file has only ${size}; the file is truncated (re-download it)`);
    const headerBuf = Buffer.alloc(headerLength);
    readSync(fd, headerBuf, 0, headerLength, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      throw new InputError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
      throw new InputError(`${file}: safetensors header is ${header === null ? 'null' : Array.isArray(header) ? 'an array' : `a ${typeof header}`}, not an object of tensors; the file is corrupt or not safetensors`);
    }
    const dataStart = 8 + headerLength;
    const dataSize = size - dataStart;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = value as Record<string, string>;
        continue;
      }
      const v = value as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!v || typeof v.dtype !== 'string' || !Array.isArray(v.shape) || !Array.isArray(v.data_offsets)) throw new InputError(`${file}: tensor "${name}" has no dtype, shape or data_offsets`);
      if (!(v.dtype in bytesPerElement)) throw new InputError(`${file}: tensor "${name}" has dtype ${v.dtype}, which is not supported (F32, F16, BF16, F64, I64, I32, U8, BOOL)`);
      const dtype = v.dtype as SafetensorsDType;
      const [begin, end] = v.data_offsets;
      if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin && end <= dataSize)) {
        throw new InputError(`${file}: tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataSize} data bytes; the file is corrupt`);
      }
      const expected = v.shape.reduce((p, d) => p * d, 1) * bytesPerElement[dtype];
      if (end - begin !== expected) throw new InputError(`${file}: tensor "${name}" of shape [${v.shape}] ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`);
      tensors.set(name, { name, dtype, shape: v.shape, offset: dataStart + begin, length: end - begin, file });
    }
    const sorted = [...tensors.values()].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      if (sorted[i].offset < prev.offset + prev.length) throw new InputError(`${file}: tensors "${prev.name}" and "${sorted[i].name}" overlap; the file is corrupt`);
    }
    // bytes no tensor owns mean a file cut or appended to (the safetensors library refuses it too)
    const end = sorted.length ? sorted[sorted.length - 1].offset + sorted[sorted.length - 1].length - dataStart : 0;
    if (end < dataSize) throw new InputError(`${file}: ${dataSize - end} bytes follow the last tensor's data; the file is corrupt or was written by a faulty tool (re-download or re-save it)`);
    return { file, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

/** All tensors of a checkpoint folder: model.safetensors, or the shards its index names. */
export function readCheckpoint(folder: string): Map<string, TensorEntry> {
  const single = join(folder, 'model.safetensors');
  const index = join(folder, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = JSON.parse(readFileSync(index, 'utf8')).weight_map;
    } catch (e) {
      throw new InputError(`${index}: not valid JSON (${(e as Error).message})`);
    }
    if (!weightMap || typeof weightMap !== 'object') throw new InputError(`${index}: has no "weight_map" object`);
    const all = new Map<string, TensorEntry>();
    const modelFolder = resolve(dirname(index));
    for (const shard of new Set(Object.values(weightMap))) {
      const shardPath = resolve(modelFolder, String(shard));
      // the index names files, not paths: one outside the folder is not part of the model
      const inside = relative(modelFolder, shardPath);
      if (typeof shard !== 'string' || !inside || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
        throw new InputError(`${index}: weight_map names the shard ${JSON.stringify(shard)}, which is outside the model folder ${modelFolder}; shards must be files in that folder`);
      }
      for (const [name, entry] of withAliases(readSafetensorsHeader(shardPath))) all.set(name, entry);
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!all.has(name)) throw new InputError(`${index}: weight_map names tensor "${name}" in ${shard}, but that shard does not contain it`);
    }
    return all;
  }
  if (existsSync(single)) return withAliases(readSafetensorsHeader(single));
  throw new InputError(`${folder}: no model.safetensors or model.safetensors.index.json; a model folder needs Hugging Face safetensors weights`);
}

/**
 * The file's tensors plus the names its metadata maps to them: PyTorch's saver stores a tensor
 * shared under two names once and records `{ "removed name": "kept name" }` (a tied head saved as
 * lm_head.weight only, with model.embed_tokens.weight pointing to it).
 */
function withAliases(f: SafetensorsFile): Map<string, TensorEntry> {
  const out = new Map(f.tensors);
  for (const [alias, kept] of Object.entries(f.metadata)) {
    const entry = f.tensors.get(kept);
    if (entry && !out.has(alias)) out.set(alias, { ...entry, name: alias });
  }
  return out;
}

/** Reads one tensor as float32 (F16 and BF16 are widened). */
export function readTensorF32(entry: TensorEntry): Float32Array {
  const fd = openSync(entry.file, 'r');
  try {
    const buf = Buffer.alloc(entry.length);
    readSync(fd, buf, 0, entry.length, entry.offset);
    return toFloat32(buf, entry.dtype, entry);
  } finally {
    closeSync(fd);
  }
}

/** Rows of a 2-D tensor as float32, [ids.length, columns]: reads only those rows from the file. */
export function readRowsF32(entry: TensorEntry, ids: number[]): Float32Array {
  const [rows, cols] = entry.shape;
  const rowBytes = entry.length / rows;
  const out = new Float32Array(ids.length * cols);
  const fd = openSync(entry.file, 'r');
  try {
    const buf = Buffer.alloc(rowBytes);
    ids.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < rows)) throw new InputError(`${entry.file}: row ${id} of "${entry.name}" is outside its ${rows} rows`);
      readSync(fd, buf, 0, rowBytes, entry.offset + id * rowBytes);
      out.set(toFloat32(buf, entry.dtype, entry), i * cols);
    });
  } finally {
    closeSync(fd);
  }
  return out;
}

export function toFloat32(buf: Uint8Array, dtype: SafetensorsDType, entry?: { name: string; file: string }): Float32Array {
  const n = buf.byteLength / bytesPerElement[dtype];
  const aligned = new Uint8Array(buf); // copy: typed views need aligned offsets
  switch (dtype) {
    case 'F32': return new Float32Array(aligned.buffer, 0, n);
    case 'F64': return Float32Array.from(new Float64Array(aligned.buffer, 0, n));
    case 'BF16': {
      const src = new Uint16Array(aligned.buffer, 0, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(aligned.buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    default:
      throw new InputError(`${entry?.file ?? 'tensor'}: tensor "${entry?.name ?? ''}" has dtype ${dtype}, expected a floating-point weight`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function encodeSafetensors(tensors: { name: string; shape: number[]; data: Float32Array }[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}
