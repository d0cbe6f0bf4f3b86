/**
 * Client API workloads shared by the single-purpose scenarios and
 * mixed.ts: timeline reads with Link-header pagination, posting,
 * favourites and boosts, image upload with processing polls, and holding a
 * streaming connection. Each function is one bounded iteration.
 */
import { b64decode } from 'k6/encoding';
import exec from 'k6/execution';
import { WebSocket } from 'k6/websockets';
import { api, header, jsonBody, mediaProcessing, streamingEvents } from './client.ts';
import { effects } from './effects.ts';
import { postAt, renderText, type CorpusPost } from './content.ts';
import {
  baseUrl,
  loadCorpus,
  loadImages,
  loadRates,
  loadTokens,
  numberEnv,
  type TokenEntry,
  type UploadImages,
} from './env.ts';
import { imageIndex } from './images.ts';
import type { ProfileRates } from './rates.ts';
import {
  createStatus,
  favourite,
  homeTimeline,
  nextMaxId,
  notifications,
  publicTimeline,
  reblog,
  showMedia,
  statusContext,
  streamingUrl,
  STREAMING_TAGS,
  uploadMedia,
  type ApiRequest,
} from './requests.ts';

export interface ClientContext {
  base: string;
  tokens: TokenEntry[];
  corpus: CorpusPost[];
  rates: ProfileRates;
}

/** The client scenarios' inputs from __ENV (BASE_URL, TOKENS, CORPUS, PROFILE), read in the init context. */
export function clientContext(): ClientContext {
  return { base: baseUrl(), tokens: loadTokens(), corpus: loadCorpus(), rates: loadRates() };
}

export interface ReadOptions {
  /** Probability that a reader scrolls on to the next page (default 0.5). */
  scroll: number;
  /** At most this many pages per scroll (default 3). */
  pages: number;
  /** Share of home reads that open a thread (GET /api/v1/statuses/:id/context). */
  threadShare: number;
  /**
   * Page size (`limit`); undefined: the server's default (20 statuses, 40 notifications), as most clients.
   */
  limit?: number;
}
export const DEFAULT_READ: ReadOptions = { scroll: 0.5, pages: 3, threadShare: 0.1 };

const tokenFor = (ctx: ClientContext, n: number) =>
  ctx.tokens[((n % ctx.tokens.length) + ctx.tokens.length) % ctx.tokens.length]!;

/** Per VU, per token and timeline: where the reader stopped scrolling. */
const cursors = new Map<string, { maxId: string; page: number }>();

async function readPage(
  ctx: ClientContext,
  kind: string,
  build: (maxId?: string) => ApiRequest,
  t: TokenEntry,
  o: ReadOptions,
): Promise<string[]> {
  const key = `${kind}:${t.accountId}`;
  const cursor = cursors.get(key);
  const res = await api(ctx.base, build(cursor?.maxId), t.token, [200, 206]);
  const body = jsonBody<{ id?: string }[]>(res);
  if (Array.isArray(body) && body.length) effects.add(body.length, { effect: 'timeline_statuses' });
  const next = nextMaxId(header(res, 'Link'));
  const page = (cursor?.page ?? 0) + 1;
  if (next && page < o.pages && Math.random() < o.scroll) cursors.set(key, { maxId: next, page });
  else cursors.delete(key);
  return Array.isArray(body) ? body.map((s) => String(s.id ?? '')).filter(Boolean) : [];
}

/** One home timeline page (continuing a scroll when one is open); sometimes opens a thread. */
export async function readHome(ctx: ClientContext, o: ReadOptions = DEFAULT_READ): Promise<void> {
  const t = tokenFor(ctx, exec.scenario.iterationInTest);
  const ids = await readPage(ctx, 'home', (maxId) => homeTimeline({ maxId, limit: o.limit }), t, o);
  if (ids.length && Math.random() < o.threadShare)
    await api(ctx.base, statusContext(ids[Math.floor(Math.random() * ids.length)]!), t.token);
}

