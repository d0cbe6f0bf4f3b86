import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startSidekiq } from '../../../../world/testbed/sidekiq/processor.js';
import type { JobContext, SidekiqJob, WorkerRegistry } from '../../../../world/testbed/sidekiq/types.js';
import { client, gate, useSidekiqDb, unit, waitFor } from '../../../support/sidekiq.js';

const sidekiq = useSidekiqDb();

const start = sidekiq.start;

const parse = (s: string) => JSON.parse(s) as SidekiqJob;

describe('Sidekiq layout and FIFO', () => {
  it('stores pushed jobs as Sidekiq::Client does and runs each queue oldest first', async () => {
    const seen: number[] = [];
    const workers: WorkerRegistry = {
      Echo: { queue: 'default', retry: true, perform: async ([n]) => void seen.push(n as number) },
      Deliver: { queue: 'push', retry: 16, perform: async () => undefined },
    };
    const c = client(sidekiq.db, workers);
    const before = Date.now() / 1000;
    await c.pushBulk('Echo', [[1], [2], [3]]);
    await c.push('Echo', [4]);
    await c.push('Deliver', ['https://remote.example/inbox']);

    expect((await sidekiq.db.redis.smembers('queues')).sort()).toEqual(['default', 'push']);
    const list = await sidekiq.db.redis.lrange('queue:default', 0, -1);
    expect(list).toHaveLength(4);
    // LPUSH: the oldest job is the list's right end, the one BRPOP takes next.
    expect(list.map((s) => parse(s).args[0])).toEqual([4, 3, 2, 1]);
    const job = parse(list[3]!);
    expect(Object.keys(job).sort()).toEqual([
      'args',
      'class',
      'created_at',
      'enqueued_at',
      'jid',
      'queue',
      'retry',
    ]);
    expect(job).toMatchObject({ class: 'Echo', args: [1], queue: 'default', retry: true });
    expect(job.jid).toMatch(/^[0-9a-f]{24}$/);
    expect(job.created_at).toBeGreaterThanOrEqual(before - 0.001);
    expect(job.enqueued_at).toBeGreaterThanOrEqual(job.created_at);
    expect(parse((await sidekiq.db.redis.lrange('queue:push', 0, -1))[0]!)).toMatchObject({
      class: 'Deliver',
      queue: 'push',
      retry: 16,
    });

    await start(sidekiq.db, workers, [unit(1, [['default', 1]])]);
    await waitFor(() => seen.length === 4, '4 jobs run');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(await sidekiq.db.redis.llen('queue:default')).toBe(0);
    // The push queue is not served by this process: it keeps its job.
    expect(await sidekiq.db.redis.llen('queue:push')).toBe(1);
    await waitFor(async () => (await sidekiq.db.stats.processed()) === 4, 'stat:processed = 4');
  });
});

describe('weighted fetch (BasicFetch#queues_cmd)', () => {
  it('takes from a weight-8 queue about 8 times in 9 when both are backlogged', async () => {
    const N = 900;
    const picks: string[] = [];
    let done!: () => void;
    const reached = new Promise<void>((r) => (done = r));
    const perform = async (_args: unknown[], ctx: JobContext) => {
      if (picks.length < N) picks.push(ctx.queue);
      if (picks.length === N) done();
    };
    const workers: WorkerRegistry = {
      Heavy: { queue: 'heavy', retry: false, perform },
      Light: { queue: 'light', retry: false, perform },
    };
    const c = client(sidekiq.db, workers);
    // Enough backlog that neither queue runs dry within N fetches (heavy needs ~800 ± 10).
    const args = Array.from({ length: 1200 }, (_, i) => [i]);
    await c.pushBulk('Heavy', args);
    await c.pushBulk('Light', args);
    const h = await start(sidekiq.db, workers, [
      unit(1, [
        ['heavy', 8],
        ['light', 1],
      ]),
    ]);
    await Promise.race([
      reached,
      new Promise((_, no) => setTimeout(() => no(new Error('900 jobs took > 15 s')), 15_000)),
    ]);
    await h.stop();
    const share = picks.filter((q) => q === 'heavy').length / N;
    // Each fetch is an independent draw with p = 8/9: the share's standard
    // deviation over 900 fetches is sqrt(p(1-p)/900) ≈ 0.0105, so ±0.05 is
    // about 4.8 sd (a false failure about once in 600,000 runs) while still
    // far from equal weights (0.5) or strict order (1.0).
    expect(share).toBeGreaterThan(8 / 9 - 0.05);
    expect(share).toBeLessThan(8 / 9 + 0.05);
  });
});

