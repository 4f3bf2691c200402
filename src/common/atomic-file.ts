// Files are written whole or not at all: an interrupted write (a kill, a full disk) leaves the
// previous version, never half a file.
import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';

/**
 * A file that could not be written. The message names the file and the cause (a full disk says so
 * and what to do), so front ends show it as it is, without a stack trace.
 */
export class FileWriteError extends Error {
  readonly code?: string;
  constructor(readonly file: string, cause: NodeJS.ErrnoException) {
    super(`could not write ${file}: ${cause.code === 'ENOSPC' || cause.code === 'EDQUOT' ? 'the disk is full; free some space and run again' : cause.message}`, { cause });
    this.name = 'FileWriteError';
    this.code = cause.code;
  }
}

/** The temporary name of a file being written; run folders remove those whose writer (the pid) is gone. */
function temporaryName(path: string): string {
  return `${path}.${process.pid}.${Date.now()}.tmp`;
}

/**
 * Writes a file atomically: a temporary file in the same folder, then a rename. On failure (a full
 * disk, say) the temporary file is removed and the error names the file meant.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = temporaryName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FileWriteError(path, e as NodeJS.ErrnoException);
  }
}

/**
 * A file written piece by piece (a JSON-lines file too large to hold as one string) with the same
 * guarantee as writeFileAtomic: the pieces go to a temporary file that `commit` renames into place;
 * a failed write, or `abort`, removes it.
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(readonly path: string) {
    this.tmp = temporaryName(path);
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** Adds text; it reaches the disk in pieces of about 1 MiB. */
  write(text: string): void {
    if (this.fd === undefined) throw new Error(`${this.path}: written after commit or abort`);
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 2 ** 20) this.flush();
  }

  /** Writes what is left and renames the file into place. */
  commit(): void {
    this.flush();
    try {
      closeSync(this.fd!);
      this.fd = undefined;
      renameSync(this.tmp, this.path);
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** Gives the file up: the previous version (or none) stays. */
  abort(): void {
    if (this.fd !== undefined) {
      try { closeSync(this.fd); } catch { /* removed below either way */ }
      this.fd = undefined;
    }
    rmSync(this.tmp, { force: true });
    this.pending = [];
  }

  private flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    try {
      // a write(2) may take fewer bytes than given (the last ones before the disk fills)
      for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done);
    } catch (e) {
      throw this.failed(e);
    }
  }

  private failed(e: unknown): FileWriteError {
    this.abort();
    return new FileWriteError(this.path, e as NodeJS.ErrnoException);
  }
}
