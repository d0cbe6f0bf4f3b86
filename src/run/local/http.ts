/**
 * k6/http for the local executor: `http.asyncRequest` (and its `Response`)
 * over node:http with a keep-alive connection pool per VU, as each k6 VU has
 * its own transport. Timings follow k6's definitions
 * (https://grafana.com/docs/k6/latest/javascript-api/k6-http/response/):
 * blocked (waiting for a connection), connecting (TCP), tls_handshaking,
 * sending, waiting (time to first byte), receiving; duration = sending +
 * waiting + receiving. Each request (and each redirect hop) emits the
 * http_req_* metrics with k6's default system tags.
 */
import { parseDurationMs } from '../duration.js';
import { toBytes } from './bytes.js';
import { ExpectedStatuses } from './expectedStatuses.js';
import type { Tags } from './metrics.js';
import { withoutCredentials } from '../../shared/urlSecrets.js';
import { type Timings, zeroTimings } from './timings.js';
import { type RawResult, blockedResult, sendOnce } from './transport.js';
import type { VuApi } from './vuApi.js';

/** Go's http.CanonicalHeaderKey: "content-type" → "Content-Type". */
export function canonicalHeader(name: string): string {
  return name
    .split('-')
    .map((p) => (p ? p[0]!.toUpperCase() + p.slice(1).toLowerCase() : p))
    .join('-');
}

/** `http.file(data, filename, contentType)` for multipart bodies. */
export class FileData {
  constructor(
    readonly data: Buffer,
    readonly filename: string,
    readonly content_type: string,
  ) {}
}

/** `http.url\`...\``: a URL whose `name` tag is the template with placeholders. */
export class HttpUrl {
  constructor(
    readonly url: string,
    readonly name: string,
  ) {}
  toString(): string {
    return this.url;
  }
}

const PARAMS = new Set(['headers', 'tags', 'timeout', 'redirects', 'responseType', 'responseCallback']);
const UNSUPPORTED_PARAMS = new Set(['auth', 'cookies', 'jar', 'compression']);

interface Prepared {
  method: string;
  url: URL;
  /** The `name` tag the script set (params.tags.name or http.url`…`), or null: each hop's URL. */
  nameTag: string | null;
  headers: Record<string, string>;
  body: Buffer | null;
  tags: Tags;
  timeoutMs: number;
  redirects: number;
  responseType: 'text' | 'binary' | 'none';
  expected: ExpectedStatuses | null;
}

