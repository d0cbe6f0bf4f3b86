/** Query parameters whose values are secrets (libpq's `password`, tokens, keys, OAuth codes, sessions). */
const SECRET_PARAM = /pass|token|secret|key|auth|sig|code|session/i;
const MASK = '***';

/** `scheme://user:password@` in text that does not parse as a URL. */
const USERINFO_PASSWORD = /(\/\/[^/?#@:\s]*):[^/?#@\s]*@/g;
/** `password=…` and the like in a query string that does not parse. */
const QUERY_SECRET = /([?&][^=&#\s]*(?:pass|token|secret|key|auth|sig|code|session)[^=&#\s]*=)[^&#\s]*/gi;

/** Mask the secret query values; whether there were any. */
function maskQuery(url: URL): boolean {
  let masked = false;
  for (const key of [...new Set(url.searchParams.keys())]) {
    if (SECRET_PARAM.test(key)) {
      url.searchParams.set(key, MASK);
      masked = true;
    }
  }
  return masked;
}

/**
 * A URL fit for a message: its password (and secret query values) replaced by `***`, the user name kept
 * so the reader recognises what they typed (returned as typed when it holds no secret). Text that is
 * not a URL is masked by pattern, for the error that says it is not one.
 */
export function maskPassword(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(USERINFO_PASSWORD, `$1:${MASK}@`).replace(QUERY_SECRET, `$1${MASK}`);
  }
  const hadPassword = url.password !== '';
  if (hadPassword) url.password = MASK;
  return maskQuery(url) || hadPassword ? url.toString() : raw;
}

/** A URL with no credentials at all (user, password, secret query values): for labels and names. */
export function withoutCredentials(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return maskPassword(raw);
  }
  url.username = '';
  url.password = '';
  maskQuery(url);
  return url.toString();
}

/**
 * Free text (a driver's error message) with every credential it may quote masked: the user info of
 * any `scheme://user:password@` and `password=…`-like values anywhere, not only in a query.
 */
export function maskSecretsInText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, `$1${MASK}@`)
    .replace(/(password|passwd|pwd|token|secret)=([^&\s]+)/gi, `$1=${MASK}`);
}