describe('processes (Launcher heartbeat)', () => {
  it('registers each process with Sidekiq 6 fields, reports busy jobs and beats, and leaves on stop', async () => {
    const g = gate();
    const workers: WorkerRegistry = { Slow: { queue: 'default', retry: true, perform: () => g.opened } };
    const h = await start(sidekiq.db, workers, [
      unit(
        2,
        [
          ['default', 2],
          ['push', 1],
        ],
        2,
      ),
    ]);
    expect(h.identities).toHaveLength(2);
    for (const id of h.identities)
      expect(id).toMatch(new RegExp(`^${hostname().replace(/\./g, '\\.')}:${process.pid}:[0-9a-f]{12}$`));
    expect((await sidekiq.db.redis.smembers('processes')).sort()).toEqual([...h.identities].sort());

    const id = h.identities[0]!;
    const hash = await sidekiq.db.redis.hgetall(id);
    expect(Object.keys(hash).sort()).toEqual(['beat', 'busy', 'info', 'quiet', 'rss', 'rtt_us']);
    expect(hash.busy).toBe('0');
    expect(hash.quiet).toBe('false');
    expect(await sidekiq.db.redis.ttl(id)).toBeGreaterThan(50);
    const info = JSON.parse(hash.info!);
    expect(info).toMatchObject({
      hostname: hostname(),
      pid: process.pid,
      concurrency: 2,
      queues: ['default', 'push'],
      labels: [],
      identity: id,
      weights: [{ default: 2, push: 1 }],
    });
    expect(typeof info.tag).toBe('string');
    expect(info.started_at).toBeGreaterThan(Date.now() / 1000 - 10);

    const beat0 = Number(hash.beat);
    await client(sidekiq.db, workers).pushBulk('Slow', [[1], [2], [3]]);
    const procs = await waitFor(async () => {
      const p = await sidekiq.db.stats.processes();
      return p.reduce((a, x) => a + x.busy, 0) === 3 && p;
    }, 'busy = 3 over both processes');
    expect(procs.map((p) => p.concurrency)).toEqual([2, 2]);
    expect(Math.max(...procs.map((p) => p.beat))).toBeGreaterThan(beat0);

    // IDENTITY:workers (Sidekiq 6; :work in 7): tid → {queue, payload: job JSON string, run_at: integer
    // seconds}.
    const work = await sidekiq.db.stats.work();
    expect(work).toHaveLength(3);
    for (const w of work) {
      expect(w.queue).toBe('default');
      expect(w.payload.class).toBe('Slow');
      expect(Number.isInteger(w.runAt)).toBe(true);
    }
    const raw = Object.values(await sidekiq.db.redis.hgetall(`${work[0]!.identity}:workers`))[0]!;
    expect(typeof JSON.parse(raw).payload).toBe('string');

    g.open();
    await waitFor(
      async () => (await sidekiq.db.stats.processes()).every((p) => p.busy === 0),
      'busy back to 0',
    );
    await h.stop();
    expect(await sidekiq.db.redis.smembers('processes')).toEqual([]);
    for (const i of h.identities) {
      expect(await sidekiq.db.redis.exists(i, `${i}:workers`, `${i}:work`)).toBe(0);
    }
  });

  it('stops fetching when told to quiet through Sidekiq::Process#quiet! (TSTP)', async () => {
    const ran: number[] = [];
    const workers: WorkerRegistry = {
      Echo: { queue: 'default', retry: true, perform: async ([n]) => void ran.push(Number(n)) },
    };
    const h = await start(sidekiq.db, workers, [unit(1, [['default', 1]])], { fetchTimeoutSec: 0.2 });
    const id = h.identities[0]!;
    await sidekiq.db.redis.lpush(`${id}-signals`, 'TSTP');
    await waitFor(async () => (await sidekiq.db.redis.hget(id, 'quiet')) === 'true', 'quiet = true');
    // A thread may be inside BRPOP when the signal is read: allow it its fetch timeout, with room.
    await new Promise((r) => setTimeout(r, 700));
    await client(sidekiq.db, workers).push('Echo', [1]);
    await new Promise((r) => setTimeout(r, 400));
    expect(ran).toEqual([]);
    expect(await sidekiq.db.redis.llen('queue:default')).toBe(1);
  });
});

