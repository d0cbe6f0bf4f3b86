/**
 * Post content: a corpus of texts (what `fedicap seed` writes to
 * content.json, or the small built-in one below) with placeholders,
 * rendered as plain text for the client API and as Mastodon-style HTML for
 * ActivityPub Notes.
 *
 * Corpus format: a JSON array of `{ "text": "...", "language": "en" }`.
 * In `text`, `{mention}` becomes a mention of a local account, `{link}` a
 * link (a fleet page: LinkCrawlWorker fetches it), and `#word` is a hashtag.
 */

export interface CorpusPost {
  text: string;
  language?: string;
}

/** A few posts of realistic shapes, used when CONTENT is not given. */
export const BUILTIN_CORPUS: readonly CorpusPost[] = [
  { text: 'Morning! Coffee first, then the backlog.', language: 'en' },
  { text: 'Finally upgraded the home server. Fan noise gone, uptime back to zero. #homelab', language: 'en' },
  {
    text: '{mention} did you see the new release notes? The queue changes look promising. {link}',
    language: 'en',
  },
  {
    text: 'Reading list for the weekend: three papers on queueing theory and one novel I keep postponing. #reading #books',
    language: 'en',
  },
  { text: 'Hot take: most capacity problems are scheduling problems wearing a trench coat.', language: 'en' },
  {
    text: 'Thread 🧵 1/ We moved our media to object storage last month. Costs went down, latency went up a little at the edges, and the CDN cache hit ratio is now the number I check every morning. {link} #mastodon #sysadmin',
    language: 'en',
  },
  { text: '{mention} thanks, that fixed it!', language: 'en' },
  {
    text: 'Photo from this morning’s walk. The fog lifted just in time. #photography #nature',
    language: 'en',
  },
  {
    text: 'Does anyone have a good recipe for sourdough that does not need a 3am alarm? #baking',
    language: 'en',
  },
  {
    text: 'Small PSA: check your backups by restoring them, not by looking at the file sizes.',
    language: 'en',
  },
  {
    text: 'Our instance turns three today. Thank you all for being here, for the kindness and the weird jokes. 🎉 #fediverse',
    language: 'en',
  },
  { text: '{mention} {mention} we should write this down before we forget how it works.', language: 'en' },
  { text: 'Heute im Zug: kein WLAN, aber Aussicht. #bahn', language: 'de' },
  {
    text: 'Les pistes cyclables de ma ville ont enfin été reliées entre elles. Petite victoire. #vélo',
    language: 'fr',
  },
  { text: 'Long read, worth it: {link}', language: 'en' },
  {
    text: 'I keep a text file called "things I learned the hard way". It is now longer than my CV. Today\'s entry: never run migrations on a Friday afternoon, even the small ones, especially the small ones. #devops',
    language: 'en',
  },
  { text: 'ok', language: 'en' },
  { text: 'Bird of the day: a robin that has decided my balcony is its office. #birds', language: 'en' },
  { text: '{mention} congratulations on the launch!', language: 'en' },
  {
    text: 'Notes from the meetup: slides are up, recordings next week. Questions welcome. {link} #meetup',
    language: 'en',
  },
];

/** Validate a parsed corpus document; `where` names the variable and file in messages. */
export function parseCorpus(doc: unknown, where: string): CorpusPost[] {
  if (!Array.isArray(doc) || doc.length === 0)
    throw new Error(`${where}: expected a non-empty JSON array of {"text": "..."} posts`);
  return doc.map((item, i) => {
    if (typeof item === 'string') return { text: item };
    if (!item || typeof item !== 'object' || typeof (item as CorpusPost).text !== 'string') {
      throw new Error(`${where}: item ${i} is not {"text": string}`);
    }
    const p = item as CorpusPost;
    return typeof p.language === 'string' ? { text: p.text, language: p.language } : { text: p.text };
  });
}

/**
 * Characters of a hashtag: ASCII letters, digits, underscore and Latin
 * letters with diacritics. (No \p{L}: k6's regular expressions and the `u`
 * flag are not to be relied on; Mastodon's own HASHTAG_RE is wider.)
 */
