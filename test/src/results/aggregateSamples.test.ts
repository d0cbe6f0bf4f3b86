import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { aggregateSampleFile, SampleAggregator } from '../../../src/results/aggregateSamples.js';
import { writeLines } from '../../support/k6Lines.js';

const T0 = Date.UTC(2026, 11, 3, 14, 0, 0);
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();
const sample = (sec: number, metric: string, value: number, labels: Record<string, string> = {}): Sample => ({
  time: at(sec),
  source: 'prometheus',
  metric,
  value,
  labels,
});

describe('SampleAggregator', () => {
  it('turns a counter into increases and rates per window, treating a drop as a restart from 0', () => {
    const agg = new SampleAggregator({ startMs: T0, windowSec: 10 });
    // 5/s for 10 s, then the process restarts at 15 s (the counter reads 10 at 16 s), then 5/s again.
    const values: Array<[number, number]> = [
      [0, 100],
      [5, 125],
      [10, 150],
      [15, 175],
      [16, 10],
      [20, 30],
    ];
    agg.add(values.map(([s, v]) => sample(s, 'sidekiq_jobs_total', v, { queue: 'push' })));
    const [series] = agg.result();
    expect(series).toMatchObject({
      kind: 'counter',
      metric: 'sidekiq_jobs_total',
      labels: { queue: 'push' },
    });
    expect(series!.windows).toEqual([
      { startMs: T0, increase: 25, coveredSec: 5, ratePerSec: 5, resets: 0 },
      // Intervals 5→10 s and 10→15 s (25 each) and 15→16 s (a restart: the 10 it reads).
      { startMs: T0 + 10_000, increase: 60, coveredSec: 11, ratePerSec: 60 / 11, resets: 1 },
      { startMs: T0 + 20_000, increase: 20, coveredSec: 4, ratePerSec: 5, resets: 0 },
    ]);
  });

  it('gives a gauge its mean, min and max per window, each label set its own series', () => {
    const agg = new SampleAggregator({ startMs: T0 });
    agg.add([
      sample(1, 'sidekiq_queue_backlog', 4, { queue: 'push' }),
      sample(2, 'sidekiq_queue_backlog', 8, { queue: 'push' }),
      sample(2, 'sidekiq_queue_backlog', 100, { queue: 'ingress' }),
      sample(11, 'sidekiq_queue_backlog', 3, { queue: 'push' }),
    ]);
    const series = agg.result();
    expect(series.map((s) => s.labels.queue)).toEqual(['ingress', 'push']);
    expect(series[1]!.windows).toEqual([
      { startMs: T0, count: 2, mean: 6, min: 4, max: 8 },
      { startMs: T0 + 10_000, count: 1, mean: 3, min: 3, max: 3 },
    ]);
  });

  it('reads a samples file through aggregateSampleFile', async () => {
    const lines = [
      sample(0, 'redis_commands_processed_total', 0),
      sample(10, 'redis_commands_processed_total', 1000),
    ];
    const path = writeLines(
      lines.map((s) => JSON.stringify(s)),
      'samples.ndjson',
    );
    const [series] = await aggregateSampleFile(path, { startMs: T0 });
    expect(series!.windows).toEqual([
      { startMs: T0 + 10_000, increase: 1000, coveredSec: 10, ratePerSec: 100, resets: 0 },
    ]);
  });
});
