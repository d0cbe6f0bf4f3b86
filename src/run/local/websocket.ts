/**
 * k6/websockets (and its deprecated alias k6/experimental/websockets) for the
 * local executor, on the `ws` package: the browser WebSocket API with k6's
 * params (headers, tags) and metrics (ws_connecting, ws_sessions,
 * ws_msgs_sent, ws_msgs_received, ws_session_duration, ws_ping). An open
 * socket keeps its VU's iteration running until it closes, as in k6
 * (https://grafana.com/docs/k6/latest/javascript-api/k6-websockets/).
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import WS from 'ws';
import { toBytes } from './bytes.js';
import type { Tags } from './metrics.js';
import { withoutCredentials } from '../../shared/urlSecrets.js';
import type { VuApi } from './vuApi.js';

type Handler = (event: Record<string, unknown>) => unknown;
const EVENTS = ['open', 'message', 'error', 'close', 'ping', 'pong'] as const;
type EventName = (typeof EVENTS)[number];

/** The URL a script gave, checked: ws: or wss:, and a host the local executor may load. */
function checkedUrl(vu: VuApi, url: unknown): URL {
  if (typeof url !== 'string') throw new Error('new WebSocket(url): url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`new WebSocket(): invalid URL "${withoutCredentials(url)}"`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')
    throw new Error(`new WebSocket(): expected a ws: or wss: URL, got ${parsed.protocol}`);
  if (!vu.engine.allowHost(parsed.hostname)) {
    throw new Error(
      `the local executor sends load only to loopback hosts; "${parsed.hostname}" is not one (use --engine k6 for other targets)`,
    );
  }
  return parsed;
}

/** k6's WebSocket Params (headers and tags; nothing else is implemented here). */
function checkedParams(vu: VuApi, params: unknown): { headers: Record<string, string>; tags: Tags } {
  const p = (params ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (key !== 'headers' && key !== 'tags')
      throw new Error(
        `unsupported k6 API: WebSocket Params.${key} is not implemented by the local executor (headers and tags are)`,
      );
  }
  const tags: Tags = {};
  for (const [k, v] of Object.entries((p.tags ?? {}) as Record<string, unknown>)) tags[k] = String(v);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((p.headers ?? {}) as Record<string, unknown>)) headers[k] = String(v);
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent'))
    headers['User-Agent'] = vu.engine.userAgent;
  return { headers, tags };
}

/**
 * A session's tags as k6 sets them: the VU's, the params' tags, and `url` and `name` equal — the URL, or
 * the `name` tag when the script set one (k6 ≥ 0.41 keeps url from multiplying series).
 */
function sessionTags(vu: VuApi, tags: Tags, url: string): Tags {
  const name = tags.name ?? url;
  return { ...vu.sampleTags(tags), url: name, name };
}

