import { Redis } from 'ioredis';
import { withoutCredentials } from '../shared/urlSecrets.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

const TIMEOUT_MS = 5_000;
/** The name this sampler's connection gives itself (CLIENT SETNAME), visible in CLIENT LIST. */
export const REDIS_CLIENT_NAME = 'fedicap-collect';

/** INFO fields (server-wide) and the metric each becomes (Redis documentation, INFO command). */
const INFO_FIELDS = {
  used_cpu_user: 'redis_cpu_user_seconds_total',
  used_cpu_sys: 'redis_cpu_sys_seconds_total',
  used_memory: 'redis_used_memory_bytes',
  maxmemory: 'redis_maxmemory_bytes',
  evicted_keys: 'redis_evicted_keys_total',
  total_commands_processed: 'redis_commands_processed_total',
  instantaneous_ops_per_sec: 'redis_instantaneous_ops_per_sec',
} as const;

/** `key:value` lines of an INFO reply; section headers and blank lines skipped. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** The keyspace section's `dbN:keys=K,expires=E,avg_ttl=T`: database index → keys. */
function keyspace(fields: Map<string, string>): [string, number][] {
  const dbs: [string, number][] = [];
  for (const [key, value] of fields) {
    const db = /^db(\d+)$/.exec(key)?.[1];
    const keys = /(?:^|,)keys=(\d+)/.exec(value)?.[1];
    if (db !== undefined && keys !== undefined) dbs.push([db, Number(keys)]);
  }
  return dbs;
}

/**
 * Redis as the instance uses it, from INFO alone (the only command this sampler sends): CPU seconds of
 * the server (user, sys), memory used and its limit (0: none), evictions, commands processed,
 * instantaneous ops/s, `redis_connected_clients` (this sampler's own connection left out) and
 * `redis_keys{db}` from the keyspace section. The connection reconnects by itself; while it is down
 * a sample is a gap (no offline queue: a command fails at once instead of waiting).
 */
export class RedisInfoSampler implements Sampler {
  readonly source = 'redis' as const;
  readonly name: string;
  private readonly redis: Redis;
  /** The connection's last error: why a command failed with "Connection is closed". */
  private lastError: string | undefined;

  constructor(url: string) {
    this.name = withoutCredentials(url);
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: TIMEOUT_MS,
      commandTimeout: TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      connectionName: REDIS_CLIENT_NAME,
      // Reconnect in the background, at most every 2 s: the collector retries each interval anyway.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.redis.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    this.redis.on('ready', () => {
      this.lastError = undefined;
    });
  }

  async sample(time: string): Promise<Sample[]> {
    let text: string;
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      text = await this.redis.info();
    } catch (err) {
      const reason =
        this.redis.status !== 'ready' && this.lastError ? this.lastError : (err as Error).message;
      throw new Error(`${this.name}: ${reason}`);
    }
    const fields = parseInfo(text);
    const at = (metric: string, value: number, labels: Record<string, string> = {}): Sample => ({
      time,
      source: this.source,
      metric,
      value,
      labels,
    });
    const samples: Sample[] = [];
    for (const [field, metric] of Object.entries(INFO_FIELDS)) {
      const value = Number(fields.get(field));
      if (fields.has(field) && Number.isFinite(value)) samples.push(at(metric, value));
    }
    const clients = Number(fields.get('connected_clients'));
    if (Number.isFinite(clients)) samples.push(at('redis_connected_clients', Math.max(0, clients - 1)));
    for (const [db, keys] of keyspace(fields)) samples.push(at('redis_keys', keys, { db }));
    return samples;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