/** gjson-style selector subset for Response.json(): dotted keys, array indices, `#` for a length. */
function select(value: unknown, selector: string): unknown {
  if (/[*?|@#!=<>%]/.test(selector.replace(/(^|\.)#$/, ''))) {
    throw new Error(
      `Response.json("${selector}"): the local executor supports dotted paths, array indices and a trailing "#" only`,
    );
  }
  const parts = selector.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
  let cur: unknown = value;
  for (const part of parts) {
    if (cur === null || cur === undefined) return undefined;
    if (part === '#') return Array.isArray(cur) ? cur.length : undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export class Response {
  status = 0;
  status_text = '';
  proto = '';
  body: string | ArrayBuffer | null = null;
  headers: Record<string, string> = {};
  cookies: Record<string, never[]> = {};
  error = '';
  error_code = 0;
  remote_ip = '';
  remote_port = 0;
  tls_version = '';
  tls_cipher_suite = '';
  ocsp = { produced_at: 0, this_update: 0, next_update: 0, revocation_reason: '', revoked_at: 0, status: '' };
  timings: Timings = zeroTimings();
  request: {
    method: string;
    url: string;
    headers: Record<string, string[]>;
    body: string;
    cookies: Record<string, never[]>;
  };
  url: string;
  #parsed: unknown = undefined;
  #hasParsed = false;

  constructor(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: Buffer | null,
    private readonly jsonParse: (text: string) => unknown,
  ) {
    this.url = url;
    const reqHeaders: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(headers)) reqHeaders[canonicalHeader(k)] = [v];
    this.request = { method, url, headers: reqHeaders, body: body ? body.toString('utf8') : '', cookies: {} };
  }

  json(selector?: string): unknown {
    if (!this.#hasParsed) {
      if (typeof this.body !== 'string')
        throw new Error(
          'Response.json(): the body is not text (responseType is "binary" or "none", or the request failed)',
        );
      this.#parsed = this.jsonParse(this.body);
      this.#hasParsed = true;
    }
    return selector === undefined ? this.#parsed : select(this.#parsed, selector);
  }

  html(): never {
    throw new Error(
      'unsupported k6 API: Response.html() is not implemented by the local executor; run this scenario with k6 (--engine k6)',
    );
  }
  clickLink(): never {
    throw new Error(
      'unsupported k6 API: Response.clickLink() is not implemented by the local executor; run this scenario with k6 (--engine k6)',
    );
  }
  submitForm(): never {
    throw new Error(
      'unsupported k6 API: Response.submitForm() is not implemented by the local executor; run this scenario with k6 (--engine k6)',
    );
  }
}

function encodeBody(body: unknown, headers: Record<string, string>): Buffer | null {
  if (body === undefined || body === null) return null;
  if (
    typeof body === 'string' ||
    ArrayBuffer.isView(body) ||
    Object.prototype.toString.call(body) === '[object ArrayBuffer]'
  )
    return toBytes(body, 'request body');
  if (typeof body !== 'object') return Buffer.from(String(body), 'utf8');
  const entries = Object.entries(body as Record<string, unknown>);
  const hasHeader = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (entries.some(([, v]) => v instanceof FileData)) {
    const boundary = `----fedicap${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const parts: Buffer[] = [];
    for (const [k, v] of entries) {
      if (v instanceof FileData) {
        parts.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${v.filename}"\r\nContent-Type: ${v.content_type}\r\n\r\n`,
          ),
        );
        parts.push(v.data, Buffer.from('\r\n'));
      } else {
        parts.push(
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${String(v)}\r\n`),
        );
      }
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    if (!hasHeader('content-type')) headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
    return Buffer.concat(parts);
  }
  if (!hasHeader('content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const form = new URLSearchParams();
  for (const [k, v] of entries) {
    if (Array.isArray(v)) for (const item of v) form.append(k, String(item));
    else form.append(k, String(v));
  }
  return Buffer.from(form.toString(), 'utf8');
}

function prepare(vu: VuApi, method: unknown, rawUrl: unknown, body: unknown, params: unknown): Prepared {
  if (typeof method !== 'string' || method === '')
    throw new Error('http.asyncRequest: the method must be a string like "GET"');
  let urlText: string;
  let nameTag: string | undefined;
  if (rawUrl instanceof HttpUrl) {
    urlText = rawUrl.url;
    nameTag = rawUrl.name;
  } else if (typeof rawUrl === 'string') urlText = rawUrl;
  else throw new Error('http.asyncRequest: the URL must be a string or http.url`...`');
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new Error(`http.asyncRequest: invalid URL "${withoutCredentials(urlText)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`http.asyncRequest: unsupported protocol "${url.protocol}" (http: and https: only)`);
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p !== 'object') throw new Error('http.asyncRequest: params must be an object');
  for (const key of Object.keys(p)) {
    if (UNSUPPORTED_PARAMS.has(key))
      throw new Error(
        `unsupported k6 API: Params.${key} is not implemented by the local executor; run this scenario with k6 (--engine k6)`,
      );
    if (!PARAMS.has(key))
      throw new Error(
        `http.asyncRequest: unknown param "${key}" (the local executor supports ${[...PARAMS].join(', ')})`,
      );
  }
  const headers: Record<string, string> = {};
  if (p.headers !== undefined && p.headers !== null) {
    if (typeof p.headers !== 'object') throw new Error('http.asyncRequest: params.headers must be an object');
    for (const [k, v] of Object.entries(p.headers as Record<string, unknown>))
      if (v !== undefined && v !== null) headers[k] = String(v);
  }
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent'))
    headers['User-Agent'] = vu.engine.userAgent;
  const encoded = encodeBody(body, headers);
  const tags: Tags = {};
  if (p.tags !== undefined && p.tags !== null) {
    if (typeof p.tags !== 'object') throw new Error('http.asyncRequest: params.tags must be an object');
    for (const [k, v] of Object.entries(p.tags as Record<string, unknown>)) tags[k] = String(v);
  }
  if (tags.name !== undefined) nameTag = tags.name;
  const responseType = p.responseType ?? (vu.engine.discardResponseBodies ? 'none' : 'text');
  if (responseType !== 'text' && responseType !== 'binary' && responseType !== 'none')
    throw new Error(
      `http.asyncRequest: responseType must be "text", "binary" or "none", got ${JSON.stringify(responseType)}`,
    );
  let expected = vu.responseCallback;
  if ('responseCallback' in p) {
    if (p.responseCallback === null) expected = null;
    else if (p.responseCallback instanceof ExpectedStatuses) expected = p.responseCallback;
    else
      throw new Error(
        'http.asyncRequest: params.responseCallback must come from http.expectedStatuses() or be null',
      );
  }
  const redirects = p.redirects === undefined ? vu.engine.maxRedirects : Number(p.redirects);
  if (!Number.isInteger(redirects) || redirects < 0)
    throw new Error('http.asyncRequest: params.redirects must be a non-negative integer');
  return {
    method: method.toUpperCase(),
    url,
    nameTag: nameTag ?? null,
    headers,
    body: encoded,
    tags,
    timeoutMs: p.timeout === undefined ? 60_000 : parseDurationMs(p.timeout, 'http params.timeout'),
    redirects,
    responseType,
    expected,
  };
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** Copy one hop's result onto the script's Response. */
function fillResponse(response: Response, raw: RawResult, responseType: Prepared['responseType']): void {
  response.status = raw.status;
  response.status_text = raw.status ? `${raw.status} ${raw.statusText}` : '';
  response.proto = raw.httpVersion ? `HTTP/${raw.httpVersion}` : '';
  response.error = raw.error;
  response.error_code = raw.errorCode || (raw.status >= 400 && raw.status <= 599 ? 1000 + raw.status : 0);
  response.timings = raw.timings;
  response.remote_ip = raw.remoteIp;
  response.remote_port = raw.remotePort;
  response.tls_version = raw.tlsVersion;
  response.tls_cipher_suite = raw.cipher;
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
    const name = canonicalHeader(raw.rawHeaders[i]!);
    const value = raw.rawHeaders[i + 1]!;
    response.headers[name] = name in response.headers ? `${response.headers[name]}, ${value}` : value;
  }
  if (raw.body) {
    response.body = responseType === 'binary' ? new Uint8Array(raw.body).buffer : raw.body.toString('utf8');
  }
}

/** The http_req_* samples of one hop, with k6's system tags. */
function emitHop(
  vu: VuApi,
  hop: { tags: Tags; method: string; url: string; name: string },
  response: Response,
  raw: RawResult,
  expected: ExpectedStatuses | null,
): void {
  const tags: Tags = {
    ...hop.tags,
    method: hop.method,
    url: hop.url,
    name: hop.name,
    status: String(raw.status),
  };
  if (response.proto) tags.proto = response.proto;
  if (raw.tlsVersion) tags.tls_version = raw.tlsVersion;
  if (response.error_code) tags.error_code = String(response.error_code);
  if (raw.error) tags.error = raw.error;
  let failed: boolean | null = null;
  if (expected) {
    failed = !expected.accepts(raw.status);
    tags.expected_response = String(!failed);
  }
  vu.emitHttp(tags, raw.timings, failed, raw.endMs, raw.sent, raw.received);
}

/** Send one hop, or refuse it (error_code 1110) when the host is not one the local executor may load. */
async function sendHop(
  vu: VuApi,
  req: Prepared,
  method: string,
  url: URL,
  body: Buffer | null,
): Promise<RawResult> {
  if (vu.engine.allowHost(url.hostname)) return sendOnce(vu, req, method, url, body);
  const raw = await Promise.resolve(
    blockedResult(
      `the local executor sends load only to loopback hosts; "${url.hostname}" is not one (use --engine k6 for other targets)`,
      1110,
      Date.now(),
    ),
  );
  vu.engine.warnOnce(
    `blocked-${url.hostname}`,
    `request to non-loopback host ${url.hostname} refused (error_code 1110)`,
  );
  return raw;
}

/**
 * One k6 request with its redirects; resolves with the final Response (never rejects for transport errors, as
 * k6).
 */
export async function httpRequest(
  vu: VuApi,
  method: unknown,
  rawUrl: unknown,
  body: unknown,
  params: unknown,
): Promise<Response> {
  const req = prepare(vu, method, rawUrl, body, params);
  let url = req.url;
  let currentMethod = req.method;
  let currentBody = req.body;
  const baseTags = vu.sampleTags(req.tags);
  for (let hop = 0; ; hop++) {
    const urlTag = withoutCredentials(url.toString());
    const response = new Response(currentMethod, urlTag, req.headers, currentBody, vu.jsonParse);
    const raw = await sendHop(vu, req, currentMethod, url, currentBody);
    fillResponse(response, raw, req.responseType);
    // As k6 (≥ 0.41): a name the script set is also the url tag, on every hop, so URLs do not multiply series.
    const name = req.nameTag ?? urlTag;
    emitHop(vu, { tags: baseTags, method: currentMethod, url: name, name }, response, raw, req.expected);

    const location = response.headers.Location;
    if (!REDIRECT.has(raw.status) || location === undefined || raw.error) return response;
    if (hop >= req.redirects) {
      if (req.redirects > 0) response.error = `stopped after ${req.redirects} redirects`;
      return response;
    }
    url = new URL(location, url);
    if (raw.status === 303 || ((raw.status === 301 || raw.status === 302) && currentMethod === 'POST')) {
      currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
      currentBody = null;
    }
  }
}
