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
