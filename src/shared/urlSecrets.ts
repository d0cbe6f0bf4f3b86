/** Query parameters whose values are secrets (libpq's `password`, tokens, keys). */
const SECRET_PARAM = /pass|token|secret|key|auth|sig/i;
const MASK = '***';

/** `scheme://user:password@` in text that does not parse as a URL. */
const USERINFO_PASSWORD = /(\/\/[^/?#@:\s]*):[^/?#@\s]*@/g;
/** `password=…` and the like in a query string that does not parse. */
const QUERY_SECRET = /([?&][^=&#\s]*(?:pass|token|secret|key|auth|sig)[^=&#\s]*=)[^&#\s]*/gi;

function maskQuery(url: URL): void {
  for (const key of [...new Set(url.searchParams.keys())]) {
    if (SECRET_PARAM.test(key)) url.searchParams.set(key, MASK);
  }
}

/**
 * A URL fit for a message: its password (and secret query values) replaced by `***`, the user name kept
 * so the reader recognises what they typed. Text that is not a URL is masked by pattern, for the
 * error that says it is not one.
 */
export function maskPassword(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(USERINFO_PASSWORD, `$1:${MASK}@`).replace(QUERY_SECRET, `$1${MASK}`);
  }
  if (url.password) url.password = MASK;
  maskQuery(url);
  return url.toString();
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
