/**
 * Mastodon client API requests as plain data: method, path, query, body and
 * the tags every request carries. The k6 client (client.ts) sends them; the
 * tests validate them against the API schema (fixtures/mastodon-api).
 *
 * Tags (kept low-cardinality on purpose):
 * - station: the model's endpoint class (src/mastodon/classes.ts
 *   ENDPOINT_CLASSES: timelines/home, timelines/public, notifications,
 *   statuses/create, statuses/interact, media/create, inbox,
 *   inbox-cold-actor) or, for requests the model does not price separately,
 *   a descriptive class (statuses/context, media/show, accounts/show,
 *   streaming);
 * - endpoint: Rails controller#action, as Mastodon's logs and the testbed
 *   name them (api/v1/timelines/home#show);
 * - name: the URL template (/api/v1/statuses/{id}/context), which k6 uses
 *   instead of the full URL to group requests;
 * - activity / population: federation only (Create… / warm, cold).
 */
import { queryString } from './encoding.ts';

/** A file in a multipart body. */
export interface FilePart {
  data: ArrayBuffer;
  filename: string;
  contentType: string;
}

export interface RequestTags {
  station: string;
  endpoint: string;
  name: string;
  activity?: string;
  population?: string;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path without query, e.g. /api/v1/timelines/home. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body (sent as application/json). */
  json?: unknown;
  /** multipart/form-data fields (client.ts sends files with http.file; k6 writes the body and boundary). */
  multipart?: Record<string, string | FilePart>;
  headers?: Record<string, string>;
  tags: RequestTags;
}

/** BASE_URL + path + query. */
export function requestUrl(baseUrl: string, req: Pick<ApiRequest, 'path' | 'query'>): string {
  const q = req.query ? queryString(req.query) : '';
  return `${baseUrl.replace(/\/+$/, '')}${req.path}${q ? `?${q}` : ''}`;
}

const tags = (station: string, endpoint: string, name: string): RequestTags => ({ station, endpoint, name });

export interface PageParams {
  limit?: number;
  maxId?: string;
}

export function verifyCredentials(): ApiRequest {
  return {
    method: 'GET',
    path: '/api/v1/accounts/verify_credentials',
    tags: tags('accounts/show', 'api/v1/accounts/credentials#show', '/api/v1/accounts/verify_credentials'),
  };
}

export function homeTimeline(p: PageParams = {}): ApiRequest {
  return {
    method: 'GET',
    path: '/api/v1/timelines/home',
    query: { limit: p.limit, max_id: p.maxId },
    tags: tags('timelines/home', 'api/v1/timelines/home#show', '/api/v1/timelines/home'),
  };
}

/** Public timeline: federated (default), `local: true` or `remote: true`. */
export function publicTimeline(p: PageParams & { local?: boolean; remote?: boolean } = {}): ApiRequest {
  return {
    method: 'GET',
    path: '/api/v1/timelines/public',
    query: { local: p.local || undefined, remote: p.remote || undefined, limit: p.limit, max_id: p.maxId },
    tags: tags('timelines/public', 'api/v1/timelines/public#show', '/api/v1/timelines/public'),
  };
}

export function notifications(p: PageParams = {}): ApiRequest {
  return {
    method: 'GET',
    path: '/api/v1/notifications',
    query: { limit: p.limit, max_id: p.maxId },
    tags: tags('notifications', 'api/v1/notifications#index', '/api/v1/notifications'),
  };
}

export function statusContext(id: string): ApiRequest {
  return {
    method: 'GET',
    path: `/api/v1/statuses/${encodeURIComponent(id)}/context`,
    tags: tags('statuses/context', 'api/v1/statuses#context', '/api/v1/statuses/{id}/context'),
  };
}

export interface NewStatus {
  status?: string;
  mediaIds?: string[];
  inReplyToId?: string;
  visibility?: 'public' | 'unlisted' | 'private' | 'direct';
  language?: string;
  /** Idempotency-Key: Mastodon answers a retried POST with the first status. */
  idempotencyKey?: string;
}

export function createStatus(s: NewStatus): ApiRequest {
  const json: Record<string, unknown> = {};
  if (s.status !== undefined) json.status = s.status;
  if (s.mediaIds?.length) json.media_ids = s.mediaIds;
  if (s.inReplyToId) json.in_reply_to_id = s.inReplyToId;
  json.visibility = s.visibility ?? 'public';
  if (s.language) json.language = s.language;
  return {
    method: 'POST',
    path: '/api/v1/statuses',
    json,
    headers: s.idempotencyKey ? { 'Idempotency-Key': s.idempotencyKey } : undefined,
    tags: tags('statuses/create', 'api/v1/statuses#create', '/api/v1/statuses'),
  };
}

export function favourite(id: string): ApiRequest {
  return {
    method: 'POST',
    path: `/api/v1/statuses/${encodeURIComponent(id)}/favourite`,
    tags: tags('statuses/interact', 'api/v1/statuses/favourites#create', '/api/v1/statuses/{id}/favourite'),
  };
}

export function reblog(id: string): ApiRequest {
  return {
    method: 'POST',
    path: `/api/v1/statuses/${encodeURIComponent(id)}/reblog`,
    tags: tags('statuses/interact', 'api/v1/statuses/reblogs#create', '/api/v1/statuses/{id}/reblog'),
  };
}

export function followAccount(id: string): ApiRequest {
  return {
    method: 'POST',
    path: `/api/v1/accounts/${encodeURIComponent(id)}/follow`,
    tags: tags('statuses/interact', 'api/v1/accounts#follow', '/api/v1/accounts/{id}/follow'),
  };
}

/** POST /api/v2/media: images are processed in the request (200), video later (202). */
export function uploadMedia(file: FilePart, description?: string): ApiRequest {
  return {
    method: 'POST',
    path: '/api/v2/media',
    multipart: description === undefined ? { file } : { file, description },
    tags: tags('media/create', 'api/v2/media#create', '/api/v2/media'),
  };
}

/** GET /api/v1/media/:id: 206 while processing, 200 when done, 422 when it failed. */
export function showMedia(id: string): ApiRequest {
  return {
    method: 'GET',
    path: `/api/v1/media/${encodeURIComponent(id)}`,
    tags: tags('media/show', 'api/v1/media#show', '/api/v1/media/{id}'),
  };
}

/** The streaming WebSocket URL (token passed separately, never in the URL). */
export function streamingUrl(baseUrl: string, stream = 'user'): string {
  const ws = baseUrl.replace(/\/+$/, '').replace(/^http/i, 'ws');
  return `${ws}/api/v1/streaming?stream=${encodeURIComponent(stream)}`;
}
export const STREAMING_TAGS: RequestTags = tags(
  'streaming',
  'streaming#websocket',
  '/api/v1/streaming?stream={stream}',
);

/**
 * Parse an RFC 8288 Link header as Mastodon sends it for pagination:
 * `<…?max_id=1>; rel="next", <…?min_id=9>; rel="prev"` → { next, prev }.
 */
export function parseLinkHeader(header: string | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(/,\s*(?=<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    const rel = /rel="?([^";]+)"?/.exec(m[2]!);
    if (rel) for (const r of rel[1]!.trim().split(/\s+/)) out[r] = m[1]!;
  }
  return out;
}

/** max_id of the "next" link (older page), as clients scroll down. */
export function nextMaxId(linkHeader: string | undefined | null): string | undefined {
  const next = parseLinkHeader(linkHeader).next;
  if (!next) return undefined;
  const m = /[?&]max_id=([^&#]+)/.exec(next);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
