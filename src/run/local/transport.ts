/**
 * One HTTP exchange over node:http for the local executor's k6/http, with
 * k6's timing phases and error codes; redirects and metrics are http.ts's.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { type Timings, zeroTimings } from './timings.js';
import type { VuApi } from './vuApi.js';

/**
 * k6's error codes for transport failures (https://grafana.com/docs/k6/latest/javascript-api/error-codes/).
 */
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

export interface RawResult {
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

/** A result with no response: refused before sending, or failed. */
export function blockedResult(error: string, errorCode: number, endMs: number): RawResult {
  return {
    status: 0,
    statusText: '',
    httpVersion: '',
    rawHeaders: [],
    body: null,
    error,
    errorCode,
    timings: zeroTimings(),
    sent: 0,
    received: 0,
    remoteIp: '',
    remotePort: 0,
    tlsVersion: '',
    cipher: '',
    endMs,
  };
}

/** What sendOnce needs of a prepared request. */
export interface SendOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  responseType: 'text' | 'binary' | 'none';
}

/** performance.now() when each event of a request happened; NaN until it has. */
interface Marks {
  start: number;
  socket: number;
  connect: number;
  secure: number;
  finish: number;
  response: number;
}

/**
 * k6's phases from the marks: sending starts when the connection is ready, waiting ends at the first byte.
 */
function phaseTimings(m: Marks, tEnd: number): Timings {
  const t = zeroTimings();
  const ready = Math.max(
    m.socket || m.start,
    Number.isNaN(m.connect) ? 0 : m.connect,
    Number.isNaN(m.secure) ? 0 : m.secure,
  );
  t.blocked = (Number.isNaN(m.socket) ? tEnd : m.socket) - m.start;
  t.connecting = !Number.isNaN(m.connect) && !Number.isNaN(m.socket) ? Math.max(0, m.connect - m.socket) : 0;
  t.tls_handshaking =
    !Number.isNaN(m.secure) && !Number.isNaN(m.connect) ? Math.max(0, m.secure - m.connect) : 0;
  if (!Number.isNaN(m.response)) {
    const sentAt = Number.isNaN(m.finish) ? m.response : Math.max(m.finish, ready);
    t.sending = Math.max(0, sentAt - ready);
    t.waiting = Math.max(0, m.response - sentAt);
    t.receiving = Math.max(0, tEnd - m.response);
  } else if (!Number.isNaN(m.socket)) {
    t.sending = Math.max(0, (Number.isNaN(m.finish) ? tEnd : m.finish) - ready);
    t.waiting = Number.isNaN(m.finish) ? 0 : Math.max(0, tEnd - Math.max(m.finish, ready));
  }
  t.duration = t.sending + t.waiting + t.receiving;
  return t;
}

/** Bytes on the wire (the socket may be reused: count from the bytes it had when lent), peer and TLS. */
function readSocket(
  result: RawResult,
  socket: Socket,
  isHttps: boolean,
  base: { written: number; read: number },
): void {
  result.sent = Math.max(0, socket.bytesWritten - base.written);
  result.received = Math.max(0, socket.bytesRead - base.read);
  result.remoteIp = socket.remoteAddress ?? '';
  result.remotePort = socket.remotePort ?? 0;
  if (isHttps) {
    const tls = socket as TLSSocket;
    const proto = tls.getProtocol?.() ?? '';
    result.tlsVersion = proto ? proto.replace(/^TLSv/, 'tls').replace(/^tls(\d)$/, 'tls$1.0') : '';
    result.cipher = tls.getCipher?.()?.standardName ?? '';
  }
}

/**
 * One request without following redirects; resolves (never rejects) with the response or the transport error.
 */
export function sendOnce(
  vu: VuApi,
  req: SendOptions,
  method: string,
  url: URL,
  body: Buffer | null,
): Promise<RawResult> {
  return new Promise((resolve) => {
    const isHttps = url.protocol === 'https:';
    const marks: Marks = {
      start: performance.now(),
      socket: NaN,
      connect: NaN,
      secure: NaN,
      finish: NaN,
      response: NaN,
    };
    let socket: Socket | null = null;
    const base = { written: 0, read: 0 };
    let timedOut = false;
    let settled = false;
    const headers = { ...req.headers };
    if (body) headers['Content-Length'] = String(body.length);
    const result = blockedResult('', 0, 0);
    const finish = (tEnd: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      result.timings = phaseTimings(marks, tEnd);
      if (socket) readSocket(result, socket, isHttps, base);
      result.endMs = performance.timeOrigin + tEnd;
      resolve(result);
    };
    const failWith = (err: NodeJS.ErrnoException) => {
      const c = classify(err, url, timedOut);
      result.error = c.message;
      result.errorCode = c.code;
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
      marks.socket = performance.now();
      socket = s;
      base.written = s.bytesWritten;
      base.read = s.bytesRead;
      if (s.connecting) {
        s.once('connect', () => {
          marks.connect = performance.now();
        });
        if (isHttps)
          s.once('secureConnect', () => {
            marks.secure = performance.now();
          });
      }
    });
    request.on('finish', () => {
      marks.finish = performance.now();
    });
    request.on('response', (res) => {
      marks.response = performance.now();
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
        failWith(err);
        finish(performance.now());
      });
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      failWith(err);
      result.status = 0;
      finish(performance.now());
    });
    request.end(body ?? undefined);
  });
}
