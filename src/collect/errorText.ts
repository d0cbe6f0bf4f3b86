import { maskSecretsInText } from '../shared/urlSecrets.js';

/** An error's message as a gap records it: one line, no credentials, at most 300 characters. */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message || err.name : String(err);
  const line = maskSecretsInText(message.replace(/\s+/g, ' ').trim());
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
