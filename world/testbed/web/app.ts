import http from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerActivityPub } from '../activitypub/index.js';
import { registerClientApi } from '../api/index.js';
import type { Testbed } from '../context.js';
import { registerInjectedDelays } from '../faults.js';
import type { LogEntry, Logger } from '../log.js';
import type { FinishedRequest } from './instruments.js';
import { isStreamingPath, passRequest, passUpgrade, type StreamingAddress } from './streamingPass.js';
import { webThreads } from './threads.js';

/** Route labels for metrics, as Rails names them (controller, action). */
declare module 'fastify' {
  interface FastifyContextConfig {
    controller?: string;
    action?: string;
  }
}

export interface WebAppOptions {
  /** MAX_THREADS of this worker. */
  maxThreads: number;
  streaming: StreamingAddress;
  /** The exporter's text for GET /metrics; undefined when it cannot be had. */
  metricsText(): Promise<string | undefined>;
  /** Each request's end, for the exporter's web metrics (kept by the primary, as by the gem's collector). */
  onRequestEnd(request: FinishedRequest): void;
  /** The testbed's error log: each 5xx goes there. */
  log: Logger;
}

/** One Puma worker's application, on an HTTP server that is not listening yet. */
export interface WebApp {
  app: FastifyInstance;
  server: http.Server;
  /** Requests being served or waiting for a thread (streaming's health checks passed on included). */
  inFlight(): number;
  /** Sockets of open streams passed on to the streaming process. */
  streams: ReadonlySet<Duplex>;
}

const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/**
 * The HTTP server in front of the app: what nginx sends to streaming goes there, the rest to the app;
 * it counts requests in flight for a graceful stop.
 */
function frontServer(handler: http.RequestListener, o: WebAppOptions) {
  let inFlight = 0;
  const streams = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
    if (isStreamingPath(req.url)) passRequest(req, res, o.streaming);
    else handler(req, res);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (!isStreamingPath(req.url)) return socket.end(NOT_FOUND);
    streams.add(socket);
    socket.once('close', () => streams.delete(socket));
    passUpgrade(req, socket, head, o.streaming);
  });
  return { server, streams, inFlight: () => inFlight };
}

/**
 * Rails' ActionDispatch::RequestId: the client's X-Request-Id when it is one (letters, digits, _ - @,
 * at most 255), else a fresh UUID; answered in X-Request-Id and named in the error log.
 */
function requestId(req: http.IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const clean = typeof given === 'string' ? given.replace(/[^\w\-@]/g, '').slice(0, 255) : '';
  return clean || randomUUID();
}

/** A 5xx's log entry: the route (its pattern, never the URL with its query), the error, the ids. */
function failureEntry(request: FastifyRequest, status: number, error: Error | undefined): LogEntry {
  const cfg = request.routeOptions.config;
  return {
    level: 'error',
    event: 'request_failed',
    message: error?.message ?? `answered ${status}`,
    // pg's errors are named 'error'; their class says more.
    error_class: error ? (error.constructor?.name ?? error.name) : null,
    status,
    method: request.method,
    route: request.routeOptions.url ?? null,
    controller: cfg.controller ?? 'other',
    action: cfg.action ?? 'other',
    request_id: request.id,
    params: request.params ?? {},
    account_id: request.fedicapAuth?.accountId ?? null,
  };
}

/** Web threads, and each request's time waiting for one and being served, for Mastodon's exporter. */
function instrument(app: FastifyInstance, o: WebAppOptions): void {
  const threads = webThreads(o.maxThreads);
  const timed = (request: object) =>
    request as { fedicapArrived?: bigint; fedicapStart?: bigint; fedicapError?: Error };
  app.addHook('onError', async (request, _reply, error) => {
    timed(request).fedicapError = error;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    timed(request).fedicapArrived = process.hrtime.bigint();
    await threads.acquire();
    timed(request).fedicapStart = process.hrtime.bigint();
  });
  app.addHook('onResponse', async (request, reply) => {
    threads.release();
    if (reply.statusCode >= 500) o.log(failureEntry(request, reply.statusCode, timed(request).fedicapError));
    const { fedicapArrived: arrived, fedicapStart: start } = timed(request);
    if (arrived === undefined || start === undefined) return;
    const cfg = request.routeOptions.config;
    o.onRequestEnd({
      // The gem's labels when no controller handled the request (middleware.rb#default_labels).
      controller: cfg.controller ?? 'other',
      action: cfg.action ?? 'other',
      status: reply.statusCode,
      durationSec: Number(process.hrtime.bigint() - start) / 1e9,
      queueSec: Number(start - arrived) / 1e9,
    });
  });
}

/** Build one web worker's app: the client API, ActivityPub, /health and /metrics. */
export async function buildWebApp(tb: Testbed, o: WebAppOptions): Promise<WebApp> {
  let front: ReturnType<typeof frontServer> | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    genReqId: requestId,
    serverFactory: (handler) => {
      front = frontServer(handler, o);
      return front.server;
    },
  });
  instrument(app, o);
  registerInjectedDelays(app, tb.config.faults);
  app.get('/health', { config: { controller: 'health', action: 'show' } }, async (_req, reply) =>
    reply.type('text/plain').send('OK'),
  );
  app.get('/metrics', { config: { controller: 'metrics', action: 'show' } }, async (_req, reply) => {
    const text = await o.metricsText();
    if (text === undefined) return reply.code(503).type('text/plain').send('metrics are not available');
    return reply.type(tb.metrics.contentType).send(text);
  });
  await registerClientApi(app, tb);
  await registerActivityPub(app, tb);
  await app.ready();
  const { server, streams, inFlight } = front!;
  return { app, server, streams, inFlight };
}
