import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Testbed } from '../context.js';
import { hasScope, TokenCache, type AuthContext } from './auth.js';

/**
 * Mastodon's streaming server (streaming/index.js), WebSocket only, on an
 * HTTP server of its own: the testbed runs it in its own process, and the
 * web workers pass /api/v1/streaming on to it as nginx does
 * (web/streamingPass.ts), so an open stream never holds a web thread.
 * - GET /api/v1/streaming (upgrade), token from `?access_token=`, the
 *   Authorization header or Sec-WebSocket-Protocol; a token is required;
 * - GET /api/v1/streaming/health answers OK;
 * - streams by `?stream=` or `{"type":"subscribe","stream":"user"}` messages;
 * - ONE Redis subscriber connection per process, each channel SUBSCRIBEd
 *   once and fanned out to the sockets that listen;
 * - while a socket listens to a channel, `subscribed:<channel>` is SET with
 *   EX 1080 and refreshed every 360 s (Mastodon's subscriptionHeartbeat);
 *   as in Mastodon it is left to expire, not deleted, on disconnect;
 * - frames are `{"stream":[name], "event":..., "payload": "<JSON string>"}`.
 */

const HEARTBEAT_SEC = 6 * 60;
const PUBLIC_STREAMS = [
  'public',
  'public:media',
  'public:local',
  'public:local:media',
  'public:remote',
  'public:remote:media',
  'hashtag',
  'hashtag:local',
];

type Listener = (event: string, payload: string) => void;

/** One SUBSCRIBE connection, channels reference-counted across sockets. */
export class StreamingHub {
  private sub: { redis: Redis; ready: Promise<Redis> } | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Each channel's SUBSCRIBE, which every listener joining while it is under way waits for too. */
  private readonly subscribing = new Map<string, Promise<unknown>>();
  constructor(private readonly tb: Testbed) {}

  /**
   * The SUBSCRIBE connection once ready: ioredis writes a SUBSCRIBE issued while it connects before its
   * ready check (INFO), which then fails in subscriber mode and rejects the SUBSCRIBEs queued behind it.
   */
  private connection(): Promise<Redis> {
    if (!this.sub) {
      const redis = this.tb.newRedis();
      redis.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      redis.on('error', () => undefined);
      this.sub = { redis, ready: new Promise((resolve) => redis.once('ready', () => resolve(redis))) };
    }
    return this.sub.ready;
  }

  private dispatch(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (!set || set.size === 0) return;
    let json: { event?: unknown; payload?: unknown };
    try {
      json = JSON.parse(message) as typeof json;
    } catch {
      return;
    }
    if (typeof json.event !== 'string') return;
    const payload =
      typeof json.payload === 'object' && json.payload !== null
        ? JSON.stringify(json.payload)
        : String(json.payload ?? '');
    for (const l of set) l(json.event, payload);
  }

  /** Listen to `channel`; when Redis refuses, the listener is not left behind (a later one retries). */
  async subscribe(channel: string, listener: Listener): Promise<void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    let subscribed = this.subscribing.get(channel);
    if (!subscribed) {
      subscribed = this.connection().then((redis) => redis.subscribe(channel));
      this.subscribing.set(channel, subscribed);
    }
    try {
      await subscribed;
    } catch (err) {
      this.forget(channel, listener);
      throw err;
    }
  }

  /** Drop a listener; the last one of a channel drops the channel (true when it did). */
  private forget(channel: string, listener: Listener): boolean {
    const set = this.listeners.get(channel);
    if (!set?.delete(listener) || set.size > 0) return false;
    this.listeners.delete(channel);
    this.subscribing.delete(channel);
    return true;
  }

  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    if (this.forget(channel, listener)) await this.sub?.redis.unsubscribe(channel).catch(() => undefined);
  }

  channelCount(): number {
    return this.listeners.size;
  }

  close(): void {
    this.listeners.clear();
    this.subscribing.clear();
    this.sub?.redis.disconnect();
    this.sub = undefined;
  }
}

interface Subscription {
  channels: string[];
  listener: Listener;
  heartbeat: NodeJS.Timeout;
}

class StreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** channelNameToIds + checkScopes. */
function channelsFor(auth: AuthContext, stream: string, params: Record<string, unknown>): string[] {
  if (!PUBLIC_STREAMS.includes(stream)) {
    const needed =
      stream === 'user:notification' ? ['read', 'read:notifications'] : ['read', 'read:statuses'];
    if (!hasScope(auth, needed)) throw new StreamError('Access token does not have the required scopes', 401);
  }
  const tag = typeof params.tag === 'string' ? params.tag.toLowerCase() : '';
  switch (stream) {
    case 'user': {
      const ids = [`timeline:${auth.accountId}`];
      if (hasScope(auth, ['read', 'read:notifications']))
        ids.push(`timeline:${auth.accountId}:notifications`);
      return ids;
    }
    case 'user:notification':
      return [`timeline:${auth.accountId}:notifications`];
    case 'public':
    case 'public:local':
    case 'public:remote':
    case 'public:media':
    case 'public:local:media':
    case 'public:remote:media':
      return [`timeline:${stream}`];
    case 'direct':
      return [`timeline:direct:${auth.accountId}`];
    case 'hashtag':
    case 'hashtag:local':
      if (!tag) throw new StreamError('No tag for stream provided', 400);
      return [`timeline:hashtag:${tag}${stream === 'hashtag:local' ? ':local' : ''}`];
    default:
      throw new StreamError('Unknown stream type', 400);
  }
}

function tokenFromUpgrade(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) return /^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim();
  const q = url.searchParams.get('access_token');
  if (q) return q;
  const proto = req.headers['sec-websocket-protocol'];
  return proto ? proto.split(',')[0]!.trim() : undefined;
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${({ 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

interface StreamingMetrics {
  clients: Gauge<'type'>;
  sent: Counter<'type'>;
}

/**
 * The streaming server's own Prometheus metrics, as Mastodon's streaming/metrics.js names them
 * (connected_clients{type}, redis_subscriptions, messages_sent_total{type}; not connected_channels{type,
 * channel}, which the testbed does not count).
 */
function streamingMetrics(tb: Testbed, hub: StreamingHub): StreamingMetrics {
  const clients = new Gauge({
    name: 'connected_clients',
    help: 'The number of clients connected to the streaming server',
    labelNames: ['type'],
    registers: [tb.metrics],
  });
  const subscriptionsGauge = new Gauge({
    name: 'redis_subscriptions',
    help: 'The number of Redis channels the streaming server is subscribed to',
    registers: [tb.metrics],
    collect() {
      this.set(hub.channelCount());
    },
  });
  void subscriptionsGauge;
  const sent = new Counter({
    name: 'messages_sent_total',
    help: 'The total number of messages the streaming server sent to clients per connection type',
    labelNames: ['type'],
    registers: [tb.metrics],
  });
  // Primed at zero for both connection types, as streaming/metrics.js does, so the series exist from the start.
  for (const type of ['websocket', 'eventsource']) {
    clients.set({ type }, 0);
    sent.inc({ type }, 0);
  }
  return { clients, sent };
}

/** One client's socket and its subscriptions, keyed by the channels they listen to. */
class StreamingConnection {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly tb: Testbed,
    private readonly hub: StreamingHub,
    private readonly ws: WebSocket,
    private readonly auth: AuthContext,
    private readonly sent: Counter<'type'>,
  ) {}

  private send(obj: unknown): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(obj));
  }

  async subscribe(stream: string, params: Record<string, unknown>): Promise<void> {
    try {
      const channels = channelsFor(this.auth, stream, params);
      const key = channels.join(';');
      if (this.subscriptions.has(key)) return;
      const streamName = stream.startsWith('hashtag') ? [stream, String(params.tag ?? '')] : [stream];
      const listener: Listener = (event, payload) => {
        this.send({ stream: streamName, event, payload });
        this.sent.inc({ type: 'websocket' });
      };
      const tell = () => {
        const multi = this.tb.redis.multi();
        for (const c of channels) multi.set(`subscribed:${c}`, '1', 'EX', HEARTBEAT_SEC * 3);
        return multi.exec();
      };
      const heartbeat = setInterval(() => void tell().catch(() => undefined), HEARTBEAT_SEC * 1000);
      heartbeat.unref();
      this.subscriptions.set(key, { channels, listener, heartbeat });
      try {
        for (const c of channels) await this.hub.subscribe(c, listener);
        await tell();
      } catch (err) {
        // Redis refused: this stream is not listened to; the client may subscribe again.
        await this.drop(key);
        console.error(
          `testbed streaming: cannot subscribe to ${channels.join(', ')}: ${(err as Error).message}`,
        );
      }
    } catch (err) {
      if (err instanceof StreamError) this.send({ error: err.message, status: err.status });
    }
  }

  private async drop(key: string): Promise<void> {
    const s = this.subscriptions.get(key);
    if (!s) return;
    this.subscriptions.delete(key);
    clearInterval(s.heartbeat);
    for (const c of s.channels) await this.hub.unsubscribe(c, s.listener);
  }

  async unsubscribe(stream: string, params: Record<string, unknown>): Promise<void> {
    try {
      await this.drop(channelsFor(this.auth, stream, params).join(';'));
    } catch (err) {
      if (err instanceof StreamError) this.send({ error: err.message, status: err.status });
    }
  }

  /** `{"type":"subscribe"|"unsubscribe","stream":...}`; anything else is ignored. */
  onMessage(data: RawData): void {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!json || typeof json !== 'object') return;
    const { type, stream, ...params } = json;
    const name = Array.isArray(stream) ? String(stream[0]) : String(stream ?? '');
    if (type === 'subscribe') void this.subscribe(name, params);
    else if (type === 'unsubscribe') void this.unsubscribe(name, params);
  }

  close(): void {
    for (const s of this.subscriptions.values()) {
      clearInterval(s.heartbeat);
      for (const c of s.channels) void this.hub.unsubscribe(c, s.listener);
    }
    this.subscriptions.clear();
  }
}

