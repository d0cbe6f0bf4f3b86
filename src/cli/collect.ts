import type { Argv } from 'yargs';
import type { CollectSummary } from '../collect/index.js';
import { formatDurationMs } from '../run/duration.js';
import { durationFlag, sourceFlags, sourcesOf } from './collectFlags.js';

function collectFlags(c: Argv) {
  return sourceFlags(c)
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
        ...sourcesOf(args),
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
