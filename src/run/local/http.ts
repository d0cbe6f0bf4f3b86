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
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { parseDurationMs } from '../duration.js';
import type { Tags } from './metrics.js';
import type { Vu } from './vu.js';

const SENSITIVE_PARAM = /token|key|secret|pass|auth|sig|code|session/i;

/** A URL for tags and messages: credentials dropped, sensitive query values redacted. */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw;
  }
  u.username = '';
  u.password = '';
  let changed = false;
  for (const key of [...u.searchParams.keys()]) {
    if (SENSITIVE_PARAM.test(key)) {
      u.searchParams.set(key, 'REDACTED');
      changed = true;
    }
  }
  return changed ? u.toString().replace(/REDACTED/g, '[redacted]') : u.toString();
}

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

/** The set of statuses a response callback accepts (http.expectedStatuses). */
export class ExpectedStatuses {
  constructor(readonly ranges: Array<[number, number]>) {}
  accepts(status: number): boolean {
    return this.ranges.some(([lo, hi]) => status >= lo && status <= hi);
  }
}
export const DEFAULT_EXPECTED = new ExpectedStatuses([[200, 399]]);

export function expectedStatuses(...args: unknown[]): ExpectedStatuses {
  const ranges: Array<[number, number]> = [];
  for (const a of args) {
    if (typeof a === 'number' && Number.isInteger(a)) ranges.push([a, a]);
    else if (
      a &&
      typeof a === 'object' &&
      Number.isInteger((a as { min?: unknown }).min) &&
      Number.isInteger((a as { max?: unknown }).max)
    ) {
      ranges.push([(a as { min: number }).min, (a as { max: number }).max]);
    } else
      throw new Error(`http.expectedStatuses: expected status codes or {min, max}, got ${JSON.stringify(a)}`);
  }
  return new ExpectedStatuses(ranges);
}

export function toBytes(data: unknown, what: string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]')
    return Buffer.from(new Uint8Array(data as ArrayBuffer));
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`${what}: expected a string, an ArrayBuffer or a typed array`);
}

export interface Timings {
  blocked: number;
  connecting: number;
  tls_handshaking: number;
  sending: number;
  waiting: number;
  receiving: number;
  duration: number;
}

const PARAMS = new Set(['headers', 'tags', 'timeout', 'redirects', 'responseType', 'responseCallback']);
const UNSUPPORTED_PARAMS = new Set(['auth', 'cookies', 'jar', 'compression']);

interface Prepared {
  method: string;
  url: URL;
  nameTag: string;
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
  timings: Timings = {
    blocked: 0,
    connecting: 0,
    tls_handshaking: 0,
    sending: 0,
    waiting: 0,
    receiving: 0,
    duration: 0,
  };
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

function prepare(vu: Vu, method: unknown, rawUrl: unknown, body: unknown, params: unknown): Prepared {
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
    throw new Error(`http.asyncRequest: invalid URL "${redactUrl(urlText)}"`);
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
    nameTag: nameTag ?? redactUrl(url.toString()),
    headers,
    body: encoded,
    tags,
    timeoutMs: p.timeout === undefined ? 60_000 : parseDurationMs(p.timeout, 'http params.timeout'),
    redirects,
    responseType,
    expected,
  };
}

/** k6's error codes for transport failures (https://grafana.com/docs/k6/latest/javascript-api/error-codes/). */
function classify(
  err: NodeJS.ErrnoException,
  url: URL,
  timedOut: boolean,
): { code: number; message: string } {
  const addr = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  if (timedOut) return { code: 1050, message: 'request timeout' };
  switch (err.code) {
    case 'ECONNREFUSED':
      return { code: 1212, message: `dial tcp ${addr}: connect: connection refused` };
    case 'ECONNRESET':
      return { code: 1220, message: `read tcp ${addr}: read: connection reset by peer` };
    case 'EPIPE':
      return { code: 1201, message: `write tcp ${addr}: write: broken pipe` };
    case 'ETIMEDOUT':
      return { code: 1211, message: `dial tcp ${addr}: i/o timeout` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 1101, message: `lookup ${url.hostname}: no such host` };
    default:
      if (err.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(err.message))
        return { code: 1300, message: err.message };
      return { code: 1000, message: err.message };
  }
}

