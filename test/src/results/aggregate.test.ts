import { describe, expect, it } from 'vitest';
import { aggregateK6Files, K6Aggregator } from '../../../src/results/aggregate.js';
import { readK6JsonBatches } from '../../../src/results/k6Json.js';
import { BadLines } from '../../../src/results/records.js';
import { InputError } from '../../../src/shared/errors.js';
import { seededRng } from '../../../src/shared/random.js';
import { tempDir } from '../../support/helpers.js';
import { metricLine, pointLine, requestLines, writeLines } from '../../support/k6Lines.js';

const T0 = Date.UTC(2026, 11, 3, 14, 0, 0);
const STATIONS = ['inbox', 'timelines/home', 'statuses/create'];

/** A run of `n` requests over 60 s: seeded stations, statuses (2 % 429, 3 % 503) and log-normal durations. */
function syntheticRun(n: number) {
  const rng = seededRng(3);
  const lines = ['http_reqs', 'http_req_duration', 'http_req_failed', 'iterations'].map(metricLine);
  const requests: Array<{ ms: number; station: string; status: string; durationMs: number }> = [];
  for (let i = 0; i < n; i++) {
    const ms = T0 + Math.floor((i * 60_000) / n);
    const station = STATIONS[Math.floor(rng.next() * STATIONS.length)]!;
    const u = rng.next();
    const status = u < 0.02 ? '429' : u < 0.05 ? '503' : '200';
    const durationMs = Number((20 * Math.exp(1.5 * (rng.next() + rng.next() - 1))).toFixed(6));
    requests.push({ ms, station, status, durationMs });
    lines.push(...requestLines(ms, durationMs, { station, status, scenario: 'users', method: 'GET' }));
  }
  return { lines, requests };
}

