import type { Argv } from 'yargs';
import type { CollectSummary } from '../collect/index.js';
import { formatDurationMs, parseDurationMs } from '../run/duration.js';
import { InputError } from '../shared/errors.js';

/** A duration flag ("1s", "500ms", "10m") in milliseconds; bad text is the flag's InputError. */
function durationFlag(value: string | undefined, flag: string): number | undefined {
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

function collectFlags(c: Argv) {
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
    .option('interval', { type: 'string', default: '1s', describe: 'Time between samples' })
    .option('duration', { type: 'string', describe: 'Stop after this long (default: at Ctrl-C or SIGTERM)' })
    .option('out', { type: 'string', demandOption: true, describe: 'The samples file (NDJSON) to write' });
}

function summaryText(s: CollectSummary): string {
  const lines = [`wrote ${s.lines} lines to ${s.out} in ${formatDurationMs(s.elapsedMs)} (${s.ticks} ticks)`];
  for (const src of s.sources)
    lines.push(
      `  ${src.source} ${src.name}: ${src.samples} samples, ${src.gaps} gaps, ${src.skippedTicks} skipped ticks`,
    );
  if (s.missedTicks > 0) lines.push(`  ${s.missedTicks} ticks missed (the collector itself was busy)`);
  return `${lines.join('\n')}\n`;
}

/** `fedicap collect`: flags → startCollection (src/collect/index.ts) until the duration or a stop signal. */
export function collectCommand(y: Argv) {
  return y.command(
    'collect',
    'Sample what the instance does (Sidekiq, PostgreSQL, Redis, Prometheus endpoints, processes, media) into an NDJSON file; reads only',
    collectFlags,
    async (args) => {
      const { startCollection } = await import('../collect/index.js');
      const collection = startCollection({
        sidekiqRedis: args['sidekiq-redis'],
        databaseUrl: args['database-url'],
        redisUrl: args['redis-url'],
        prometheus: args.prometheus ?? [],
        processes: args.process ?? [],
        mediaDir: args['media-dir'],
        intervalMs: durationFlag(args.interval, '--interval'),
        durationMs: durationFlag(args.duration, '--duration'),
        out: args.out,
        status: process.stderr,
      });
      const stop = () => void collection.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        process.stdout.write(summaryText(await collection.done));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      // Exit once the streams have drained: a source's socket must not keep the process alive.
      await new Promise<void>((r) => process.stdout.write('', () => r()));
      await new Promise<void>((r) => process.stderr.write('', () => r()));
      process.exit(0);
    },
  );
}
