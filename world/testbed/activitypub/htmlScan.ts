/**
 * The few pieces of HTML the link crawler reads (start tags, their attributes, an element's text),
 * found by scanning forward instead of by regular expressions: the HTML is a remote server's (up to
 * 1 MB), and expressions such as `<a\b[^>]*>[\s\S]*?<\/a>` or a repeated attribute pattern take
 * quadratic time on inputs built for it (40 kB of `<a ` took 0.8 s, 40 kB of one attribute name 3 s).
 * Each function visits every character a bounded number of times, and finds what those expressions
 * found.
 */

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 32 : c);
const isWordChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isNameStart = (c: number) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a;
const isNameChar = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
// JavaScript's \s, one character at a time (never backtracks).
const SPACE = /^\s$/;
const isSpace = (s: string, i: number) => i < s.length && SPACE.test(s[i]!);

/** Whether `s` holds the ASCII `lit` (lower case) at `i`, case-insensitively. */
function hasAt(s: string, i: number, lit: string): boolean {
  if (i + lit.length > s.length) return false;
  for (let k = 0; k < lit.length; k++) if (lower(s.charCodeAt(i + k)) !== lit.charCodeAt(k)) return false;
  return true;
}

/** The first `lit` (lower case ASCII) in `s` from `from`, case-insensitively; -1 when none. */
function indexOfIgnoreCase(s: string, lit: string, from: number): number {
  const first = lit.charCodeAt(0);
  for (let i = from; i + lit.length <= s.length; i++)
    if (lower(s.charCodeAt(i)) === first && hasAt(s, i, lit)) return i;
  return -1;
}

export interface Element {
  /** The start tag, `<` to `>`. */
  tag: string;
  /** Between the start tag's `>` and the start of `close` (only when a close was asked for). */
  inner: string;
}

/**
 * Each start tag `<name` (then, with `wordBoundary`, a non-word character, as `\b`) up to its first
 * `>`, and, with `close`, the text up to the first `close` after it: `<name\b[^>]*>([\s\S]*?)close`,
 * case-insensitively. Once a `>` or a `close` is missing no later element can have one: the scan ends.
 */
export function elements(html: string, name: string, close?: string, wordBoundary = true): Element[] {
  const out: Element[] = [];
  const open = `<${name}`;
  let i = 0;
  for (;;) {
    const start = indexOfIgnoreCase(html, open, i);
    if (start < 0) return out;
    const after = start + open.length;
    if (wordBoundary && after < html.length && isWordChar(html.charCodeAt(after))) {
      i = start + 1;
      continue;
    }
    const gt = html.indexOf('>', after);
    if (gt < 0) return out;
    if (close === undefined) {
      out.push({ tag: html.slice(start, gt + 1), inner: '' });
      i = gt + 1;
      continue;
    }
    const end = indexOfIgnoreCase(html, close, gt + 1);
    if (end < 0) return out;
    out.push({ tag: html.slice(start, gt + 1), inner: html.slice(gt + 1, end) });
    i = end + close.length;
  }
}

/** `s` without its tags: each `<` up to the next `>` removed (`<[^>]*>`); a `<` never closed stays. */
export function stripTags(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const lt = s.indexOf('<', i);
    if (lt < 0) return out + s.slice(i);
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0) return out + s.slice(i);
    out += s.slice(i, lt);
    i = gt + 1;
  }
}

/** A value after `=` at `i`: "…", '…' or a run without space, quotes and `>`; its text and end. */
function attributeValue(tag: string, i: number): { value: string; end: number } | undefined {
  const q = tag[i];
  if (q === '"' || q === "'") {
    const close = tag.indexOf(q, i + 1);
    return close < 0 ? undefined : { value: tag.slice(i + 1, close), end: close + 1 };
  }
  let j = i;
  while (j < tag.length && !'"\'>'.includes(tag[j]!) && !isSpace(tag, j)) j++;
  return j === i ? undefined : { value: tag.slice(i, j), end: j };
}

/**
 * `name = value` pairs in a tag, as `([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`
 * finds them (raw values, names as written). A name that is not followed by a value is skipped whole:
 * any shorter name inside it would be followed by the same characters and fail the same way.
 */
export function attributePairs(tag: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < tag.length) {
    if (!isNameStart(tag.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < tag.length && isNameChar(tag.charCodeAt(j))) j++;
    let k = j;
    while (isSpace(tag, k)) k++;
    if (tag[k] !== '=') {
      i = j;
      continue;
    }
    k++;
    while (isSpace(tag, k)) k++;
    const value = attributeValue(tag, k);
    if (!value) {
      i = j;
      continue;
    }
    out.push([tag.slice(i, j), value.value]);
    i = value.end;
  }
  return out;
}
