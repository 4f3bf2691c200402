/** Where in a user's file an input error is: for messages, diagnostics and "open at line". */
export interface InputLocation { file: string; line?: number; field?: string }

/** An error in a user's input (file, field, value) whose message says what is wrong and what to do. */
export class InputError extends Error {
  constructor(message: string, readonly location?: InputLocation) {
    super(message);
    this.name = 'InputError';
  }
}