interface RawResult {
  status: number;
  statusText: string;
  httpVersion: string;
  rawHeaders: string[];
  body: Buffer | null;
  error: string;
  errorCode: number;
  timings: Timings;
  sent: number;
  received: number;
  remoteIp: string;
  remotePort: number;
  tlsVersion: string;
  cipher: string;
  endMs: number; // epoch ms when the request ended
}

function once(vu: Vu, req: Prepared, method: string, url: URL, body: Buffer | null): Promise<RawResult> {
  return new Promise((resolve) => {
    const isHttps = url.protocol === 'https:';
    const t0 = performance.now();
    let tSocket = NaN;
    let tConnect = NaN;
    let tSecure = NaN;
    let tFinish = NaN;
    let tResponse = NaN;
    let socket: Socket | null = null;
    let baseWritten = 0;
    let baseRead = 0;
    let timedOut = false;
    let settled = false;
    const headers = { ...req.headers };
    if (body) headers['Content-Length'] = String(body.length);
    const result: RawResult = {
      status: 0,
      statusText: '',
      httpVersion: '',
      rawHeaders: [],
      body: null,
      error: '',
      errorCode: 0,
      timings: {
        blocked: 0,
        connecting: 0,
        tls_handshaking: 0,
        sending: 0,
        waiting: 0,
        receiving: 0,
        duration: 0,
      },
      sent: 0,
      received: 0,
      remoteIp: '',
      remotePort: 0,
      tlsVersion: '',
      cipher: '',
      endMs: 0,
    };
    const finish = (tEnd: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ready = Math.max(
        tSocket || t0,
        Number.isNaN(tConnect) ? 0 : tConnect,
        Number.isNaN(tSecure) ? 0 : tSecure,
      );
      const t = result.timings;
      t.blocked = (Number.isNaN(tSocket) ? tEnd : tSocket) - t0;
      t.connecting = !Number.isNaN(tConnect) && !Number.isNaN(tSocket) ? Math.max(0, tConnect - tSocket) : 0;
      t.tls_handshaking =
        !Number.isNaN(tSecure) && !Number.isNaN(tConnect) ? Math.max(0, tSecure - tConnect) : 0;
      if (!Number.isNaN(tResponse)) {
        const sentAt = Number.isNaN(tFinish) ? tResponse : Math.max(tFinish, ready);
        t.sending = Math.max(0, sentAt - ready);
        t.waiting = Math.max(0, tResponse - sentAt);
        t.receiving = Math.max(0, tEnd - tResponse);
      } else if (!Number.isNaN(tSocket)) {
        t.sending = Math.max(0, (Number.isNaN(tFinish) ? tEnd : tFinish) - ready);
        t.waiting = Number.isNaN(tFinish) ? 0 : Math.max(0, tEnd - Math.max(tFinish, ready));
      }
      t.duration = t.sending + t.waiting + t.receiving;
      if (socket) {
        result.sent = Math.max(0, socket.bytesWritten - baseWritten);
        result.received = Math.max(0, socket.bytesRead - baseRead);
        result.remoteIp = socket.remoteAddress ?? '';
        result.remotePort = socket.remotePort ?? 0;
        if (isHttps) {
          const tls = socket as TLSSocket;
          const proto = tls.getProtocol?.() ?? '';
          result.tlsVersion = proto ? proto.replace(/^TLSv/, 'tls').replace(/^tls(\d)$/, 'tls$1.0') : '';
          result.cipher = tls.getCipher?.()?.standardName ?? '';
        }
      }
      result.endMs = performance.timeOrigin + tEnd;
      resolve(result);
    };
    const options: https.RequestOptions = {
      agent: vu.agentFor(isHttps),
      method,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (isHttps ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      headers,
    };
    if (isHttps && vu.engine.insecureSkipTLSVerify) options.rejectUnauthorized = false;
    const request = (isHttps ? https : http).request(options);
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new Error('request timeout'));
    }, req.timeoutMs);
    request.on('socket', (s: Socket) => {
      tSocket = performance.now();
      socket = s;
      baseWritten = s.bytesWritten;
      baseRead = s.bytesRead;
      if (s.connecting) {
        s.once('connect', () => {
          tConnect = performance.now();
        });
        if (isHttps) s.once('secureConnect', () => (tSecure = performance.now()));
      }
    });
    request.on('finish', () => (tFinish = performance.now()));
    request.on('response', (res) => {
      tResponse = performance.now();
      result.status = res.statusCode ?? 0;
      result.statusText = res.statusMessage ?? '';
      result.httpVersion = res.httpVersion;
      result.rawHeaders = res.rawHeaders;
      const chunks: Buffer[] = [];
      const keep = req.responseType !== 'none';
      res.on('data', (c: Buffer) => {
        if (keep) chunks.push(c);
      });
      res.on('end', () => {
        result.body = keep ? Buffer.concat(chunks) : null;
        finish(performance.now());
      });
      res.on('error', (err) => {
        const c = classify(err, url, timedOut);
        result.error = c.message;
        result.errorCode = c.code;
        finish(performance.now());
      });
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      const c = classify(err, url, timedOut);
      result.error = c.message;
      result.errorCode = c.code;
      result.status = 0;
      finish(performance.now());
    });
    request.end(body ?? undefined);
  });
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** One k6 request with its redirects; resolves with the final Response (never rejects for transport errors, as k6). */
export async function httpRequest(
  vu: Vu,
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
    const urlTag = redactUrl(url.toString());
    const response = new Response(currentMethod, urlTag, req.headers, currentBody, vu.jsonParse);
    let raw: RawResult;
    if (!vu.engine.allowHost(url.hostname)) {
      raw = await Promise.resolve({
        status: 0,
        statusText: '',
        httpVersion: '',
        rawHeaders: [],
        body: null,
        error: `the local executor sends load only to loopback hosts; "${url.hostname}" is not one (use --engine k6 for other targets)`,
        errorCode: 1110,
        timings: {
          blocked: 0,
          connecting: 0,
          tls_handshaking: 0,
          sending: 0,
          waiting: 0,
          receiving: 0,
          duration: 0,
        },
        sent: 0,
        received: 0,
        remoteIp: '',
        remotePort: 0,
        tlsVersion: '',
        cipher: '',
        endMs: Date.now(),
      });
      vu.engine.warnOnce(
        `blocked-${url.hostname}`,
        `request to non-loopback host ${url.hostname} refused (error_code 1110)`,
      );
    } else {
      raw = await once(vu, req, currentMethod, url, currentBody);
    }
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
      response.body =
        req.responseType === 'binary' ? new Uint8Array(raw.body).buffer : raw.body.toString('utf8');
    }
    // Metrics for this hop.
    const tags: Tags = {
      ...baseTags,
      method: currentMethod,
      url: urlTag,
      name: hop === 0 ? req.nameTag : urlTag,
      status: String(raw.status),
    };
    if (response.proto) tags.proto = response.proto;
    if (raw.tlsVersion) tags.tls_version = raw.tlsVersion;
    if (response.error_code) tags.error_code = String(response.error_code);
    if (raw.error) tags.error = raw.error;
    let failed: boolean | null = null;
    if (req.expected) {
      failed = !req.expected.accepts(raw.status);
      tags.expected_response = String(!failed);
    }
    vu.emitHttp(tags, raw.timings, failed, raw.endMs, raw.sent, raw.received);

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
