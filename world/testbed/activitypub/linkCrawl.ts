/**
 * LinkCrawlWorker (pull, retry 0) → FetchLinkCardService: the first link of
 * a status is fetched (HTML, first 1 MB), its OpenGraph tags make a preview
 * card, the card's image is downloaded and resized, and the card is linked
 * to the status. A card fetched in the last two weeks is reused without a
 * request, so a popular link is crawled once.
 */
import { rmSync } from 'node:fs';
import type { Testbed } from '../context.js';
import type { TestbedJobClass, TestbedWorker } from '../jobClasses.js';
import { MAX_FETCHED_BODY_BYTES } from '../../../src/mastodon/limits.js';
import { absoluteMediaPath, downloadPreviewCardImage } from './media.js';
import { attributePairs, elements, stripTags } from './htmlScan.js';
import { federation } from './state.js';

export const LINK_CRAWL_WORKER = 'LinkCrawlWorker' satisfies TestbedJobClass;
/** A card older than this is crawled again (FetchLinkCardService). */
export const CARD_REFRESH_AFTER_MS = 14 * 86_400_000;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code =
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [name, value] of attributePairs(tag)) attrs[name.toLowerCase()] = decodeEntities(value);
  return attrs;
}

/**
 * The links of a status, in order, that FetchLinkCardService would crawl:
 * for HTML (remote statuses) the <a> elements that are not mentions or
 * hashtags (class mention/hashtag, rel tag, text starting with @ or #); for
 * plain text (local statuses) the bare URLs. http(s) only.
 */
export function statusLinks(text: string, isHtml: boolean): string[] {
  const links: string[] = [];
  if (isHtml) {
    for (const a of elements(text, 'a', '</a>')) {
      const attrs = attributes(a.tag.slice(2, -1));
      const inner = decodeEntities(stripTags(a.inner)).trim();
      const cls = (attrs.class ?? '').split(/\s+/);
      const rel = (attrs.rel ?? '').split(/\s+/);
      if (
        cls.includes('mention') ||
        cls.includes('hashtag') ||
        rel.includes('tag') ||
        inner.startsWith('@') ||
        inner.startsWith('#')
      )
        continue;
      if (attrs.href && /^https?:\/\//i.test(attrs.href)) links.push(attrs.href);
    }
  } else {
    for (const m of text.matchAll(/https?:\/\/[^\s<>"]+/gi)) links.push(m[0]);
  }
  return links;
}

export interface LinkDetails {
  title: string;
  description: string;
  image?: string;
}

/**
 * LinkDetailsExtractor, reduced: og:title/og:description/og:image with <title> and meta description as
 * fallbacks.
 */
export function extractLinkDetails(html: string, pageUrl: string): LinkDetails {
  const meta: Record<string, string> = {};
  for (const m of elements(html, 'meta')) {
    const a = attributes(m.tag);
    const key = (a.property ?? a.name ?? '').toLowerCase();
    if (key && a.content !== undefined && meta[key] === undefined) meta[key] = a.content;
  }
  const title =
    meta['og:title'] ??
    meta['twitter:title'] ??
    decodeEntities(elements(html, 'title', '</title>', false)[0]?.inner ?? '').trim();
  const description = meta['og:description'] ?? meta['twitter:description'] ?? meta.description ?? '';
  const rawImage = meta['og:image'] ?? meta['og:image:url'] ?? meta['twitter:image'];
  let image: string | undefined;
  if (rawImage) {
    try {
      image = new URL(rawImage, pageUrl).href;
    } catch {
      image = undefined;
    }
  }
  return { title: title.slice(0, 255), description: description.slice(0, 255), image };
}

interface CardRow {
  id: string;
  url: string;
  image_path: string | null;
  created_at: Date;
}

/** FetchLinkCardService#call for one status. Returns the card id, or null. */
export async function fetchLinkCard(tb: Testbed, statusId: string): Promise<string | null> {
  const s = await tb.db.query<{ text: string; local: boolean; spoiler_text: string }>(
    'SELECT text, local, spoiler_text FROM statuses WHERE id = $1 AND deleted_at IS NULL',
    [statusId],
  );
  const status = s.rows[0];
  if (!status) return null;
  const url = statusLinks(status.text, !status.local)[0];
  if (!url) return null;
  const linked = await tb.db.query('SELECT 1 FROM preview_cards_statuses WHERE status_id = $1', [statusId]);
  if (linked.rowCount) return null;

  let card = (
    await tb.db.query<CardRow>('SELECT id, url, image_path, created_at FROM preview_cards WHERE url = $1', [
      url,
    ])
  ).rows[0];
  const fresh =
    card &&
    Date.now() - new Date(card.created_at).getTime() < CARD_REFRESH_AFTER_MS &&
    card.image_path !== null;
  if (!fresh) {
    const res = await federation(tb).http.request({
      url,
      headers: { Accept: 'text/html' },
      maxBytes: MAX_FETCHED_BODY_BYTES,
      truncate: true,
    });
    if (res.status !== 200 || res.mimeType !== 'text/html') return card ? card.id : null;
    const details = extractLinkDetails(res.body.toString('utf8'), res.url);
    if (!details.title) return card ? card.id : null;
    card = (
      await tb.db.query<CardRow>(
        `INSERT INTO preview_cards (url, title, description) VALUES ($1, $2, $3)
         ON CONFLICT (url) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description, created_at = now()
         RETURNING id, url, image_path, created_at`,
        [url, details.title, details.description],
      )
    ).rows[0]!;
    if (details.image) {
      const image = await downloadPreviewCardImage(tb, card.id, details.image);
      if (image) {
        const old = card.image_path;
        await tb.db.query('UPDATE preview_cards SET image_path = $2, image_size = $3 WHERE id = $1', [
          card.id,
          image.path,
          image.bytes,
        ]);
        if (old && old !== image.path) rmSync(absoluteMediaPath(tb, old), { force: true });
      }
    }
  }
  if (!card) return null;
  await tb.db.query(
    'INSERT INTO preview_cards_statuses (preview_card_id, status_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [card.id, statusId],
  );
  return card.id;
}

/** LinkCrawlWorker (pull, retry 0): fetch errors are swallowed as FetchLinkCardService does. */
export function linkCrawlWorker(tb: Testbed): TestbedWorker<typeof LINK_CRAWL_WORKER> {
  return {
    queue: 'pull',
    retry: 0,
    perform: async ([statusId]) => {
      try {
        await fetchLinkCard(tb, String(statusId));
      } catch (e) {
        if ((e as Error).name === 'HttpClientError') return;
        throw e;
      }
    },
  };
}
