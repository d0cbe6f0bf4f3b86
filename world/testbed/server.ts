import { mkdirSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Histogram, Registry } from 'prom-client';
import { registerActivityPub, federationWorkers } from './activitypub/index.js';
import { registerClientApi, localWorkers } from './api/index.js';
import type { TestbedConfig } from './config.js';
import type { Testbed } from './context.js';
import { migrate } from './db/migrations.js';
import { createPool, endPool, ensureDatabase } from './db/pool.js';
import { SidekiqClient } from './sidekiq/client.js';
import { registerSidekiqMetrics } from './sidekiq/metrics.js';
import { startSidekiq } from './sidekiq/processor.js';
import { recordJob } from './sidekiq/instruments.js';
import type { TestbedJobClass, TestbedWorkers } from './jobClasses.js';

export interface RunningTestbed {
  app: FastifyInstance;
  tb: Testbed;
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/** Route labels for metrics, as Rails names them (controller, action). */
declare module 'fastify' {
  interface FastifyContextConfig {
    controller?: string;
    action?: string;
  }
}

/**
 * A counting semaphore: Puma serves at most MAX_THREADS × WEB_CONCURRENCY
 * requests at once and queues the rest; the testbed does the same so that
 * web saturation looks like Puma's (queue time grows, not errors).
 */
function webThreads(limit: number) {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return {
    acquire: () =>
      new Promise<void>((resolve) => {
        if (busy < limit) {
          busy++;
          resolve();
        } else waiting.push(resolve);
      }),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else busy--;
    },
  };
}

/** PostgreSQL or Redis cannot be reached or used as configured: the user's to fix, not a bug. */
export class TestbedStartupError extends Error {
  override readonly name = 'TestbedStartupError';
}

/** Fail fast when Redis is not there (ioredis would otherwise retry forever). */
async function probeRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  probe.on('error', (err: Error) => (cause ||= err.message));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new TestbedStartupError(`Redis at ${url} is not reachable (${cause || (err as Error).message})`);
  } finally {
    probe.disconnect();
  }
}

async function preparePostgres(databaseUrl: string): Promise<void> {
  try {
    await ensureDatabase(databaseUrl);
  } catch (err) {
    const safeUrl = new URL(databaseUrl);
    safeUrl.password = '';
    throw new TestbedStartupError(`PostgreSQL at ${safeUrl} cannot be used: ${(err as Error).message}`);
  }
}

/** Build, migrate, listen and start the Sidekiq processes. */
export async function startTestbed(config: TestbedConfig): Promise<RunningTestbed> {
  await probeRedis(config.redisUrl);
  await preparePostgres(config.databaseUrl);
  const db = createPool(config.databaseUrl, config.dbPool);
  await migrate(db);
  const newRedis = () => new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
  const redis = newRedis();
  await redis.ping();
  mkdirSync(config.mediaDir, { recursive: true });

  const metrics = new Registry();
  const tb: Testbed = {
    config,
    baseUrl: '',
    domain: config.localDomain ?? '',
    db,
    redis,
    newRedis,
    sidekiq: undefined as unknown as SidekiqClient<TestbedJobClass>,
    workers: {},
    metrics,
  };
  const workers: TestbedWorkers = { ...localWorkers(tb), ...federationWorkers(tb) };
  tb.workers = workers;
  tb.sidekiq = new SidekiqClient(redis, workers);

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true });
  const threads = webThreads(config.webThreads);
  const duration = new Histogram({
    name: 'mastodon_http_request_duration_seconds',
    help: 'Time spent serving a request, by Rails controller and action',
    labelNames: ['controller', 'action', 'status'],
    registers: [metrics],
  });
  const queueDuration = new Histogram({
    name: 'mastodon_http_request_queue_duration_seconds',
    help: 'Time a request waited for a free web thread',
    registers: [metrics],
  });
  app.addHook('onRequest', async (request) => {
    const t0 = process.hrtime.bigint();
    await threads.acquire();
    (request as unknown as { fedicapStart: bigint }).fedicapStart = process.hrtime.bigint();
    queueDuration.observe(Number(process.hrtime.bigint() - t0) / 1e9);
  });
  app.addHook('onResponse', async (request, reply) => {
    threads.release();
    const start = (request as unknown as { fedicapStart?: bigint }).fedicapStart;
    if (start === undefined) return;
    const cfg = request.routeOptions.config;
    duration.observe(
      {
        controller: cfg.controller ?? 'unknown',
        action: cfg.action ?? 'unknown',
        status: String(reply.statusCode),
      },
      Number(process.hrtime.bigint() - start) / 1e9,
    );
  });

  app.get('/health', { config: { controller: 'health', action: 'show' } }, async (_req, reply) =>
    reply.type('text/plain').send('OK'),
  );
  registerSidekiqMetrics(metrics, redis, workers);
  app.get('/metrics', { config: { controller: 'metrics', action: 'show' } }, async (_req, reply) =>
    reply.type(metrics.contentType).send(await metrics.metrics()),
  );
  await registerClientApi(app, tb);
  await registerActivityPub(app, tb);

  const address = await app.listen({ host: config.host, port: config.port });
  const url = new URL(address);
  tb.baseUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${url.port}`;
  if (!tb.domain) tb.domain = `${config.host}:${url.port}`;

  const sidekiq = await startSidekiq({
    newRedis,
    units: config.sidekiq,
    workers,
    onJobEnd: (job) => recordJob(metrics, job),
  });

  let closed = false;
  return {
    app,
    tb,
    url: tb.baseUrl,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await sidekiq.stop();
      redis.disconnect();
      await endPool(db);
    },
  };
}
