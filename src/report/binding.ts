/**
 * The binding constraint of a component in an admin's words: the model says
 * which limit binds and with what figures (src/model/components.ts), this
 * module says it in a sentence, with Mastodon's knob names.
 */
import type { Binding, Limit } from '../model/components.js';
import type { StorageState } from '../model/storage.js';

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const secs = (x: number) =>
  Number.isFinite(x) ? (x < 1 ? `${(x * 1000).toFixed(0)} ms` : `${x.toFixed(1)} s`) : 'unbounded';

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
    case 'sidekiq-threads':
      return `${limit.threads} threads ${busy} busy`;
    case 'sidekiq-cpu':
      return `Ruby CPU of ${limit.processes} process(es) ${busy} (one core each at most)`;
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
      return `${limit.busyConnections.toFixed(1)} busy of ${limit.serverConnections} server connections${limit.pgbouncer ? ' (PgBouncer default_pool_size)' : ' (max_connections)'}`;
    case 'streaming-connections':
      return `${limit.connections.toFixed(0)} connections at peak of ${limit.processes} × ${limit.maxConnectionsPerProcess.toFixed(0)}`;
    case 'event-loop-cpu':
      return `event loop CPU ${busy}`;
    case 'redis-memory':
      return `${limit.usedMB.toFixed(0)} MB of maxmemory ${limit.maxmemoryMB} MB (home feeds ${limit.feedsMB.toFixed(0)} MB, queues ${Number.isFinite(limit.backlogMB) ? limit.backlogMB.toFixed(0) : 'unbounded'} MB)`;
    case 'cache-memory':
      return `cache ${limit.usedMB.toFixed(0)} MB of maxmemory ${limit.maxmemoryMB} MB`;
    case 'storage': {
      const used = storageUsedText(limit.storage, limit.databaseOnSameDisk);
      return limit.capacityGB === null
        ? `${used}; unbounded bucket`
        : `${used} of ${limit.capacityGB} GB (keeping ${pct(limit.headroom)} free)`;
    }
  }
}

function storageUsedText(s: StorageState, databaseOnSameDisk: boolean): string {
  const database = databaseOnSameDisk ? `, database ${s.databaseGB.toFixed(0)}` : '';
  return `${s.usedGB.toFixed(0)} GB used (local ${s.localMediaGB.toFixed(0)}, remote cache ${s.remoteMediaCacheGB.toFixed(0)}, cards ${s.previewCardsGB.toFixed(0)}${database} GB)`;
}
