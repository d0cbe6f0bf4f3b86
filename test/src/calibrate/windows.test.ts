import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { samplesToWindows } from '../../../src/calibrate/windows.js';
import { InputError } from '../../../src/shared/errors.js';
import { syntheticSamples } from '../../support/calibrationData.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

function cpu(sec: number, value: number, process = 'sidekiq-0'): Sample {
  return {
    time: at(sec),
    source: 'process',
    metric: 'process_cpu_seconds_total',
    value,
    labels: { process },
  };
}
function jobs(
  sec: number,
  value: number,
  job_name = 'FeedInsertWorker',
  metric = 'sidekiq_jobs_total',
): Sample {
  return { time: at(sec), source: 'prometheus', metric, value, labels: { job_name, queue: 'default' } };
}

describe('samplesToWindows', () => {
  it('turns counters into rates per window, splitting an increase pro rata across a boundary', () => {
    // CPU 0.5 s per second throughout; samples every 4 s so the pair (8 s, 12 s) straddles 10 s.
    const samples = [0, 4, 8, 12, 16, 20].map((s) => cpu(s, 100 + 0.5 * s));
    const series = samplesToWindows(samples, { windowSec: 10 });
    expect(series.windows.map((w) => w.startMs)).toEqual([T0, T0 + 10_000]);
    for (const w of series.windows) expect(w.processCpuSecPerSec['sidekiq-0']).toBeCloseTo(0.5, 12);
    expect(series.dropped).toBe(0);
  });

  it('keeps completions and the backlog per queue, and the testbed wait histogram per queue and bucket', () => {
    const samples: Sample[] = [];
    const hist = (sec: number, le: string, value: number): Sample => ({
      time: at(sec),
      source: 'prometheus',
      metric: 'fedicap_testbed_sidekiq_job_queue_latency_seconds_bucket',
      value,
      labels: { queue: 'push', le },
    });
    for (let s = 0; s <= 20; s++) {
      samples.push(jobs(s, 4 * s));
      samples.push({
        ...jobs(s, 2 * s, 'ActivityPub::DeliveryWorker'),
        labels: { job_name: 'ActivityPub::DeliveryWorker', queue: 'push' },
      });
      samples.push({
        time: at(s),
        source: 'prometheus',
        metric: 'sidekiq_queue_backlog',
        value: s,
        labels: { queue: 'push' },
      });
      // 2 jobs a second start on push, one within 10 ms, the other within 1 s.
      samples.push(hist(s, '0.01', s), hist(s, '1', 2 * s), hist(s, '+Inf', 2 * s));
    }
    const [first] = samplesToWindows(samples, { windowSec: 10 }).windows;
    expect(first!.queueCompletions.default).toBeCloseTo(40, 9);
    expect(first!.queueCompletions.push).toBeCloseTo(20, 9);
    expect(first!.queueBacklog.push).toBeCloseTo(4.5, 9);
    expect(first!.queueWaitBuckets.push).toEqual({ '0.01': 10, '1': 20, '+Inf': 20 });
  });

  it("reads the media store's growth with its sign: a deletion is not a counter restart", () => {
    const samples: Sample[] = [];
    // +1000 bytes a second for 10 s, then −500 a second (retention removing files).
    for (let s = 0; s <= 20; s++)
      samples.push({
        time: at(s),
        source: 'storage',
        metric: 'storage_bytes',
        value: s <= 10 ? 50_000 + 1000 * s : 60_000 - 500 * (s - 10),
        labels: { dir: '/m' },
      });
    samples.push(...[0, 5, 10, 15, 20].map((s) => cpu(s, s)));
    const [first, second] = samplesToWindows(samples, { windowSec: 10 }).windows;
    expect(first!.storageGrowthBytesPerSec).toBeCloseTo(1000, 9);
    expect(second!.storageGrowthBytesPerSec).toBeCloseTo(-500, 9);
  });

  it('handles a counter reset as Prometheus does: the new value is the increase', () => {
    // 10 jobs/s, the process restarts at 13 s: the counter falls from 130 to 20 (20 jobs since the restart).
    const values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 20, 30, 40, 50, 60, 70, 80];
    const samples = values.map((v, s) => jobs(s, v));
    const series = samplesToWindows(samples, { windowSec: 10 });
    expect(series.windows).toHaveLength(2);
    expect(series.windows[0]!.jobs.FeedInsertWorker!.completionsPerSec).toBeCloseTo(10, 12);
    // 10..13 s: 30 jobs; reset pair 13→14: 20; 14..20: 60.
    expect(series.windows[1]!.jobs.FeedInsertWorker!.completions).toBeCloseTo(110, 12);
  });

  it('counts a label set the exporter creates mid-run from 0, and strips the `ruby_` prefix', () => {
    const samples: Sample[] = [];
    for (let s = 0; s <= 20; s++) {
      samples.push(jobs(s, 5 * s, 'DistributionWorker', 'ruby_sidekiq_jobs_total'));
      // LinkCrawlWorker's first job completes between 14 s and 15 s; then 2 per second.
      if (s >= 15) samples.push(jobs(s, 1 + 2 * (s - 15), 'LinkCrawlWorker', 'ruby_sidekiq_jobs_total'));
    }
    const [first, second] = samplesToWindows(samples, { windowSec: 10 }).windows;
    expect(first!.jobs.LinkCrawlWorker).toBeUndefined();
    expect(first!.jobs.DistributionWorker!.completionsPerSec).toBeCloseTo(5, 12);
    expect(second!.jobs.LinkCrawlWorker!.completions).toBeCloseTo(11, 12);
  });

  it('averages gauges: total busy threads and the latency per queue', () => {
    const samples: Sample[] = [];
    for (let s = 0; s <= 10; s++) {
      for (const p of ['a', 'b'])
        samples.push({
          time: at(s),
          source: 'prometheus',
          metric: 'sidekiq_process_busy',
          value: s < 5 ? 1 : 3,
          labels: { process: p },
        });
      samples.push({
        time: at(s),
        source: 'prometheus',
        metric: 'sidekiq_queue_latency_seconds',
        value: s / 10,
        labels: { queue: 'push' },
      });
    }
    const [w] = samplesToWindows(samples, { windowSec: 10 }).windows;
    // Samples at 0..9 s fall in the window: busy 1 for five, 3 for five, per process.
    expect(w!.sidekiqBusyThreads).toBeCloseTo(4, 12);
    expect(w!.queueLatencySec.push).toBeCloseTo(0.45, 12);
  });

  it('drops and counts windows where a needed source recorded a gap or fell silent', () => {
    const samples = syntheticSamples({
      seed: 3,
      steps: [{ durationSec: 120, ratesPerSec: { FeedInsertWorker: 20 } }],
      jobs: { FeedInsertWorker: { cpuSec: 0.002, wallSec: 0.01 } },
      frameworkCpuSec: 0.0003,
      idleCpuSecPerSec: 0.01,
      redis: { cpuSecPerJob: 0.00003, idleCpuSecPerSec: 0.002 },
      processGapsSec: [[35, 38]],
    });
    const series = samplesToWindows(samples, { windowSec: 10 });
    // Samples from 1 s to 120 s: 11 windows [1, 111) s; [31, 41) holds the gap.
    expect(series.windows).toHaveLength(10);
    expect(series.dropped).toBe(1);
    expect(series.droppedBySource).toEqual({ process: 1 });
    expect(series.windows.some((w) => w.startMs === T0 + 31_000)).toBe(false);
    // Redis: user + system, 20 jobs/s × 0.03 ms + 2 ms idle.
    const redis = series.windows.map((w) => w.redisCpuSecPerSec!);
    expect(redis.reduce((a, b) => a + b, 0) / redis.length).toBeCloseTo(0.0026, 3);
    // Without the process source needed, the gap does not matter.
    expect(samplesToWindows(samples, { windowSec: 10, needed: ['prometheus'] }).dropped).toBe(0);
    // A silence without a gap record: the process source's samples between 60 and 75 s removed drops
    // [51, 61), [61, 71) and [71, 81) too.
    const silent = samples.filter((s) => !(s.source === 'process' && s.time > at(60) && s.time < at(75)));
    expect(samplesToWindows(silent, { windowSec: 10 }).droppedBySource.process).toBe(1 + 3);
  });

  it('says which needed source never answered and rejects a bad time', () => {
    expect(() => samplesToWindows([cpu(0, 1)], { needed: ['redis'] })).toThrow(
      new InputError('samples: no sample from needed source "redis"'),
    );
    expect(() => samplesToWindows([{ ...cpu(0, 1), time: 'yesterday' }])).toThrow(/sample 1 .* not ISO 8601/);
  });
});