const TAG_CHARS = '[A-Za-z0-9_\\u00c0-\\u024f]';

/** Hashtags written in a text (`#word`, letters, digits, underscore), without the #. */
export function hashtagsOf(text: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`(^|[^\\w&/#])#(${TAG_CHARS}*[A-Za-z_\\u00c0-\\u024f]${TAG_CHARS}*)`, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) if (!out.includes(m[2]!)) out.push(m[2]!);
  return out;
}

export interface LocalMention {
  username: string;
  /** Actor URI on the target, as its WebFinger and actor document say (Mastodon: BASE_URL/users/username). */
  uri: string;
  /** Profile URL (the actor's `url`; Mastodon: BASE_URL/@username). */
  url: string;
  /** username@domain */
  acct: string;
}

/**
 * Plain text for POST /api/v1/statuses: mentions as `@` + what is given (`user@domain`: every server resolves
 * it, a bare `@user` only Mastodon), the link as is.
 */
export function renderText(post: CorpusPost, mentions: readonly string[], links: readonly string[]): string {
  let m = 0;
  let l = 0;
  const text = post.text
    .replace(/\{mention\}/g, () => (mentions.length ? `@${mentions[m++ % mentions.length]}` : ''))
    .replace(/\{link\}/g, () => (links.length ? links[l++ % links.length]! : ''))
    .replace(/ {2,}/g, ' ')
    .trim();
  return text || 'ok';
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface RenderedNote {
  html: string;
  hashtags: string[];
  mentions: LocalMention[];
  links: string[];
}

/**
 * Mastodon-style HTML (`<p>`, h-card mentions, `rel="tag"` hashtags,
 * nofollow links) for a Note's `content`. `tagBase` is the author's host,
 * e.g. https://a.fleet.test (hashtag links point there, as remote servers do).
 */
export function renderNoteHtml(
  post: CorpusPost,
  mentions: readonly LocalMention[],
  links: readonly string[],
  tagBase: string,
): RenderedNote {
  const used: LocalMention[] = [];
  const usedLinks: string[] = [];
  let m = 0;
  let l = 0;
  const hashtags = hashtagsOf(post.text);
  const tokens = post.text.split(new RegExp(`(\\{mention\\}|\\{link\\}|#${TAG_CHARS}+)`));
  const html = tokens
    .map((tok) => {
      if (tok === '{mention}') {
        if (mentions.length === 0) return '';
        const who = mentions[m++ % mentions.length]!;
        if (!used.includes(who)) used.push(who);
        return `<span class="h-card" translate="no"><a href="${escapeHtml(who.url)}" class="u-url mention">@<span>${escapeHtml(who.username)}</span></a></span>`;
      }
      if (tok === '{link}') {
        if (links.length === 0) return '';
        const href = links[l++ % links.length]!;
        usedLinks.push(href);
        return `<a href="${escapeHtml(href)}" target="_blank" rel="nofollow noopener noreferrer" translate="no">${escapeHtml(href.replace(/^https?:\/\//, ''))}</a>`;
      }
      if (tok.startsWith('#') && hashtags.includes(tok.slice(1))) {
        const tag = tok.slice(1);
        return `<a href="${escapeHtml(tagBase)}/tags/${encodeURIComponent(tag.toLowerCase())}" class="mention hashtag" rel="tag">#<span>${escapeHtml(tag)}</span></a>`;
      }
      return escapeHtml(tok);
    })
    .join('');
  const paragraphs = html
    .split(/\n{2,}/)
    .map((p) => `<p>${p.trim().replace(/\n/g, '<br />')}</p>`)
    .join('');
  return { html: paragraphs, hashtags, mentions: used, links: usedLinks };
}

/** Deterministic pick: item `n` of the corpus (wraps). */
export function postAt(corpus: ArrayLike<CorpusPost>, n: number): CorpusPost {
  const i = ((Math.floor(n) % corpus.length) + corpus.length) % corpus.length;
  return corpus[i]!;
}
