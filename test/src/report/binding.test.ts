import { describe, expect, it } from 'vitest';
import type { Binding } from '../../../src/model/components.js';
import { bindingText } from '../../../src/report/binding.js';

const limit = (l: Extract<Binding, { kind: 'limit' }>['limit']): Binding => ({ kind: 'limit', limit: l });

describe('bindingText', () => {
  it('words each limit with the knob names an admin sets', () => {
    const pool = {
      what: 'sidekiq-capacity',
      utilization: 0.834,
      maxThroughputPerSec: 212.44,
      bottleneck: 'interpreter-lock',
      processes: 2,
      threads: 50,
      threadUtilization: 0.31,
      lockUtilization: 0.7,
    } as const;
    expect(bindingText(limit(pool))).toBe(
      '83% of capacity 212 jobs/s (2 processes, 50 threads 31% busy, Ruby CPU 70% of a core per process); ' +
        'at capacity the interpreter lock binds: one job runs Ruby at a time per process (more processes help, more -c does not)',
    );
    expect(bindingText(limit({ ...pool, processes: 1, threads: 5, bottleneck: 'threads' }))).toBe(
      '83% of capacity 212 jobs/s (1 process, 5 threads 31% busy, Ruby CPU 70% of a core per process); ' +
        'at capacity every thread is busy, mostly waiting on I/O (more -c helps)',
    );
    expect(bindingText(limit({ ...pool, bottleneck: 'host-cores' }))).toMatch(
      /at capacity the host's cores bind \(more cores help, more processes do not\)$/,
    );
    expect(bindingText(limit({ ...pool, bottleneck: 'redis' }))).toMatch(/at capacity Redis's CPU binds/);
    expect(
      bindingText(
        limit({
          what: 'host-cpu',
          utilization: 0.9,
          hosts: [
            { host: 'app', utilization: 0.9 },
            { host: 'worker', utilization: 0.425 },
          ],
        }),
      ),
    ).toBe('host app CPU 90%, host worker CPU 43%');
    expect(
      bindingText(limit({ what: 'puma-threads', utilization: 0.5, webConcurrency: 3, maxThreads: 5 })),
    ).toBe('Puma 15 threads (WEB_CONCURRENCY 3 × MAX_THREADS 5) 50% busy');
    expect(
      bindingText(
        limit({
          what: 'server-connections',
          utilization: 0.5,
          busyConnections: 20.04,
          serverConnections: 40,
          pgbouncer: true,
        }),
      ),
    ).toBe('20.0 busy of 40 server connections (PgBouncer default_pool_size)');
    expect(
      bindingText(
        limit({
          what: 'redis-memory',
          utilization: 0.2,
          usedMB: 410.4,
          maxmemoryMB: 2048,
          feedsMB: 110.2,
          backlogMB: 0.2,
        }),
      ),
    ).toBe('410 MB of maxmemory 2048 MB (home feeds 110 MB, queues 0 MB)');
    expect(
      bindingText(
        limit({
          what: 'redis-memory',
          utilization: Infinity,
          usedMB: Infinity,
          maxmemoryMB: 2048,
          feedsMB: 110.2,
          backlogMB: Infinity,
        }),
      ),
    ).toBe("Sidekiq's queues grow without bound in maxmemory 2048 MB (home feeds 110 MB)");
  });

  it('words storage with or without a capacity, the database only when it shares the disk', () => {
    const storage = {
      localMediaGB: 100.4,
      remoteMediaCacheGB: 200.6,
      previewCardsGB: 3,
      databaseGB: 40,
      mediaGB: 304,
      usedGB: 344,
      egressGBPerMonth: 10,
    };
    const base = { what: 'storage', utilization: 0.344, storage, headroom: 0.2 } as const;
    expect(bindingText(limit({ ...base, capacityGB: 1000, databaseOnSameDisk: true }))).toBe(
      '344 GB used (local 100, remote cache 201, cards 3, database 40 GB) of 1000 GB (keeping 20% free)',
    );
    expect(bindingText(limit({ ...base, capacityGB: null, databaseOnSameDisk: false }))).toBe(
      '344 GB used (local 100, remote cache 201, cards 3 GB); unbounded bucket',
    );
  });

  it('words latencies in ms below a second, s above, unbounded when infinite', () => {
    expect(
      bindingText({
        kind: 'queue-wait',
        queue: 'push',
        percentile: 95,
        waitSec: 0.25,
        limitSec: 60,
        pool: ['default', 'push'],
        threadUtilization: 0.7,
      }),
    ).toBe('push p95 latency 250 ms (limit 60.0 s); pool default+push threads 70% busy');
    expect(bindingText({ kind: 'web-response', percentile: 99, responseSec: Infinity, limitSec: 1 })).toBe(
      'p99 response unbounded (limit 1.0 s)',
    );
  });

  it('puts an overbooked connection limit before whatever else binds', () => {
    expect(
      bindingText({
        kind: 'overbooked',
        clients: 225,
        configLimit: 100,
        pgbouncer: false,
        otherwise: limit({ what: 'postgres-cpu', utilization: 0.31, cores: 4 }),
      }),
    ).toBe(
      'clients may open 225 connections (Puma + Sidekiq DB_POOL + streaming) but max_connections is 100; PostgreSQL CPU 31% of 4 cores',
    );
  });

  it('words figures without a bound, never printing Infinity or NaN', () => {
    const storage = {
      localMediaGB: Infinity,
      remoteMediaCacheGB: 10,
      previewCardsGB: 1,
      databaseGB: NaN,
      mediaGB: Infinity,
      usedGB: Infinity,
      egressGBPerMonth: 1,
    };
    const texts = [
      bindingText(limit({ what: 'cache-memory', utilization: Infinity, usedMB: Infinity, maxmemoryMB: 512 })),
      bindingText(
        limit({
          what: 'redis-memory',
          utilization: 0.5,
          usedMB: 900,
          maxmemoryMB: Infinity,
          feedsMB: 600,
          backlogMB: NaN,
        }),
      ),
      bindingText(
        limit({
          what: 'server-connections',
          utilization: Infinity,
          busyConnections: Infinity,
          serverConnections: 40,
          pgbouncer: false,
        }),
      ),
      bindingText(
        limit({
          what: 'streaming-connections',
          utilization: NaN,
          connections: Infinity,
          processes: 1,
          maxConnectionsPerProcess: 1000,
        }),
      ),
      bindingText(
        limit({
          what: 'sidekiq-capacity',
          utilization: Infinity,
          maxThroughputPerSec: NaN,
          bottleneck: 'threads',
          processes: 1,
          threads: 25,
          threadUtilization: Infinity,
          lockUtilization: NaN,
        }),
      ),
      bindingText(
        limit({
          what: 'storage',
          utilization: Infinity,
          storage,
          capacityGB: 1500,
          headroom: 0.2,
          databaseOnSameDisk: true,
        }),
      ),
    ];
    for (const text of texts) expect(text).not.toMatch(/Infinity|NaN|undefined/);
    expect(texts[0]).toBe('cache unbounded MB of maxmemory 512 MB');
    expect(texts[1]).toBe('900 MB with no maxmemory limit set (home feeds 600 MB, queues unknown MB)');
    expect(texts[2]).toBe('unbounded busy of 40 server connections (max_connections)');
    expect(texts[5]).toMatch(/^unbounded GB used \(local unbounded, .*database unknown GB\)/);
  });
});
