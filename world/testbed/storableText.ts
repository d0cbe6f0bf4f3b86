/**
 * What PostgreSQL cannot store, found before a request is accepted: a text column refuses the NUL
 * character (0x00) and bytes that are not UTF-8, and a JSON string with a lone surrogate (`"\ud800"`)
 * becomes such bytes when Mastodon's JSON parser reads it. Mastodon fails on these late (a 500, or a
 * job in the retry set); the testbed refuses them at the door with 4xx so nothing accepted is lost.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text, or undefined when its bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Why a string cannot be stored, if it cannot. */
export function unstorable(s: string): string | undefined {
  if (s.includes('\0')) return 'a NUL character';
  if (hasLoneSurrogate(s)) return 'a lone surrogate (not UTF-8)';
  return undefined;
}

/** String#isWellFormed, which ES2022's typings lack. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++;
  }
  return false;
}

/** The first string (key or value) in a parsed JSON value that cannot be stored: where, and why. */
export function findUnstorable(value: unknown, root = ''): { where: string; why: string } | undefined {
  // A stack, not recursion: a megabyte of nested arrays would overflow the call stack.
  const stack: { v: unknown; where: string }[] = [{ v: value, where: root }];
  while (stack.length > 0) {
    const { v, where } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorable(v);
      if (why) return { where, why };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], where: `${where}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const why = unstorable(k);
        if (why) return { where: `${where}${where ? '.' : ''}${printable(k)}`, why };
        stack.push({ v: child, where: where ? `${where}.${printable(k)}` : printable(k) });
      }
    }
  }
  return undefined;
}

/** A key fit for a message: NULs shown as \0, at most 40 characters. */
const printable = (k: string) => k.replaceAll('\0', '\\0').slice(0, 40);
