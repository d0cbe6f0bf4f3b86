/**
 * The bits of Mastodon's status text handling the testbed needs: finding
 * URLs, mentions and hashtags (Twitter::TwitterText-style extraction),
 * counting characters as StatusLengthValidator does, and rendering plain
 * text to the HTML `content` (TextFormatter): paragraphs, line breaks,
 * links, mention h-cards and hashtag links.
 */

export const MAX_CHARS = 500;
/** Each URL counts as this many characters (characters_reserved_per_url). */
export const URL_PLACEHOLDER_CHARS = 23;

export interface Token {
  kind: 'text' | 'url' | 'mention' | 'tag';
  raw: string;
  /** mention: username; tag: name. */
  name?: string;
  /** mention: domain as written (undefined for a bare @user). */
  domain?: string;
}

/*
 * A hand-written scanner instead of regular expressions: user text reaches it before any length check
 * can be made (URLs count as 23 characters), so every step must be linear. Each token is found by
 * scanning forward over the characters it may hold; nothing is tried twice. What it finds:
 *   url      https?:// then one or more characters other than whitespace, < > " ' (trailing
 *            punctuation . , ; : ! ? ' " ) ] is left to the text after it)
 *   mention  @ not after / @ or a word character; a username of [a-z0-9_.-] that starts and ends with
 *            [a-z0-9_]; then optionally @ and a domain of dot-separated [a-z0-9-] labels with a :port
 *   tag      # not after / ) # or a word character; a run of letters, digits and _ with one letter or _
 */

const isWord = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isUsernameChar = (c: number) => isWord(c) || c === 0x2e || c === 0x2d;
const isLabelChar = (c: number) => isWord(c) || c === 0x2d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const URL_STOP = new Set(['<', '>', '"', "'"]);
const URL_TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']']);
// One character at a time: these never backtrack.
const WHITESPACE = /^\s$/u;
const TAG_CHAR = /^[\p{L}\p{N}_]$/u;
const TAG_LETTER = /^[\p{L}_]$/u;

/** Where `https?://` starting at `i` ends, or -1. */
function schemeEnd(text: string, i: number): number {
  const lower = text.slice(i, i + 8).toLowerCase();
  if (lower.startsWith('https://')) return i + 8;
  if (lower.startsWith('http://')) return i + 7;
  return -1;
}

/** A URL at `i`: its end as matched (`next`) and as kept after trimming trailing punctuation. */
function scanUrl(text: string, i: number): { end: number; next: number } | undefined {
  const start = schemeEnd(text, i);
  if (start < 0) return undefined;
  let j = start;
  while (j < text.length) {
    const cp = text.codePointAt(j)!;
    const ch = String.fromCodePoint(cp);
    if (URL_STOP.has(ch) || WHITESPACE.test(ch)) break;
    j += ch.length;
  }
  if (j === start) return undefined;
  let end = j;
  while (end > i && URL_TRAILING.has(text[end - 1]!)) end--;
  return { end, next: j };
}

/** `@user` or `@user@domain[:port]` at `i` (text[i] is '@'). */
function scanMention(text: string, i: number): { end: number; name: string; domain?: string } | undefined {
  const before = i > 0 ? text.charCodeAt(i - 1) : -1;
  if (before === 0x2f || before === 0x40 || isWord(before)) return undefined;
  const start = i + 1;
  if (!isWord(text.charCodeAt(start))) return undefined;
  let lastWord = start;
  let j = start;
  while (j < text.length && isUsernameChar(text.charCodeAt(j))) {
    if (isWord(text.charCodeAt(j))) lastWord = j;
    j++;
  }
  const nameEnd = lastWord + 1;
  const name = text.slice(start, nameEnd);
  if (text.charCodeAt(nameEnd) !== 0x40) return { end: nameEnd, name };
  const domainEnd = scanDomain(text, nameEnd + 1);
  if (domainEnd === nameEnd + 1) return { end: nameEnd, name };
  return { end: domainEnd, name, domain: text.slice(nameEnd + 1, domainEnd) };
}

/** The end of `label(.label)*(:digits)?` from `i` (i itself when there is none). */
function scanDomain(text: string, i: number): number {
  let end = i;
  let j = i;
  for (;;) {
    const labelStart = j;
    while (j < text.length && isLabelChar(text.charCodeAt(j))) j++;
    if (j === labelStart) break;
    end = j;
    if (text.charCodeAt(j) !== 0x2e) break;
    j++;
  }
  if (end > i && text.charCodeAt(end) === 0x3a && isDigit(text.charCodeAt(end + 1))) {
    end++;
    while (isDigit(text.charCodeAt(end))) end++;
  }
  return end;
}

/** `#name` at `i` (text[i] is '#'): the run of letters, digits and _ after it, if it holds a letter or _. */
function scanTag(text: string, i: number): { end: number; name: string } | undefined {
  const before = i > 0 ? text.charCodeAt(i - 1) : -1;
  if (before === 0x2f || before === 0x29 || before === 0x23 || isWord(before)) return undefined;
  let j = i + 1;
  let hasLetter = false;
  while (j < text.length) {
    const ch = String.fromCodePoint(text.codePointAt(j)!);
    if (!TAG_CHAR.test(ch)) break;
    if (!hasLetter && TAG_LETTER.test(ch)) hasLetter = true;
    j += ch.length;
  }
  return hasLetter ? { end: j, name: text.slice(i + 1, j) } : undefined;
}

