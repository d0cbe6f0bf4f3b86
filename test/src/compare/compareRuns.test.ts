import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compareRuns.js';
import type { Row } from '../../../src/compare/comparison.js';
import { comparisonMarkdown } from '../../../src/compare/markdown.js';
import { InputError } from '../../../src/shared/errors.js';
import { ROOT } from '../../support/paths.js';
import { STATIONS, writeSyntheticRun } from './syntheticRuns.js';

const FIXTURE = `${ROOT}/fixtures/runs/testbed-mixed-step-2026-12-03`;
const options = { threshold: 0.1, alpha: 0.05 };
const row = (rows: Row[], subject: string, metric: string) =>
  rows.find((r) => r.subject === subject && r.metric === metric)!;

describe('compareRuns on synthetic runs', () => {
  it('finds the home timeline 40 % slower, with an interval that excludes zero, and nothing else', async () => {
    const base = writeSyntheticRun({ seed: 1, durationSec: 120 });
    const slower = { ...STATIONS, 'timelines/home': { ...STATIONS['timelines/home']!, slowdown: 1.4 } };
    const candidate = writeSyntheticRun({ seed: 2, durationSec: 120, stations: slower });
    const c = await compareRuns(base, candidate, options);
    for (const p of ['p50', 'p95', 'p99']) {
      const r = row(c.rows, 'timelines/home', p);
      expect(r.verdict, p).toBe('regressed');
      expect(r.change.ratio, p).toBeGreaterThan(1.2);
      expect(r.change.ratio, p).toBeLessThan(1.65);
      expect(r.change.relativeLow, p).toBeGreaterThan(0);
      expect(r.change.low, p).toBeGreaterThan(0);
      expect(r.pValue!, p).toBeLessThan(0.001);
    }
    expect(c.regressions.map((r) => `${r.subject} ${r.metric}`).sort()).toEqual([
      'timelines/home p50',
      'timelines/home p95',
      'timelines/home p99',
    ]);
    expect(c.rows.filter((r) => r.subject === 'inbox').every((r) => r.verdict === 'unchanged')).toBe(true);
    expect(c.warnings).toEqual([]);
    const md = comparisonMarkdown(c);
    expect(md).toMatch(/^# fedicap compare: 3 regressions/);
    expect(md).toMatch(
      /- timelines\/home p\d\d \+\d+ % \(CI \+\d+ % to \+\d+ %\), \+[\d.]+ ms: [\d.]+ ms → [\d.]+ ms, p < 0\.001/,
    );
    expect(md).toMatch(/Not compared: no collector samples/);
  });

  it('calls no regression between runs of one distribution: false alarms over 20 seed pairs', async () => {
    let pairsAlarmed = 0;
    let rowsAlarmedAtZero = 0;
    let rowsTested = 0;
    const started = Date.now();
    for (let k = 0; k < 20; k++) {
      const base = writeSyntheticRun({ seed: 100 + 2 * k, durationSec: 120 });
      const candidate = writeSyntheticRun({ seed: 101 + 2 * k, durationSec: 120 });
      // Threshold 0: only the interval and the rank test stand between noise and an alarm; the default
      // 10 % then keeps the rows that also changed by more than that.
      const c = await compareRuns(base, candidate, { threshold: 0, alpha: 0.05, resamples: 400 });
      rowsAlarmedAtZero += c.regressions.length;
      rowsTested += c.rows.length;
      const worse = (r: Row) => (r.change.ratio - 1) * (r.worse === 'higher' ? 1 : -1);
      if (c.regressions.some((r) => worse(r) > options.threshold)) pairsAlarmed++;
    }
    process.stdout.write(
      `A/A, 2-minute runs: ${pairsAlarmed}/20 pairs alarmed at 10 %; at threshold 0, ` +
        `${rowsAlarmedAtZero}/${rowsTested} rows (${Date.now() - started} ms)\n`,
    );
    expect(pairsAlarmed).toBeLessThanOrEqual(1);
    // A one-sided 95 % interval: about 2.5 % of rows when the intervals are right.
    expect(rowsAlarmedAtZero / rowsTested).toBeLessThanOrEqual(0.05);
  });

  it('refuses runs that did not offer the same load, naming what differs', async () => {
    const base = writeSyntheticRun({ seed: 1, durationSec: 30 });
    const doubled = writeSyntheticRun({ seed: 2, durationSec: 30, scale: 2 });
    const longer = writeSyntheticRun({ seed: 3, durationSec: 60 });
    await expect(compareRuns(base, doubled, options)).rejects.toThrow(InputError);
    await expect(compareRuns(base, doubled, options)).rejects.toThrow(/scale 1 vs 2; env SCALE 1 vs 2/);
    await expect(compareRuns(base, longer, options)).rejects.toThrow(
      /duration 30s vs 60s; run length 31 s vs 61 s \(more than 10 % and 10 s apart\)/,
    );
    const short = await compareRuns(base, writeSyntheticRun({ seed: 4, durationSec: 30 }), options);
    expect(short.warnings).toEqual([expect.stringMatching(/hold 3 windows of 10 s; .* at least 2 minutes/)]);
  });
});

describe('compareRuns on the recorded testbed run', () => {
  it('compared with itself: every row present, client and server side, and no regression', async () => {
    const c = await compareRuns(FIXTURE, FIXTURE, { ...options, resamples: 200 });
    const stations = new Set(c.rows.filter((r) => r.section === 'endpoint class').map((r) => r.subject));
    expect(stations.size).toBe(9);
    expect(c.rows.filter((r) => r.section === 'endpoint class')).toHaveLength(9 * 6);
    expect(row(c.rows, 'FeedInsertWorker', 'wall time per job').change.base).toBeGreaterThan(0);
    expect(row(c.rows, 'ingress', 'queue latency').change.base).toBeGreaterThan(0);
    expect(row(c.rows, 'sidekiq-push-1', 'CPU').change.base).toBeGreaterThan(0);
    expect(c.serverNote).toBeNull();
    expect(c.unpaired).toEqual([]);
    expect(c.regressions).toEqual([]);
    for (const r of c.rows) {
      expect(r.change.difference).toBe(0);
      expect(r.verdict).toBe('unchanged');
    }
  });
});