/** One public timeline page: local, federated and remote-only (the web UI's tabs) in turn. */
export async function readPublic(ctx: ClientContext, o: ReadOptions = DEFAULT_READ): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const which = n % 3 === 0 ? 'local' : n % 3 === 1 ? 'federated' : 'remote';
  await readPage(
    ctx,
    `public-${which}`,
    (maxId) =>
      publicTimeline({ local: which === 'local', remote: which === 'remote', maxId, limit: o.limit }),
    tokenFor(ctx, n),
    o,
  );
}

/** One notifications page. */
export async function readNotifications(ctx: ClientContext, o: ReadOptions = DEFAULT_READ): Promise<void> {
  const n = exec.scenario.iterationInTest;
  await readPage(
    ctx,
    'notifications',
    (maxId) => notifications({ maxId, limit: o.limit }),
    tokenFor(ctx, n),
    o,
  );
}

/** setup(): a few statuses (every third a reply) so timelines of a fresh instance are not empty. */
export async function seedTimelines(ctx: ClientContext, count: number): Promise<number> {
  let posted = 0;
  let parent: string | undefined;
  for (let i = 0; i < Math.min(count, ctx.tokens.length * 3); i++) {
    const t = tokenFor(ctx, i);
    const req = createStatus({
      status: renderText(postAt(ctx.corpus, i), [], []),
      inReplyToId: i % 3 === 2 ? parent : undefined,
    });
    const res = await api(ctx.base, req, t.token);
    const s = jsonBody<{ id?: string }>(res);
    if (res.status === 200 && s?.id) {
      posted++;
      if (i % 3 === 0) parent = s.id;
    }
  }
  return posted;
}

/**
 * One status by poster `n mod posters` (the first `posters` tokens):
 * corpus text, a mention of another local account (`@user@domain`) where the
 * text has one, a link (fleet page or none) with the profile's local link share.
 */
export async function postStatus(
  ctx: ClientContext,
  runId: string,
  posters: number,
  links: readonly string[],
  domain: string,
): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const poster = tokenFor(ctx, n % Math.max(1, Math.min(posters, ctx.tokens.length)));
  let p = postAt(ctx.corpus, n * 11 + exec.vu.idInTest);
  if (!p.text.includes('{link}') && links.length && Math.random() < ctx.rates.mix.localLinkFraction)
    p = { ...p, text: `${p.text} {link}` };
  const other = tokenFor(ctx, n + 1);
  const others = other.username !== poster.username ? [`${other.username}@${domain}`] : [];
  const text = renderText(p, others, links.length ? [links[n % links.length]!] : []);
  await api(
    ctx.base,
    createStatus({ status: text, idempotencyKey: `${runId}-${exec.vu.idInTest}-${n}` }),
    poster.token,
  );
}

/** A favourite (5 in 6) or a boost (1 in 6) of one of `statusIds`. */
export async function interact(ctx: ClientContext, statusIds: readonly string[]): Promise<void> {
  if (statusIds.length === 0) return;
  const n = exec.scenario.iterationInTest;
  const who = tokenFor(ctx, n * 7 + 3);
  const id = statusIds[n % statusIds.length]!;
  await api(ctx.base, n % 6 === 5 ? reblog(id) : favourite(id), who.token);
}

export interface MediaOptions {
  images: UploadImages;
  polls: number;
  pollIntervalSec: number;
}

/** IMAGES (opened here, in the init context), POLLS (default 10), POLL_INTERVAL (seconds, default 1). */
export function mediaOptions(): MediaOptions {
  return {
    images: loadImages(),
    polls: Math.max(1, Math.floor(numberEnv('POLLS', 10))),
    pollIntervalSec: numberEnv('POLL_INTERVAL', 1),
  };
}

const wait = (sec: number) => new Promise<void>((resolve) => setTimeout(() => resolve(), sec * 1000));

