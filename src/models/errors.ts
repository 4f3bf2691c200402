/** An error in a user's input (file, field, value) whose message says what is wrong and what to do. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
