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

// `@user` or `@user@domain` (the testbed's own domain may carry a :port).
const MENTION_SRC = String.raw`(?<![\/\w@])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@((?:[a-z0-9-]+\.)*[a-z0-9-]+(?::\d+)?))?`;
const URL_SRC = String.raw`https?:\/\/[^\s<>"']+`;
const HASHTAG_SRC = String.raw`(?<![\/\)\w#])#([\p{L}\p{N}_]*[\p{L}_][\p{L}\p{N}_]*)`;
const TOKEN_RE = new RegExp(`(?<url>${URL_SRC})|(?<mention>${MENTION_SRC})|(?<tag>${HASHTAG_SRC})`, 'giu');

export interface Token {
  kind: 'text' | 'url' | 'mention' | 'tag';
  raw: string;
  /** mention: username; tag: name. */
  name?: string;
  /** mention: domain as written (undefined for a bare @user). */
  domain?: string;
}

function trimUrl(url: string): string {
  return url.replace(/[.,;:!?'")\]]+$/, '');
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN_RE)) {
    let raw = m[0];
    const g = m.groups ?? {};
    let tok: Token;
    if (g.url) {
      raw = trimUrl(raw);
      tok = { kind: 'url', raw };
    } else if (g.mention) {
      const mm = new RegExp(`^${MENTION_SRC}$`, 'iu').exec(raw);
      tok = { kind: 'mention', raw, name: mm?.[1], domain: mm?.[2] };
    } else {
      tok = { kind: 'tag', raw, name: raw.slice(1) };
    }
    if (m.index! > last) out.push({ kind: 'text', raw: text.slice(last, m.index) });
    out.push(tok);
    last = m.index! + raw.length;
  }
  if (last < text.length) out.push({ kind: 'text', raw: text.slice(last) });
  return out;
}

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

export const hasLinks = (text: string) => tokenize(text).some((t) => t.kind === 'url');

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** StatusLengthValidator: grapheme clusters, URLs as 23, remote mentions as their local part. */
export function countableLength(text: string): number {
  let n = 0;
  for (const t of tokenize(text)) {
    if (t.kind === 'url') n += URL_PLACEHOLDER_CHARS;
    else if (t.kind === 'mention') n += 1 + (t.name?.length ?? 0);
    else for (const _ of segmenter.segment(t.raw)) n++;
  }
  return n;
}

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
          const m = /^(https?:\/\/(?:www\.)?)(.*)$/.exec(t.raw)!;
          return `<a href="${href}" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">${escapeHtml(m[1]!)}</span><span class="">${escapeHtml(m[2]!)}</span><span class="invisible"></span></a>`;
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