/** Upload one of the images; poll while 202/206 (bounded); true with the id when it is processed. */
export async function uploadImage(
  ctx: ClientContext,
  t: TokenEntry,
  n: number,
  o: MediaOptions,
): Promise<{ mediaId?: string; ready: boolean }> {
  const i = imageIndex(o.images.shares, n);
  const image = o.images.files[i]!;
  const file = { data: b64decode(o.images.base64[i]!), filename: image.name, contentType: image.contentType };
  const started = Date.now();
  const res = await api(ctx.base, uploadMedia(file, `Test image ${n}`), t.token, [200, 202]);
  const media = jsonBody<{ id?: string; url?: string | null }>(res);
  if (!media?.id || (res.status !== 200 && res.status !== 202)) return { ready: false };
  if (res.status === 200 && media.url) {
    mediaProcessing.add((Date.now() - started) / 1000);
    effects.add(1, { effect: 'media_processed' });
    return { mediaId: media.id, ready: true };
  }
  for (let i = 0; i < o.polls; i++) {
    await wait(o.pollIntervalSec);
    const poll = await api(ctx.base, showMedia(media.id), t.token, [200, 206]);
    if (poll.status === 200) {
      mediaProcessing.add((Date.now() - started) / 1000);
      effects.add(1, { effect: 'media_processed' });
      return { mediaId: media.id, ready: true };
    }
    if (poll.status !== 206) return { mediaId: media.id, ready: false };
  }
  return { mediaId: media.id, ready: false };
}

/** Upload an image, then post a status with it. */
export async function uploadAndPost(ctx: ClientContext, o: MediaOptions): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const t = tokenFor(ctx, n);
  const up = await uploadImage(ctx, t, n, o);
  if (!up.mediaId || !up.ready) return;
  const text = renderText(postAt(ctx.corpus, n), [], []);
  const res = await api(
    ctx.base,
    createStatus({
      status: text,
      mediaIds: [up.mediaId],
      idempotencyKey: `media-${exec.vu.idInTest}-${n}-${up.mediaId}`,
    }),
    t.token,
  );
  const status = jsonBody<{ media_attachments?: unknown[] }>(res);
  if (res.status === 200 && status?.media_attachments?.length) effects.add(1, { effect: 'media_posted' });
}

/**
 * Hold a user-stream WebSocket for `holdSec`, counting events by type in
 * `streaming_events`; resolves when it closes (the timer bounds it). The
 * token goes in the Authorization header, never in the URL.
 */
export function holdUserStream(
  ctx: Pick<ClientContext, 'base'>,
  token: string,
  holdSec: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const ws = new WebSocket(streamingUrl(ctx.base, 'user'), null, {
      headers: { Authorization: `Bearer ${token}` },
      tags: { ...STREAMING_TAGS },
    });
    let settled = false;
    const timer = setTimeout(() => ws.close(), holdSec * 1000);
    const done = () => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    ws.addEventListener('message', (e) => {
      let msg: { event?: unknown } | undefined;
      try {
        msg = JSON.parse(String((e as { data?: unknown } | undefined)?.data)) as { event?: unknown };
      } catch {
        return;
      }
      if (msg && typeof msg.event === 'string') {
        streamingEvents.add(1, { event: msg.event, station: 'streaming' });
        effects.add(1, { effect: 'streaming_events' });
      }
    });
    ws.addEventListener('error', done);
    ws.addEventListener('close', done);
  });
}

/** A status mentioning (`@user@domain`) one or two of the first `listeners` accounts, by another account. */
export async function postMentions(ctx: ClientContext, listeners: number, domain: string): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const T = ctx.tokens.length;
  const poster = T > listeners ? tokenFor(ctx, listeners + (n % (T - listeners))) : tokenFor(ctx, n + 1);
  const mentioned = [tokenFor(ctx, n % listeners).username];
  if (n % 2 === 1 && listeners > 1) mentioned.push(tokenFor(ctx, (n + 1) % listeners).username);
  const text = `${mentioned.map((u) => `@${u}@${domain}`).join(' ')} ${renderText(postAt(ctx.corpus, n), [], [])}`;
  await api(ctx.base, createStatus({ status: text }), poster.token);
}
