/** Where in a user's file an input error is: for messages, diagnostics and "open at line". */
export interface InputLocation { file: string; line?: number; field?: string }

/**
 * One problem found in a user's input, for the Problems view and for checks that report every
 * problem at once; `line` and `column` are 1-based, `message` says what to do and omits the place.
 */
export interface InputProblem extends InputLocation {
  severity: 'error' | 'warning' | 'info';
  message: string;
  column?: number;
  endLine?: number;
  endColumn?: number;
}

/** An error in a user's input (file, field, value) whose message says what is wrong and what to do. */
export class InputError extends Error {
  constructor(message: string, readonly location?: InputLocation) {
    super(message);
    this.name = 'InputError';
  }
}

/** The error a problem stands for where the first one stops the work (the CLI, the trainer). */
export function problemError(problem: InputProblem): InputError {
  return new InputError(`${problem.file}:${problem.line ?? 1}: ${problem.message}`, { file: problem.file, line: problem.line, field: problem.field });
}

/** What a failed system call was doing, in words, by its name (Node's `syscall`). */
const OPERATIONS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write', mkdir: 'create the folder', rmdir: 'remove the folder', unlink: 'remove',
  rename: 'rename into place', scandir: 'list the folder', stat: 'look up', lstat: 'look up', access: 'access', copyfile: 'copy',
  opendir: 'open the folder', readlink: 'follow the link', symlink: 'link', chmod: 'change permissions', utime: 'set the time of',
};

/** What an error code means to a user, and what to do about it. */
const CAUSES: Record<string, string> = {
  EACCES: 'permission denied: check the permissions, or choose another location',
  EPERM: 'operation not permitted: check the permissions, or choose another location',
  EROFS: 'the file system is read-only: choose a writable location',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'something of that name is already there',
  ENAMETOOLONG: 'the name is too long for the file system: shorten it',
  ENOSPC: 'the disk is full: free some space and run again',
  EDQUOT: 'the disk quota is used up: free some space and run again',
  EMFILE: 'too many open files',
  ELOOP: 'too many symbolic links (a link loop?)',
  EBUSY: 'the file is busy',
};

/**
 * A file-system error from Node (`code`, `syscall`, `path`) as an InputError that names the path,
 * the operation and the cause, so it is said without a stack trace; null for any other error.
 */
export function fileSystemError(e: unknown): InputError | null {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || typeof err.path !== 'string' || !(err.code in CAUSES)) return null;
  const op = OPERATIONS[err.syscall ?? ''] ?? err.syscall ?? 'use';
  const { dest } = err as { dest?: unknown };
  const to = typeof dest === 'string' ? ` to ${dest}` : '';
  return new InputError(`${err.path}: could not ${op}${to} (${err.code}: ${CAUSES[err.code]})`, { file: err.path });
}

/**
 * A run that stopped for a reason its message says in full (a loss that became NaN, with the step
 * and what to change): said as it is, without a stack trace, though it is no error in an input.
 */
export class RunFailedError extends Error {
  constructor(message: string, readonly runDir?: string) {
    super(message);
    this.name = 'RunFailedError';
  }
}
