const SENSITIVE_PARAM = /token|key|secret|pass|auth|sig|code|session/i;

/** A URL for tags and messages: credentials dropped, sensitive query values redacted. */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw;
  }
  u.username = '';
  u.password = '';
  let changed = false;
  for (const key of [...u.searchParams.keys()]) {
    if (SENSITIVE_PARAM.test(key)) {
      u.searchParams.set(key, 'REDACTED');
      changed = true;
    }
  }
  return changed ? u.toString().replace(/REDACTED/g, '[redacted]') : u.toString();
}
