import type { FastifyReply, FastifyRequest } from 'fastify';
import { isBigintId } from '../db/pool.js';

/**
 * An error the client API answers with `{"error": message}` and `status`, as
 * Mastodon's Api::BaseController rescue_from handlers do.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Response headers that go with the error (e.g. X-RateLimit-* on a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Mastodon's messages for the usual cases (Api::BaseController, Doorkeeper, Rack::Attack). */
export const notFound = () => new ApiError(404, 'Record not found');
export const invalidToken = () => new ApiError(401, 'The access token is invalid');
export const outsideScopes = () => new ApiError(403, 'This action is outside the authorized scopes');
export const notAllowed = () => new ApiError(403, 'This action is not allowed');
export const tooManyRequests = (headers: Record<string, string> = {}) =>
  new ApiError(429, 'Too many requests', headers);
export const validationFailed = (what: string) => new ApiError(422, `Validation failed: ${what}`);
export const raceCondition = () =>
  new ApiError(503, 'There was a temporary problem serving your request, please try again');
/** Rails' ActionDispatch::Http::Parameters::ParseError (malformed JSON or multipart, bytes that are not UTF-8). */
export const unparsable = () => new ApiError(400, 'Error occurred while parsing request parameters');
/** Rails' check_param_encoding (ActionController::BadRequest). */
export const badEncoding = () =>
  new ApiError(400, 'Invalid request parameters: Invalid encoding for parameter');
export const parameterMissing = (name: string) =>
  new ApiError(400, `param is missing or the value is empty: ${name}`);

/** Ids are Mastodon-style bigints: only decimal digits within bigint's range are ids; anything else finds nothing. */
export const isId = isBigintId;

/** Route `:id` → a bigint id string, or 404 as ActiveRecord's find would. */
export function idParam(request: FastifyRequest, name = 'id'): string {
  const v = (request.params as Record<string, unknown>)[name];
  if (!isId(v)) throw notFound();
  return v;
}

/** Request parameters the way Rails merges them: query string, then body. */
export function params(request: FastifyRequest): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const body =
    request.body && typeof request.body === 'object' && !Buffer.isBuffer(request.body)
      ? (request.body as Record<string, unknown>)
      : {};
  return { ...normalizeRailsKeys(query), ...normalizeRailsKeys(body) };
}

/** `a[]=1&a[]=2` → `{a: ['1','2']}`; `a[b]=1` → `{a: {b: '1'}}` (Rack's nested params). */
export function normalizeRailsKeys(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input)) {
    if (rawKey === '__proto__' || rawKey === 'constructor' || rawKey === 'prototype') continue;
    const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(rawKey);
    if (!m) {
      out[rawKey] = value;
      continue;
    }
    const path = [...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!);
    let cursor: Record<string, unknown> = out;
    let key = m[1]!;
    for (const segment of path) {
      if (segment === '') {
        const arr = Array.isArray(cursor[key]) ? (cursor[key] as unknown[]) : [];
        arr.push(...(Array.isArray(value) ? value : [value]));
        cursor[key] = arr;
        key = '';
        break;
      }
      if (segment === '__proto__' || segment === 'constructor' || segment === 'prototype') break;
      const next = cursor[key];
      const obj =
        next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
      cursor[key] = obj;
      cursor = obj;
      key = segment;
    }
    if (key !== '') cursor[key] = value;
  }
  return out;
}

/**
 * Parse an application/x-www-form-urlencoded body into Rails-style nested params; undefined when a
 * %-escape is malformed or does not decode to UTF-8 (URLSearchParams would put U+FFFD in silently).
 */
export function parseFormBody(body: string): Record<string, unknown> | undefined {
  const flat: Record<string, unknown> = {};
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = decodeFormComponent(eq < 0 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) return undefined;
    const prev = flat[k];
    if (prev === undefined) flat[k] = k.endsWith('[]') ? [v] : v;
    else flat[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return normalizeRailsKeys(flat);
}

function decodeFormComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

export const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/** Rails' boolean casting: 'true', '1', 't', 'on' and true are true. */
export function bool(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  return ['1', 'true', 't', 'on', 'yes', 'TRUE', 'True'].includes(String(v));
}

export function strArray(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => str(x)).filter((x): x is string => x !== undefined);
}

/** Api::BaseController#limit_param: the default, or the asked limit capped at twice the default. */
export function limitParam(v: unknown, defaultLimit: number): number {
  const s = str(v);
  if (s === undefined || s === '') return defaultLimit;
  const n = Math.abs(Number.parseInt(s, 10));
  if (!Number.isFinite(n)) return defaultLimit;
  return Math.min(n, defaultLimit * 2);
}

/** The base URL the client used (Rails' url helpers take the request host). */
export function requestBase(request: FastifyRequest, fallback: string): string {
  const host = request.headers.host;
  return host ? `${request.protocol}://${host}` : fallback;
}

/**
 * Api::BaseController#set_pagination_headers for a page of ids, newest first:
 * `<url>; rel="next", <url>; rel="prev"`. `keep` is the subset of request
 * params Mastodon carries over (e.g. limit, local).
 */
export function setPaginationHeaders(
  reply: FastifyReply,
  base: string,
  path: string,
  keep: Record<string, string | undefined>,
  pageIds: readonly string[],
  limit: number,
): void {
  const link = (core: Record<string, string>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(keep)) if (v !== undefined) q.set(k, v);
    for (const [k, v] of Object.entries(core)) q.set(k, v);
    return `<${base}${path}?${q.toString()}>`;
  };
  const links: string[] = [];
  // next: older than the last, only after a full page; prev: newer than the first
  if (pageIds.length > 0 && pageIds.length === limit)
    links.push(`${link({ max_id: pageIds[pageIds.length - 1]! })}; rel="next"`);
  if (pageIds.length > 0) links.push(`${link({ min_id: pageIds[0]! })}; rel="prev"`);
  if (links.length > 0) reply.header('Link', links.join(', '));
}

/** Rails' number_to_human_size (base 1024, three significant digits). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'Byte' : 'Bytes'}`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 'Bytes';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${unit}`;
}