describe('shutdown (basic fetch)', () => {
  it('lets a job finish within the shutdown timeout', async () => {
    let started = false;
    const workers: WorkerRegistry = {
      Short: {
        queue: 'default',
        retry: true,
        perform: async () => {
          started = true;
          await new Promise((r) => setTimeout(r, 300));
        },
      },
    };
    const h = await start(sidekiq.db, workers, [unit(1, [['default', 1]])]);
    await client(sidekiq.db, workers).push('Short', []);
    await waitFor(() => started, 'job started');
    await h.stop();
    expect(await sidekiq.db.stats.processed()).toBe(1);
    expect(await sidekiq.db.redis.llen('queue:default')).toBe(0);
  });

  it('pushes jobs still running at the timeout back to the head of their queue; they run after a restart', async () => {
    const g = gate();
    const signals: AbortSignal[] = [];
    const order: string[] = [];
    const first: WorkerRegistry = {
      Job: {
        queue: 'default',
        retry: true,
        perform: async (_args, ctx) => {
          signals.push(ctx.signal!);
          await g.opened;
        },
      },
    };
    const h = await start(sidekiq.db, first, [unit(2, [['default', 1]])], { shutdownTimeoutMs: 300 });
    const c = client(sidekiq.db, first);
    await c.push('Job', ['a']);
    await c.push('Job', ['b']);
    await waitFor(() => signals.length === 2, 'both jobs in flight');
    await c.push('Job', ['c']); // waits behind them
    await waitFor(async () => (await sidekiq.db.stats.work()).length === 2, 'work hash shows 2 jobs');

    const t0 = Date.now();
    await h.stop();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(signals.every((s) => s.aborted)).toBe(true);
    // Both back, at the right end (popped next), untouched; 'c' still behind them.
    const list = (await sidekiq.db.redis.lrange('queue:default', 0, -1)).map(parse);
    expect(list).toHaveLength(3);
    expect(list[0]!.args).toEqual(['c']);
    expect(
      list
        .slice(1)
        .map((j) => j.args[0])
        .sort(),
    ).toEqual(['a', 'b']);
    expect(await sidekiq.db.stats.processed()).toBe(0);
    expect(await sidekiq.db.redis.smembers('processes')).toEqual([]);

    // Their late completion is not recorded (they were handed back).
    g.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(await sidekiq.db.stats.processed()).toBe(0);
    expect(await sidekiq.db.stats.retrySize()).toBe(0);

    const second: WorkerRegistry = {
      Job: { queue: 'default', retry: true, perform: async ([name]) => void order.push(String(name)) },
    };
    await start(sidekiq.db, second, [unit(1, [['default', 1]])]);
    await waitFor(() => order.length === 3, 'all three run after restart');
    expect(order.slice(0, 2).sort()).toEqual(['a', 'b']);
    expect(order[2]).toBe('c');
  });

  it('loses jobs in flight on a crash (kill -9), as Sidekiq basic fetch does; the dead process ages out', async () => {
    const g = gate();
    let started = false;
    const workers: WorkerRegistry = {
      Job: {
        queue: 'default',
        retry: true,
        perform: async () => {
          started = true;
          await g.opened;
        },
      },
    };
    const h = await start(sidekiq.db, workers, [unit(1, [['default', 1]])]);
    await client(sidekiq.db, workers).push('Job', []);
    await waitFor(() => started, 'job in flight');
    await waitFor(async () => (await sidekiq.db.stats.work()).length === 1, 'heartbeat shows it');
    await h.crash();
    g.open();
    await new Promise((r) => setTimeout(r, 100));

    // The job is nowhere: not queued, not retried, not dead, not counted.
    expect(await sidekiq.db.redis.llen('queue:default')).toBe(0);
    expect(await sidekiq.db.stats.retrySize()).toBe(0);
    expect(await sidekiq.db.stats.deadSize()).toBe(0);
    expect(await sidekiq.db.stats.processed()).toBe(0);
    // The process is still listed, its hash dies within 60 s of its last beat…
    const id = h.identities[0]!;
    expect(await sidekiq.db.redis.smembers('processes')).toEqual([id]);
    const ttl = await sidekiq.db.redis.ttl(id);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await sidekiq.db.stats.processes()).toHaveLength(1);
    // …after which readers prune it (Sidekiq::ProcessSet#cleanup).
    await sidekiq.db.redis.del(id);
    expect(await sidekiq.db.stats.processes({ prune: true })).toEqual([]);
    expect(await sidekiq.db.redis.smembers('processes')).toEqual([]);
  });
});

describe('Redis outages', () => {
  it('backs off instead of spinning, logs once per outage, and still stops promptly', async () => {
    const messages: string[] = [];
    const unreachable = () =>
      new Redis('redis://127.0.0.1:1/0', {
        maxRetriesPerRequest: 1,
        retryStrategy: () => 100,
        connectTimeout: 200,
      });
    const h = await startSidekiq({
      newRedis: unreachable,
      units: [unit(2, [['default', 1]])],
      workers: {},
      onJobEnd: () => undefined,
      beatIntervalMs: 100,
      pollIntervalMs: 100,
      fetchTimeoutSec: 0.2,
      shutdownTimeoutMs: 200,
      log: (m) => messages.push(m),
    });
    await new Promise((r) => setTimeout(r, 1_500));
    const t0 = Date.now();
    await h.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(messages.some((m) => m.includes('Error fetching job'))).toBe(true);
    // One message per outage and per loop (fetch, heartbeat every 100 ms, poller), not one per attempt.
    expect(messages.filter((m) => m.includes('Error fetching job'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('heartbeat'))).toHaveLength(1);
    expect(messages.length).toBeLessThanOrEqual(3);
  });
});
