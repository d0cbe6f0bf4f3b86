import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { constants, createGzip, type Gzip } from 'node:zlib';
import type { K6MetricLine } from '../../results/k6Json.js';
import { tempPathFor } from '../../shared/files.js';
import type { Metric, SampleSink } from './metrics.js';

/**
 * k6's `--out json` format: one `Metric` line the first time a metric is
 * seen, then one `Point` line per sample
 * (https://grafana.com/docs/k6/latest/results-output/real-time/json/).
 * Lines are buffered and flushed every 200 ms, as k6's JSON output does, and
 * gzip-compressed when the file name ends in .gz, as k6 does (at zlib's
 * fastest level: the executor's core is the load generator's).
 */
export class NdjsonWriter implements SampleSink {
  private readonly file: WriteStream;
  private readonly gzip: Gzip | null;
  private readonly temp: string;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private readonly timer: NodeJS.Timeout;
  private failed: Error | null = null;

  constructor(private readonly path: string) {
    this.temp = tempPathFor(path);
    this.file = createWriteStream(this.temp);
    const onError = (err: Error) => {
      this.failed ??= err;
    };
    this.file.on('error', onError);
    this.gzip = path.endsWith('.gz') ? createGzip({ level: constants.Z_BEST_SPEED }) : null;
    // A failed compressor leaves the file unended: destroy it, so that close() sees it close.
    this.gzip
      ?.on('error', (err) => {
        onError(err);
        this.file.destroy();
      })
      .pipe(this.file);
    this.timer = setInterval(() => this.flush(), 200);
    this.timer.unref();
  }

  metricLine(metric: Metric): void {
    // Typed as src/results reads it back; key order is the bytes k6 writes.
    const data: K6MetricLine['data'] = {
      name: metric.name,
      type: metric.type,
      contains: metric.contains,
      thresholds: metric.thresholds,
      submetrics: metric.submetrics.length
        ? metric.submetrics.map((s) => ({ name: s.name, suffix: s.suffix, tags: s.tags }))
        : null,
    };
    this.push(`{"type":"Metric","data":${JSON.stringify(data)},"metric":${JSON.stringify(metric.name)}}\n`);
  }

  pointLine(metric: string, timeMs: number, value: number, tagsJson: string): void {
    this.push(
      `{"type":"Point","data":{"time":"${rfc3339(timeMs)}","value":${Number.isFinite(value) ? value : 0},"tags":${tagsJson}},"metric":${JSON.stringify(metric)}}\n`,
    );
  }

  private push(line: string): void {
    this.buffer.push(line);
    this.bufferedChars += line.length;
    if (this.bufferedChars > 256 * 1024) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    (this.gzip ?? this.file).write(this.buffer.join(''));
    this.buffer = [];
    this.bufferedChars = 0;
  }

  /** Flush, close and rename into place (or remove the temporary file when `keep` is false). */
  async close(keep = true): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    const closed = once(this.file, 'close').catch(() => undefined);
    (this.gzip ?? this.file).end();
    await closed;
    if (this.failed) {
      rmSync(this.temp, { force: true });
      throw this.failed;
    }
    if (keep) renameSync(this.temp, this.path);
    else rmSync(this.temp, { force: true });
  }
}

/** RFC 3339 with microseconds, UTC. */
export function rfc3339(timeMs: number): string {
  const whole = Math.floor(timeMs);
  const iso = new Date(whole).toISOString(); // ...T..:..:..mmmZ
  const micro = Math.floor((timeMs - whole) * 1000);
  return `${iso.slice(0, 23)}${String(micro).padStart(3, '0')}Z`;
}
