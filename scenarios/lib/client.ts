/**
 * Sending: the Mastodon client API with `Authorization: Bearer`, and signed
 * ActivityPub deliveries, through http.asyncRequest. Every request carries
 * the tags of requests.ts (station, endpoint, name, and for federation
 * activity and population).
 *
 * How 429 is handled. A 429 is Rack::Attack (or a model-level limit) saying
 * "this token/user/IP sent too much", not "the instance is out of
 * capacity". So:
 * - it is counted in the Counter `rate_limited` (tagged with the request's
 *   tags plus `rate_limited: "true"`), and its check is not evaluated;
 * - it is NOT added to the Rate `capacity_errors`, which is the share of
 *   non-429 responses that were 5xx or no response at all (timeouts,
 *   refused connections): the capacity thresholds use it.
 * k6's built-in `http_req_failed` counts a 429 as failed (anything outside
 * 200–399 is) and tags cannot be added to it after the response; the
 * scenarios therefore set no threshold on http_req_failed. A custom Rate is
 * used instead of `responseCallback: http.expectedStatuses(...)` because the
 * local executor does not implement responseCallback, and because
 * expectedStatuses would hide 429s rather than count them.
 */
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Activity } from './activitypub.ts';
import { requestUrl, type ApiRequest, type FilePart, type RequestTags } from './requests.ts';
import { signRequest, type SigningKey } from './signatures.ts';

/** 429 answers, by station/endpoint/name (rate limiting, not capacity). */
export const rateLimited = new Counter('rate_limited');
/** Share of non-429 responses that were 5xx or failed to arrive. */
export const capacityErrors = new Rate('capacity_errors');
/** 4xx other than 429: usually a script or data problem (expired token, unknown id). */
export const clientErrors = new Counter('client_errors');
/** Share of non-429 responses that were a 4xx the request did not expect (thresholds: effects.ts). */
export const unexpected4xx = new Rate('unexpected_4xx');
/** Seconds from upload to GET /api/v1/media/:id answering 200. */
export const mediaProcessing = new Trend('media_processing_seconds');
/** Streaming events received, tagged with event (update, notification, delete…). */
export const streamingEvents = new Counter('streaming_events');

export type Response = Awaited<ReturnType<typeof http.asyncRequest>>;

const REQUEST_TIMEOUT = '60s';

/** Header value by case-insensitive name (k6 canonicalises names, Node lower-cases them). */
export function header(res: Response, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(res.headers ?? {})) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function stringTags(tags: RequestTags, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...tags, ...extra })) if (v !== undefined) out[k] = String(v);
  return out;
}

export type Outcome = 'ok' | 'rate_limited' | 'capacity_error' | 'client_error';

/** Classify a response and record rate_limited / capacity_errors / client_errors and a check. */
export function record(res: Response, tags: Record<string, string>, expected: readonly number[]): Outcome {
  if (res.status === 429) {
    rateLimited.add(1, { ...tags, rate_limited: 'true' });
    return 'rate_limited';
  }
  const failed = res.status === 0 || res.status >= 500;
  capacityErrors.add(failed, tags);
  const ok = expected.includes(res.status);
  unexpected4xx.add(!ok && res.status >= 400 && res.status < 500, tags);
  check(res, { [`${tags.station ?? 'request'} answered ${expected.join('/')}`]: () => ok }, tags);
  if (failed) return 'capacity_error';
  if (!ok && res.status >= 400) {
    clientErrors.add(1, { ...tags, status: String(res.status) });
    return 'client_error';
  }
  return 'ok';
}

/** A multipart body as k6 builds it (and sets its Content-Type with the boundary): files as http.file. */
function formData(fields: Record<string, string | FilePart>): Record<string, string | http.FileData> {
  const out: Record<string, string | http.FileData> = {};
  for (const [name, v] of Object.entries(fields))
    out[name] = typeof v === 'string' ? v : http.file(v.data, v.filename, v.contentType);
  return out;
}

/** A client API request with the account's token; `expected` statuses count as success. */
export async function api(
  baseUrl: string,
  req: ApiRequest,
  token: string,
  expected: readonly number[] = [200],
  extraTags: Record<string, string> = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    Accept: 'application/json',
    ...(req.headers ?? {}),
  };
  let body: string | Record<string, string | http.FileData> | null = null;
  if (req.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.multipart) body = formData(req.multipart);
  const tags = stringTags(req.tags, extraTags);
  const res = await http.asyncRequest(req.method, requestUrl(baseUrl, req), body, {
    headers,
    tags,
    timeout: REQUEST_TIMEOUT,
    responseType: 'text',
  });
  record(res, tags, expected);
  return res;
}

/** Parse a JSON response body, undefined when it is not JSON. */
export function jsonBody<T>(res: Response): T | undefined {
  if (typeof res.body !== 'string' || res.body === '') return undefined;
  try {
    return JSON.parse(res.body) as T;
  } catch {
    return undefined;
  }
}

export interface DeliveryTags {
  /** inbox or inbox-cold-actor */
  station: 'inbox' | 'inbox-cold-actor';
  activity: string;
  population: 'warm' | 'cold';
  /** /inbox or /users/{username}/inbox */
  name: string;
}

/**
 * POST a signed activity to an inbox. Mastodon answers 202 (accepted and
 * queued); 401 means the signature or key fetch failed (counted as a client
 * error: with a working fleet it is a setup problem, not capacity).
 */
export async function deliver(
  inboxUrl: string,
  activity: Activity,
  key: SigningKey,
  t: DeliveryTags,
  extraTags: Record<string, string> = {},
): Promise<Response> {
  const body = JSON.stringify(activity);
  const signed = await signRequest({
    key,
    method: 'POST',
    url: inboxUrl,
    body,
    headers: { 'Content-Type': 'application/activity+json' },
  });
  const tags = stringTags(
    {
      station: t.station,
      endpoint: 'activitypub/inboxes#create',
      name: t.name,
      activity: t.activity,
      population: t.population,
    },
    extraTags,
  );
  const res = await http.asyncRequest('POST', inboxUrl, body, {
    headers: { ...signed.headers, Accept: 'application/activity+json' },
    tags,
    timeout: REQUEST_TIMEOUT,
    responseType: 'text',
  });
  record(res, tags, [200, 202]);
  return res;
}
