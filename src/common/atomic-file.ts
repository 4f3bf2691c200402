// Files are written whole or not at all: an interrupted write (a kill, a full disk) leaves the
// previous version, never half a file.
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file atomically: a temporary file in the same folder, then a rename. On failure (a full
 * disk, say) the temporary file is removed and the error names the file meant.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const cause = e as NodeJS.ErrnoException;
    const error: NodeJS.ErrnoException = new Error(`could not write ${path}: ${cause.code === 'ENOSPC' ? 'the disk is full; free some space and run again' : cause.message}`, { cause });
    error.code = cause.code;
    throw error;
  }
}
