import type { Argv } from 'yargs';
import type { CollectSources } from '../collect/index.js';
import { parseDurationMs } from '../run/duration.js';
import { InputError } from '../shared/errors.js';

/** A duration flag ("1s", "500ms", "10m") in milliseconds; bad text is the flag's InputError. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDurationMs(value, flag);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  if (!(ms > 0)) throw new InputError(`${flag} must be > 0, got "${value}"`);
  return ms;
}

/** What the collector observes: the flags of `fedicap collect` and `fedicap run --collect`. */
export function sourceFlags<T>(c: Argv<T>) {
  return c
    .option('sidekiq-redis', {
      type: 'string',
      describe: "Sidekiq's Redis (SIDEKIQ_REDIS_URL, else REDIS_URL), read-only: queues, processes, sets",
    })
    .option('database-url', {
      type: 'string',
      describe: 'PostgreSQL to observe (read-only statistics views)',
    })
    .option('redis-url', { type: 'string', describe: 'Redis whose INFO to sample (CPU, memory, ops/s)' })
    .option('prometheus', {
      type: 'string',
      array: true,
      describe: "A Prometheus text endpoint (Mastodon's exporter, node_exporter, cAdvisor); repeatable",
    })
    .option('process', {
      type: 'string',
      array: true,
      describe: 'NAME=PID of a local process whose CPU and memory to sample (/proc); repeatable',
    })
    .option('media-dir', { type: 'string', describe: 'Media directory whose bytes and files to count' })
    .option('host-cpu', {
      type: 'boolean',
      describe: "This host's CPU by mode (/proc/stat, as node_exporter's node_cpu_seconds_total)",
    })
    .option('interval', { type: 'string', default: '1s', describe: 'Time between samples' });
}

interface SourceArgs {
  'sidekiq-redis'?: string;
  'database-url'?: string;
  'redis-url'?: string;
  prometheus?: string[];
  process?: string[];
  'media-dir'?: string;
  'host-cpu'?: boolean;
  interval?: string;
}

/** The sources and interval the flags name. */
export function sourcesOf(args: SourceArgs): CollectSources & { intervalMs: number | undefined } {
  return {
    sidekiqRedis: args['sidekiq-redis'],
    databaseUrl: args['database-url'],
    redisUrl: args['redis-url'],
    prometheus: args.prometheus ?? [],
    processes: args.process ?? [],
    mediaDir: args['media-dir'],
    hostCpu: args['host-cpu'],
    intervalMs: durationFlag(args.interval, '--interval'),
  };
}