/** The browser WebSocket API over `ws`, for one VU; scripts get it through makeWebSocketClass. */
class LocalWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readonly url: string;
  binaryType: 'blob' | 'arraybuffer' = 'blob';
  onopen: Handler | null = null;
  onmessage: Handler | null = null;
  onerror: Handler | null = null;
  onclose: Handler | null = null;
  onping: Handler | null = null;
  onpong: Handler | null = null;
  #vu: VuApi;
  #ws: WS;
  #listeners = new Map<EventName, Handler[]>();
  #tags: Tags;
  #started: number;
  #opened = false;
  /** ws_sessions was emitted (once per session, however the handshake ended). */
  #counted = false;
  #pingSent = 0;
  #done = false;
  /** The socket under the connection, once the server answered: its byte counts are the session's. */
  #socket: Socket | null = null;
  /** The error a refused handshake reports ("Unexpected server response: 404"). */
  #refusal = '';

  constructor(vu: VuApi, url: unknown, protocols?: unknown, params?: unknown) {
    this.#vu = vu;
    vu.enter('new WebSocket()');
    this.url = checkedUrl(vu, url).toString();
    const { headers, tags } = checkedParams(vu, params);
    this.#tags = sessionTags(vu, tags, withoutCredentials(this.url));
    const subprotocols = Array.isArray(protocols)
      ? protocols.map(String)
      : typeof protocols === 'string'
        ? [protocols]
        : undefined;
    this.#started = performance.now();
    vu.pendingAdd();
    this.#ws = new WS(this.url, subprotocols, {
      headers,
      rejectUnauthorized: !vu.engine.insecureSkipTLSVerify,
    });
    vu.sockets.add(this.#ws);
    this.#listenHandshake();
    this.#listenSession();
  }

  /**
   * ws_sessions and ws_connecting once the handshake ends, opened or not, tagged with the server's status
   * when it answered, as k6 emits them (a refused upgrade counts as ws_sessions{status:404}).
   */
  #handshakeEnded(status: number | null): void {
    if (this.#counted) return;
    this.#counted = true;
    if (status !== null) {
      this.#tags = { ...this.#tags, status: String(status), subproto: this.#ws.protocol ?? '' };
    }
    this.#vu.emit('ws_connecting', performance.now() - this.#started, this.#tags);
    this.#vu.emit('ws_sessions', 1, this.#tags);
  }

  #listenHandshake(): void {
    this.#ws.on('upgrade', (res: IncomingMessage) => {
      this.#socket = res.socket;
    });
    this.#ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      this.#socket = req.socket;
      this.#refusal = `Unexpected server response: ${res.statusCode ?? 0}`;
      this.#handshakeEnded(res.statusCode ?? 0);
      res.resume();
      this.#ws.terminate();
    });
    this.#ws.on('open', () => {
      this.#opened = true;
      this.#handshakeEnded(101);
      this.#dispatch('open', { type: 'open' });
    });
  }

  /** k6's ws_* metrics and the script's handlers for each event of an open socket, and its end. */
  #listenSession(): void {
    const vu = this.#vu;
    this.#ws.on('message', (data: WS.RawData, isBinary: boolean) => {
      vu.emit('ws_msgs_received', 1, this.#tags);
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      let payload: unknown;
      if (!isBinary) payload = buf.toString('utf8');
      else if (this.binaryType === 'arraybuffer')
        payload = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      else payload = new Blob([buf]);
      this.#dispatch('message', { type: 'message', data: payload, origin: this.url });
    });
    this.#ws.on('ping', () => this.#dispatch('ping', { type: 'ping' }));
    this.#ws.on('pong', () => {
      if (this.#pingSent) vu.emit('ws_ping', performance.now() - this.#pingSent, this.#tags);
      this.#pingSent = 0;
      this.#dispatch('pong', { type: 'pong' });
    });
    this.#ws.on('error', (err: Error) => {
      // A failed connection never reached the handshake's end: k6 still counts the session.
      this.#handshakeEnded(null);
      this.#dispatch('error', { type: 'error', error: this.#refusal || err.message });
    });
    this.#ws.on('close', (code: number, reason: Buffer) => {
      // k6 measures the session from the constructor to the end of its connection.
      if (this.#opened) vu.emit('ws_session_duration', performance.now() - this.#started, this.#tags);
      if (this.#socket) vu.countBytes(this.#socket.bytesWritten, this.#socket.bytesRead);
      this.#dispatch('close', { type: 'close', code, reason: reason.toString('utf8') });
      this.#finish();
    });
  }

  get readyState(): number {
    return this.#ws.readyState;
  }
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }
  get protocol(): string {
    return this.#ws.protocol;
  }

  addEventListener(event: unknown, handler: unknown): void {
    if (typeof event !== 'string' || !(EVENTS as readonly string[]).includes(event))
      throw new Error(`WebSocket.addEventListener: unknown event "${String(event)}" (${EVENTS.join(', ')})`);
    if (typeof handler !== 'function')
      throw new Error('WebSocket.addEventListener: the handler must be a function');
    const list = this.#listeners.get(event as EventName) ?? [];
    list.push(handler as Handler);
    this.#listeners.set(event as EventName, list);
  }

  send(data: unknown): void {
    this.#vu.enter('WebSocket.send()');
    if (this.#ws.readyState !== WS.OPEN) throw new Error('WebSocket.send(): the connection is not open');
    this.#ws.send(typeof data === 'string' ? data : toBytes(data, 'WebSocket.send()'));
    this.#vu.emit('ws_msgs_sent', 1, this.#tags);
  }

  ping(): void {
    if (this.#ws.readyState !== WS.OPEN) return;
    this.#pingSent = performance.now();
    this.#ws.ping();
  }

  close(code?: unknown, reason?: unknown): void {
    if (this.#ws.readyState === WS.CLOSED || this.#ws.readyState === WS.CLOSING) return;
    if (this.#ws.readyState === WS.CONNECTING) {
      this.#ws.terminate();
      return;
    }
    this.#ws.close(typeof code === 'number' ? code : 1000, typeof reason === 'string' ? reason : undefined);
  }

  #dispatch(event: EventName, payload: Record<string, unknown>): void {
    if (this.#vu.dead) return;
    const handlers: Handler[] = [];
    const prop = (this as unknown as Record<string, unknown>)[`on${event}`];
    if (typeof prop === 'function') handlers.push(prop as Handler);
    handlers.push(...(this.#listeners.get(event) ?? []));
    for (const h of handlers) {
      try {
        h.call(this, payload);
      } catch (err) {
        this.#vu.recordError(err);
      }
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#vu.sockets.delete(this.#ws);
    this.#vu.pendingDone();
  }
}

/** The `WebSocket` class a VU's scripts construct: `new WebSocket(url, protocols, params)`. */
export function makeWebSocketClass(vu: VuApi) {
  return class WebSocket extends LocalWebSocket {
    constructor(url: unknown, protocols?: unknown, params?: unknown) {
      super(vu, url, protocols, params);
    }
  };
}