/** The nearest-rank percentile (the definition HdrHistogram reads back). */
function exactPercentile(values: number[], p: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe('aggregateK6Files', () => {
  const run = syntheticRun(6000);

  it('gives identical aggregates for the plain and the gzip file', async () => {
    const plain = writeLines(run.lines, 'k6.ndjson');
    const gzip = writeLines(run.lines, 'k6.ndjson.gz', { gzip: true });
    const a = await aggregateK6Files([plain]);
    expect(a.total.requests).toBe(6000);
    expect(await aggregateK6Files([gzip])).toEqual(a);
  });

  it('reads percentiles within HdrHistogram’s 3 significant digits of an exact sort, per station and overall', async () => {
    const result = await aggregateK6Files([writeLines(run.lines, 'k6.ndjson')]);
    const check = (got: number | null, values: number[], p: number) => {
      const exact = exactPercentile(values, p);
      expect(Math.abs(got! - exact)).toBeLessThanOrEqual(exact * 1e-3 + 1e-3);
    };
    const timed = result.groups.filter((g) => g.latencyCount > 0);
    expect(timed.map((g) => g.group)).toEqual([...STATIONS].sort());
    for (const g of timed) {
      const values = run.requests.filter((r) => r.station === g.group).map((r) => r.durationMs);
      expect(g.latencyCount).toBe(values.length);
      check(g.p50Ms, values, 50);
      check(g.p95Ms, values, 95);
      check(g.p99Ms, values, 99);
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      expect(Math.abs(g.meanMs! - mean)).toBeLessThanOrEqual(mean * 1e-3 + 1e-3);
    }
    check(
      result.total.p95Ms,
      run.requests.map((r) => r.durationMs),
      95,
    );
  });

  it('counts requests, rates, error and 429 shares per station and 10 s window aligned to the start', async () => {
    const result = await aggregateK6Files([writeLines(run.lines, 'k6.ndjson')], { startMs: T0 - 5000 });
    expect(result.startMs).toBe(T0 - 5000);
    // The first window is [T0-5 s, T0+5 s): it holds the first 5 s of requests.
    const inbox = result.windows.filter((w) => w.group === 'inbox');
    expect(inbox.map((w) => w.startMs)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => T0 - 5000 + i * 10_000));
    for (const w of inbox) {
      const mine = run.requests.filter(
        (r) => r.station === 'inbox' && r.ms >= w.startMs && r.ms < w.startMs + 10_000,
      );
      expect(w.requests).toBe(mine.length);
      expect(w.ratePerSec).toBeCloseTo(mine.length / 10, 9);
      expect(w.status429Share).toBeCloseTo(mine.filter((r) => r.status === '429').length / mine.length, 12);
      expect(w.errorShare).toBeCloseTo(mine.filter((r) => r.status !== '200').length / mine.length, 12);
      expect(w.iterations).toBe(0); // iterations carry the scenario tag only
    }
    const whole = result.groups.find((g) => g.group === 'inbox')!;
    expect(whole.requests).toBe(run.requests.filter((r) => r.station === 'inbox').length);
    expect(whole.requests).toBe(inbox.reduce((a, w) => a + w.requests, 0));
  });

  it('groups by another tag: scenario holds iterations and dropped iterations', async () => {
    const lines = [
      metricLine('iterations'),
      pointLine('iterations', T0, 1, { scenario: 'inbound' }),
      pointLine('iterations', T0 + 1000, 1, { scenario: 'inbound' }),
      pointLine('iterations', T0 + 2000, 1, { scenario: 'inbound' }),
      metricLine('dropped_iterations'),
      pointLine('dropped_iterations', T0 + 3000, 1, { scenario: 'inbound' }),
      pointLine('vus', T0 + 3000, 5, null),
    ];
    const result = await aggregateK6Files([writeLines(lines, 'k6.ndjson')], { groupBy: 'scenario' });
    expect(result.groups).toHaveLength(1);
    expect(result.groups[0]).toMatchObject({
      group: 'inbound',
      iterations: 3,
      droppedIterations: 1,
      droppedShare: 0.25,
    });
    expect(result.groups[0]!.p95Ms).toBeNull();
    expect(result.groups[0]!.errorShare).toBeNull();
  });

  it('reads a run split across load generators as the same run in one file', async () => {
    const dir = tempDir('fedicap-split-');
    const head = run.lines.slice(0, 4);
    const points = run.lines.slice(4);
    // Generator 0 took the even requests, generator 1 the odd ones; one file plain, the other gzip.
    const part = (k: number) => points.filter((_, i) => Math.floor(i / 4) % 2 === k);
    const files = [
      writeLines([...head, ...part(0)], 'k6-0.ndjson', { dir }),
      writeLines([...head, ...part(1)], 'k6-1.ndjson.gz', { dir, gzip: true }),
    ];
    const single = await aggregateK6Files([writeLines(run.lines, 'k6.ndjson', { dir })]);
    expect(await aggregateK6Files(files)).toEqual(single);
    expect(await aggregateK6Files([...files].reverse())).toEqual(single);
  });

  it('stops at a bad line naming file:line, or with skipBadLines counts it and goes on', async () => {
    const lines = [...run.lines];
    lines.splice(10, 0, '{"type":"Point","data":{"time":"2026-12-03T14:00:00Z","val');
    lines.splice(
      20,
      0,
      '{"type":"Point","data":{"time":"2026-12-03T14:00:00Z","value":"1","tags":null},"metric":"http_reqs"}',
    );
    const path = writeLines(lines, 'k6.ndjson');
    await expect(aggregateK6Files([path])).rejects.toThrow(new InputError(`${path}:11: not JSON`));
    const bad = new BadLines();
    const result = await aggregateK6Files([path], { skipBadLines: bad });
    expect(bad.count).toBe(2);
    expect(bad.examples).toEqual([
      `${path}:11: not JSON`,
      `${path}:21: a Point line without a numeric data.value`,
    ]);
    expect(result.total.requests).toBe(6000);
  });

  it('with skipBadLines, counts the lost end of a truncated gzip as one bad line', async () => {
    const { gzipSync } = await import('node:zlib');
    const { writeFileSync } = await import('node:fs');
    const path = writeLines(run.lines, 'k6.ndjson.gz', { gzip: true });
    const gz = gzipSync(`${run.lines.join('\n')}\n`);
    writeFileSync(path, gz.subarray(0, gz.length - 100));
    await expect(aggregateK6Files([path])).rejects.toThrow(/k6\.ndjson\.gz:\d+: the gzip stream ends early/);
    const bad = new BadLines();
    const result = await aggregateK6Files([path], { skipBadLines: bad });
    expect(bad.count).toBe(1);
    expect(bad.examples[0]).toMatch(/k6\.ndjson\.gz:\d+: the gzip stream ends early/);
    expect(result.total.requests).toBeGreaterThan(5000);
  });
});

describe('K6Aggregator', () => {
  it('cuts the last window at the run’s end when given one', async () => {
    const lines = [
      metricLine('http_reqs'),
      pointLine('http_reqs', T0, 1, { station: 'inbox' }),
      pointLine('http_reqs', T0 + 12_000, 1, { station: 'inbox' }),
    ];
    const aggregator = new K6Aggregator({ startMs: T0, endMs: T0 + 14_000 });
    for await (const batch of readK6JsonBatches(writeLines(lines, 'k6.ndjson'))) aggregator.add(batch);
    const result = aggregator.result();
    expect(result.windows.map((w) => [w.durationSec, w.ratePerSec])).toEqual([
      [10, 0.1],
      [4, 0.25],
    ]);
    expect(result.total).toMatchObject({ durationSec: 14, requests: 2 });
  });
});