/** The token starting at `i`, if any, and where scanning resumes. */
function tokenAt(text: string, i: number): { token: Token; end: number; next: number } | undefined {
  const c = text[i];
  if (c === 'h' || c === 'H') {
    const url = scanUrl(text, i);
    if (url) return { token: { kind: 'url', raw: text.slice(i, url.end) }, end: url.end, next: url.next };
  } else if (c === '@') {
    const m = scanMention(text, i);
    if (m) {
      const token: Token = { kind: 'mention', raw: text.slice(i, m.end), name: m.name, domain: m.domain };
      return { token, end: m.end, next: m.end };
    }
  } else if (c === '#') {
    const t = scanTag(text, i);
    if (t)
      return { token: { kind: 'tag', raw: text.slice(i, t.end), name: t.name }, end: t.end, next: t.end };
  }
  return undefined;
}

/** The text's tokens in order, lazily (so a caller can stop early), text between them as `text` tokens. */
export function* tokens(text: string): Generator<Token> {
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const found = tokenAt(text, i);
    if (!found) {
      i++;
      continue;
    }
    if (i > last) yield { kind: 'text', raw: text.slice(last, i) };
    yield found.token;
    last = found.end;
    i = found.next;
  }
  if (last < text.length) yield { kind: 'text', raw: text.slice(last) };
}

export const tokenize = (text: string): Token[] => [...tokens(text)];

export const extractMentions = (text: string) =>
  tokenize(text)
    .filter((t) => t.kind === 'mention' && t.name)
    .map((t) => ({ username: t.name!, domain: t.domain }));

export const extractHashtags = (text: string) => [
  ...new Set(
    tokenize(text)
      .filter((t) => t.kind === 'tag')
      .map((t) => t.name!.toLowerCase()),
  ),
];

export function hasLinks(text: string): boolean {
  for (const t of tokens(text)) if (t.kind === 'url') return true;
  return false;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Code units segmented at once: V8's segment iterator costs the length of its whole input per step. */
const SEGMENT_CHUNK = 256;

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

/**
 * Grapheme clusters in `s`, counted up to just past `limit`, a chunk at a time: the last cluster of a
 * chunk may continue past it, so the next chunk starts there (a chunk that is one cluster doubles).
 */
function graphemes(s: string, limit: number): number {
  let n = 0;
  let start = 0;
  let size = SEGMENT_CHUNK;
  while (start < s.length && n <= limit) {
    let end = Math.min(s.length, start + size);
    // Never between the halves of a surrogate pair: a half alone would make a boundary of its own.
    if (end < s.length && isHighSurrogate(s.charCodeAt(end - 1))) end++;
    let count = 0;
    let lastIndex = 0;
    for (const seg of segmenter.segment(s.slice(start, end))) {
      count++;
      lastIndex = seg.index;
      if (end === s.length && n + count > limit) break;
    }
    if (end === s.length) return n + count;
    if (lastIndex === 0) size *= 2;
    else {
      n += count - 1;
      start += lastIndex;
      size = SEGMENT_CHUNK;
    }
  }
  return n;
}

/**
 * StatusLengthValidator: grapheme clusters, URLs as 23, remote mentions as their local part. Counting
 * stops once it passes `limit`, so a megabyte of text costs no more than its first tokens.
 */
export function countableLength(text: string, limit = Number.POSITIVE_INFINITY): number {
  let n = 0;
  for (const t of tokens(text)) {
    if (t.kind === 'url') n += URL_PLACEHOLDER_CHARS;
    else if (t.kind === 'mention') n += 1 + (t.name?.length ?? 0);
    else n += graphemes(t.raw, limit - n);
    if (n > limit) return n;
  }
  return n;
}

/** Whether the text is over MAX_CHARS as Mastodon counts (stops counting at the first character over). */
export const exceedsMaxChars = (text: string) => countableLength(text, MAX_CHARS) > MAX_CHARS;

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface MentionTarget {
  username: string;
  /** null for local accounts. */
  domain: string | null;
  url: string;
}

/**
 * Plain text → Mastodon-style HTML. `mentions` are the accounts actually
 * mentioned (rows of the mentions table); other @words stay text.
 */
export function renderContent(
  text: string,
  mentions: MentionTarget[],
  baseUrl: string,
  localDomain: string,
): string {
  if (text === '') return '';
  const find = (name: string, domain?: string) => {
    const local = domain === undefined || domain.toLowerCase() === localDomain.toLowerCase();
    return mentions.find(
      (m) =>
        m.username.toLowerCase() === name.toLowerCase() &&
        (local ? m.domain === null : (m.domain ?? '').toLowerCase() === domain!.toLowerCase()),
    );
  };
  const html = tokenize(text)
    .map((t) => {
      switch (t.kind) {
        case 'url': {
          const href = escapeHtml(t.raw);
          let prefixEnd = schemeEnd(t.raw, 0);
          if (t.raw.startsWith('www.', prefixEnd)) prefixEnd += 4;
          const prefix = escapeHtml(t.raw.slice(0, prefixEnd));
          const rest = escapeHtml(t.raw.slice(prefixEnd));
          return `<a href="${href}" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">${prefix}</span><span class="">${rest}</span><span class="invisible"></span></a>`;
        }
        case 'mention': {
          const target = find(t.name!, t.domain);
          if (!target) return escapeHtml(t.raw);
          return `<span class="h-card" translate="no"><a href="${escapeHtml(target.url)}" class="u-url mention">@<span>${escapeHtml(target.username)}</span></a></span>`;
        }
        case 'tag':
          return `<a href="${escapeHtml(`${baseUrl}/tags/${encodeURIComponent(t.name!.toLowerCase())}`)}" class="mention hashtag" rel="tag">#<span>${escapeHtml(t.name!)}</span></a>`;
        default:
          return escapeHtml(t.raw);
      }
    })
    .join('');
  return html
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => `<p>${p.replace(/\n/g, '<br />')}</p>`)
    .join('');
}
