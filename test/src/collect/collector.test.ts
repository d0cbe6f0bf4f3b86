import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect } from '../../../src/collect/collector.js';
import type { Sample, SampleSource } from '../../../src/collect/sample.js';
import type { Sampler } from '../../../src/collect/sampler.js';
import { tempDir, waitFor } from '../../support/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sampler whose `answer` decides each call (call numbers from 1); it remembers whether it was closed. */
function sampler(
  name: string,
  answer: (call: number, time: string) => Promise<Sample[]>,
  source: SampleSource = 'process',
) {
  let calls = 0;
  const s = {
    source,
    name,
    closed: false as boolean,
    get calls() {
      return calls;
    },
    sample: (time: string) => answer(++calls, time),
    close: async () => {
      s.closed = true;
    },
  } satisfies Sampler & { closed: boolean; calls: number };
  return s;
}

const one = (metric: string, value: number, time: string, labels: Record<string, string> = {}): Sample => ({
  time,
  source: 'process',
  metric,
  value,
  labels,
});

const readLines = (path: string): Sample[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);

describe('collect', () => {
  it('samples every source each tick; a failing source leaves one gap record per failed attempt and a recovery record; a slow one only loses its own ticks', async () => {
    const dir = tempDir('fedicap-collect-');
    const out = join(dir, 'samples.ndjson');
    const fast = sampler('fast', async (n, t) => [one('fast_calls_total', n, t)]);
    const flaky = sampler('flaky', async (n, t) => {
      if (n === 2 || n === 3)
        throw new Error('connect ECONNREFUSED redis://:hunter2@127.0.0.1:1 password=hunter2\nsecond line');
      return [one('flaky_calls_total', n, t)];
    });
    const slow = sampler('slow', async (n, t) => {
      await sleep(250);
      return [one('slow_calls_total', n, t)];
    });
    const summary = await collect({ samplers: [fast, flaky, slow], out, intervalMs: 100, durationMs: 1000 });

    expect(summary.ticks + summary.missedTicks).toBe(10);
    const bySource = Object.fromEntries(summary.sources.map((s) => [s.name, s]));
    // The fast source answered at every tick although the slow one was pending for most of them.
    expect(bySource.fast).toMatchObject({ samples: summary.ticks, gaps: 0, skippedTicks: 0 });
    expect(bySource.flaky).toMatchObject({ samples: summary.ticks - 2, gaps: 2, skippedTicks: 0 });
    // Asked at ticks 0, 3, 6, 9 (each answer takes 2.5 intervals): every other tick is skipped and counted.
    expect(bySource.slow!.samples + bySource.slow!.skippedTicks).toBe(summary.ticks);
    expect(bySource.slow!.skippedTicks).toBeGreaterThanOrEqual(5);
    expect(bySource.slow!.samples).toBeGreaterThanOrEqual(3);
    expect([fast.closed, flaky.closed, slow.closed]).toEqual([true, true, true]);

    const lines = readLines(out);
    expect(lines.length).toBe(summary.lines);
    const gaps = lines.filter((l) => l.source === 'collector');
    expect(gaps.map((g) => [g.metric, g.value, g.labels.of, g.labels.name])).toEqual([
      ['source_up', 0, 'process', 'flaky'],
      ['source_up', 0, 'process', 'flaky'],
      ['source_up', 1, 'process', 'flaky'],
    ]);
    // The error is kept, on one line, without the credentials the driver quoted.
    expect(gaps[0]!.labels.error).toBe(
      'connect ECONNREFUSED redis://***@127.0.0.1:1 password=*** second line',
    );
    expect(readFileSync(out, 'utf8')).not.toContain('hunter2');
    // The flaky source's lines: calls 1, then the gap, then call 4 onwards, in order.
    const flakyLines = lines.filter((l) => l.metric === 'flaky_calls_total' || l.labels.name === 'flaky');
    expect(flakyLines.slice(0, 5).map((l) => (l.source === 'collector' ? `up=${l.value}` : l.value))).toEqual(
      [1, 'up=0', 'up=0', 'up=1', 4],
    );
    // Times are ISO 8601 UTC with milliseconds and one tick's fast sample per 100 ms.
    const fastTimes = lines.filter((l) => l.metric === 'fast_calls_total').map((l) => Date.parse(l.time));
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.time))).toBe(true);
    const spanMs = fastTimes.at(-1)! - fastTimes[0]!;
    expect(spanMs).toBeGreaterThanOrEqual(800);
    expect(spanMs).toBeLessThan(1000);
    expect(readdirSync(dir)).toEqual(['samples.ndjson']);
  });

  it('streams to a temporary file while it runs, renames it at the stop signal, and closes every sampler', async () => {
    const dir = tempDir('fedicap-collect-');
    const out = join(dir, 'samples.ndjson');
    const a = sampler('a', async (n, t) => [one('a_total', n, t)]);
    const stop = new AbortController();
    const running = collect({ samplers: [a], out, intervalMs: 20, signal: stop.signal });
    const temp = await waitFor(() => {
      const name = readdirSync(dir).find((f) => f.endsWith('.tmp'));
      return name && readFileSync(join(dir, name), 'utf8').split('\n').length > 3 ? name : undefined;
    }, 'lines in the temporary file');
    expect(temp).toMatch(/^\.samples\.ndjson\.\d+\.[0-9a-f]+\.tmp$/);
    expect(existsSync(out)).toBe(false);
    stop.abort();
    const summary = await running;
    expect(a.closed).toBe(true);
    expect(readdirSync(dir)).toEqual(['samples.ndjson']);
    expect(readLines(out).map((l) => l.value)).toEqual(
      Array.from({ length: summary.sources[0]!.samples }, (_, i) => i + 1),
    );
    expect(summary.sources[0]!.samples).toBeGreaterThanOrEqual(3);
  });

  it('a sampler that throws instead of rejecting is a gap, not the end of the collection', async () => {
    const out = join(tempDir('fedicap-collect-'), 'samples.ndjson');
    const bad: Sampler = {
      source: 'storage',
      name: '/nowhere',
      sample: () => {
        throw new TypeError('not a promise');
      },
      close: async () => undefined,
    };
    const summary = await collect({ samplers: [bad], out, intervalMs: 50, durationMs: 200 });
    expect(summary.sources[0]).toMatchObject({ samples: 0, gaps: summary.ticks });
    expect(readLines(out).every((l) => l.metric === 'source_up' && l.labels.error === 'not a promise')).toBe(
      true,
    );
  });

  it('a pending sample that never answers does not hold the stop longer than the grace', async () => {
    const out = join(tempDir('fedicap-collect-'), 'samples.ndjson');
    const hung = sampler('hung', () => new Promise<Sample[]>(() => undefined));
    const t0 = Date.now();
    const summary = await collect({
      samplers: [hung],
      out,
      intervalMs: 50,
      durationMs: 100,
      stopGraceMs: 200,
    });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(summary.sources[0]).toMatchObject({ samples: 0, gaps: 0, skippedTicks: 1 });
    expect(hung.closed).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('');
  });

  it('leaves nothing behind when the output cannot be created, and still closes the samplers', async () => {
    const dir = tempDir('fedicap-collect-');
    const a = sampler('a', async () => []);
    await expect(
      collect({ samplers: [a], out: join(dir, 'missing', 'samples.ndjson'), durationMs: 100 }),
    ).rejects.toThrow(/ENOENT/);
    expect(a.closed).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