/** Ping every socket each 30 s; one that did not answer the last ping is dropped. */
function pingEvery30Sec(wss: WebSocketServer, alive: WeakSet<WebSocket>): NodeJS.Timeout {
  const ping = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, 30_000);
  ping.unref();
  return ping;
}

const isStreamingPath = (pathname: string) =>
  pathname === '/api/v1/streaming' || pathname === '/api/v1/streaming/';

/** The health check; anything else that is not an upgrade is not found. */
function answerRequest(req: IncomingMessage, res: ServerResponse): void {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && pathname === '/api/v1/streaming/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Not found' }));
}

/** Serve the streaming API on `server`; `close()` drops every socket and the Redis subscription. */
export function serveStreaming(server: Server, tb: Testbed): { close(): void } {
  const tokens = new TokenCache(tb);
  const hub = new StreamingHub(tb);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const metrics = streamingMetrics(tb, hub);
  const alive = new WeakSet<WebSocket>();

  const onConnection = (ws: WebSocket, auth: AuthContext, url: URL) => {
    metrics.clients.inc({ type: 'websocket' });
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    const connection = new StreamingConnection(tb, hub, ws, auth, metrics.sent);
    ws.on('message', (data) => connection.onMessage(data));
    ws.once('close', () => {
      metrics.clients.dec({ type: 'websocket' });
      connection.close();
    });
    ws.on('error', () => undefined);

    const stream = url.searchParams.get('stream');
    if (stream) void connection.subscribe(stream, Object.fromEntries(url.searchParams));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    socket.on('error', () => undefined);
    if (!isStreamingPath(url.pathname)) return rejectUpgrade(socket, 404, 'Not found');
    const token = tokenFromUpgrade(req, url);
    if (!token) return rejectUpgrade(socket, 401, 'Missing access token');
    tokens
      .lookup(token)
      .then((auth) => {
        if (!auth) return rejectUpgrade(socket, 401, 'Invalid access token');
        wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, auth, url));
      })
      .catch(() => rejectUpgrade(socket, 503, 'Service unavailable'));
  };
  server.on('upgrade', onUpgrade);
  server.on('request', answerRequest);
  const ping = pingEvery30Sec(wss, alive);

  return {
    close() {
      clearInterval(ping);
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      hub.close();
    },
  };
}
