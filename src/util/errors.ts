/**
 * An error meant for the person at the keyboard: one line that says what went
 * wrong, plus an optional hint that says what to do about it. The CLI prints
 * these without a stack trace; anything else is a bug and gets one.
 */
export class UserError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
