/**
 * The binding constraint of a component in an admin's words: the model says
 * which limit binds and with what figures (src/model/components.ts), this
 * module says it in a sentence, with Mastodon's knob names.
 */
import type { Binding, Limit } from '../model/components.js';
import type { PoolBottleneck } from '../model/sidekiqNetwork.js';
import type { StorageState } from '../model/storage.js';

/** A figure with `digits` decimals; without a bound (or not a number) in words, never "Infinity" or "NaN". */
const num = (x: number, digits = 0) =>
  Number.isFinite(x) ? x.toFixed(digits) : Number.isNaN(x) ? 'unknown' : 'unbounded';
const pct = (x: number) => (Number.isFinite(x) ? `${num(x * 100)}%` : num(x));
const secs = (x: number) =>
  Number.isFinite(x) ? (x < 1 ? `${num(x * 1000)} ms` : `${num(x, 1)} s`) : num(x);
/** " of maxmemory 2048 MB", or " with no maxmemory limit set". */
const ofMaxmemory = (mb: number) =>
  Number.isFinite(mb) ? ` of maxmemory ${num(mb)} MB` : ' with no maxmemory limit set';

export function bindingText(binding: Binding): string {
  switch (binding.kind) {
    case 'limit':
      return limitText(binding.limit);
    case 'queue-wait':
      return `${binding.queue} p${binding.percentile} latency ${secs(binding.waitSec)} (limit ${secs(binding.limitSec)}); pool ${binding.pool.join('+')} threads ${pct(binding.threadUtilization)} busy`;
    case 'web-response':
      return `p${binding.percentile} response ${secs(binding.responseSec)} (limit ${secs(binding.limitSec)})`;
    case 'overbooked':
      return `clients may open ${binding.clients} connections (Puma + Sidekiq DB_POOL + streaming) but ${binding.pgbouncer ? 'PgBouncer max_client_conn' : 'max_connections'} is ${binding.configLimit}; ${bindingText(binding.otherwise)}`;
  }
}

function limitText(limit: Limit): string {
  const busy = pct(limit.utilization);
  switch (limit.what) {
    case 'sidekiq-capacity':
      return sidekiqCapacityText(limit);
    case 'host-cpu':
      return limit.hosts.map((h) => `host ${h.host} CPU ${pct(h.utilization)}`).join(', ');
    case 'puma-threads':
      return `Puma ${limit.webConcurrency * limit.maxThreads} threads (WEB_CONCURRENCY ${limit.webConcurrency} × MAX_THREADS ${limit.maxThreads}) ${busy} busy`;
    case 'puma-cpu':
      return `Ruby CPU of ${limit.webConcurrency} Puma worker(s) ${busy}`;
    case 'postgres-cpu':
      return `PostgreSQL CPU ${busy} of ${limit.cores} cores`;
    case 'replica-cpu':
      return `read replica CPU ${busy} of ${limit.cores} cores`;
    case 'server-connections':
      return `${num(limit.busyConnections, 1)} busy of ${limit.serverConnections} server connections${limit.pgbouncer ? ' (PgBouncer default_pool_size)' : ' (max_connections)'}`;
    case 'streaming-connections':
      return `${num(limit.connections)} connections at peak of ${limit.processes} × ${num(limit.maxConnectionsPerProcess)}`;
    case 'event-loop-cpu':
      return `event loop CPU ${busy}`;
    case 'redis-memory':
      if (!Number.isFinite(limit.usedMB))
        return `Sidekiq's queues grow without bound${Number.isFinite(limit.maxmemoryMB) ? ` in maxmemory ${num(limit.maxmemoryMB)} MB` : ''} (home feeds ${num(limit.feedsMB)} MB)`;
      return `${num(limit.usedMB)} MB${ofMaxmemory(limit.maxmemoryMB)} (home feeds ${num(limit.feedsMB)} MB, queues ${num(limit.backlogMB)} MB)`;
    case 'cache-memory':
      return `cache ${num(limit.usedMB)} MB${ofMaxmemory(limit.maxmemoryMB)}`;
    case 'storage': {
      const used = storageUsedText(limit.storage, limit.databaseOnSameDisk);
      return limit.capacityGB === null
        ? `${used}; unbounded bucket`
        : `${used} of ${num(limit.capacityGB)} GB (keeping ${pct(limit.headroom)} free)`;
    }
  }
}

/** The pool's load against its capacity, what its threads and interpreter locks do, and what binds it. */
function sidekiqCapacityText(limit: Limit & { what: 'sidekiq-capacity' }): string {
  const processes = limit.processes === 1 ? '1 process' : `${limit.processes} processes`;
  const capacity = Number.isFinite(limit.maxThroughputPerSec)
    ? `${limit.maxThroughputPerSec.toPrecision(3)} jobs/s`
    : num(limit.maxThroughputPerSec);
  const inside = `${processes}, ${limit.threads} threads ${pct(limit.threadUtilization)} busy, Ruby CPU ${pct(limit.lockUtilization)} of a core per process`;
  return `${pct(limit.utilization)} of capacity ${capacity} (${inside}); at capacity ${BOTTLENECK_WORDS[limit.bottleneck]}`;
}

const BOTTLENECK_WORDS: Record<PoolBottleneck, string> = {
  threads: 'every thread is busy, mostly waiting on I/O (more -c helps)',
  'interpreter-lock':
    'the interpreter lock binds: one job runs Ruby at a time per process (more processes help, more -c does not)',
  'host-cores': "the host's cores bind (more cores help, more processes do not)",
  redis: "Redis's CPU binds: single-threaded, per fetch and acknowledgement (a faster Redis host helps)",
};

function storageUsedText(s: StorageState, databaseOnSameDisk: boolean): string {
  const database = databaseOnSameDisk ? `, database ${num(s.databaseGB)}` : '';
  return `${num(s.usedGB)} GB used (local ${num(s.localMediaGB)}, remote cache ${num(s.remoteMediaCacheGB)}, cards ${num(s.previewCardsGB)}${database} GB)`;
}
