import { InputError } from './errors.js';
import { maskPassword } from './urlSecrets.js';

/**
 * The URL given to `flag`, checked before anything connects: it parses and has one of `schemes`
 * (e.g. ['redis:', 'rediss:']); the message masks its password.
 */
export function checkedFlagUrl(flag: string, raw: string, schemes: readonly string[]): URL {
  const expected = schemes.map((s) => `${s}//`).join(' or ');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(`${flag} ${maskPassword(raw)}: not a URL (expected ${expected}…)`);
  }
  if (!schemes.includes(url.protocol))
    throw new InputError(`${flag} ${maskPassword(raw)}: the scheme must be ${expected}`);
  return url;
}
