/**
 * Bad input from the user (a file, a field, an argument). The CLI prints its
 * message alone and exits with code 2; anything else is a bug and keeps its stack.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** An I/O failure as a user reads it: its errno code (ENOENT, EACCES…), or the message when it has none. */
export function errnoText(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
