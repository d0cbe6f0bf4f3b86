/**
 * Credentials never reach samples, status lines or summaries: error messages
 * of drivers may quote the URL they were given (`redis://:secret@host`) or a
 * `password=` parameter anywhere in free text (src/shared/urlSecrets.ts masks
 * URLs; this masks a message).
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@')
    .replace(/(password|passwd|pwd|token|secret)=([^&\s]+)/gi, '$1=***');
}

/** An error's message as a gap records it: one line, no credentials, at most 300 characters. */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message || err.name : String(err);
  const line = redactCredentials(message.replace(/\s+/g, ' ').trim());
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
