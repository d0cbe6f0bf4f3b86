import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileChart } from '../../../../src/report/html/chart.js';
import { clientSpec, panelSpec, runHtml } from '../../../../src/report/html/runHtml.js';
import { binSecFor, PANELS, panelSeries, readRunTimeline } from '../../../../src/report/html/runTimeline.js';
import { tempDir } from '../../../support/helpers.js';
import { expectSelfContained, partById, sectionIds, tablesOf } from '../../../support/html.js';
import { ROOT } from '../../../support/paths.js';

const FIXTURE = `${ROOT}/fixtures/runs/testbed-mixed-step-2026-12-03`;
const summary = JSON.parse(readFileSync(join(FIXTURE, 'summary.json'), 'utf8'));
const run = await readRunTimeline(FIXTURE);

describe('the run timeline', () => {
  it('bins of whole seconds, at most about 150 over the run', () => {
    expect([binSecFor(30), binSecFor(150), binSecFor(151), binSecFor(3600), binSecFor(86_400)]).toEqual([
      1, 1, 2, 30, 600,
    ]);
  });

  it('counters become per-second rates between samples; label sets of a line are summed', () => {
    const cpu = PANELS.find((p) => p.id === 'cpu')!;
    const raw = new Map([
      [
        'a',
        {
          series: 'web',
          points: [
            [0, 10],
            [1000, 10.5],
            [2000, 11.5],
          ] as [number, number][],
        },
      ],
      [
        'b',
        {
          series: 'web',
          points: [
            [1000, 3],
            [2000, 3.25],
          ] as [number, number][],
        },
      ],
      // A counter reset is no negative rate.
      [
        'c',
        {
          series: 'sidekiq',
          points: [
            [1000, 5],
            [2000, 1],
          ] as [number, number][],
        },
      ],
    ]);
    expect(panelSeries(raw, cpu, 0, 1, 3)).toEqual([
      { name: 'web', values: [null, 0.5, 1.25] },
      { name: 'sidekiq', values: [null, null, null] },
    ]);
  });

  it("the fixture's k6 totals equal its summary.json: requests, failures, dropped iterations", () => {
    expect(run.binSec).toBe(1);
    expect(run.durationSec).toBeCloseTo(124.355, 3);
    const total = (f: (b: (typeof run.client)[number]) => number) =>
      Math.round(run.client.reduce((a, b) => a + f(b) * run.binSec, 0));
    expect(total((b) => b.requestsPerSec)).toBe(summary.metrics.http_reqs.count);
    expect(total((b) => b.failedPerSec)).toBe(summary.metrics.http_req_failed.passes);
    expect(total((b) => b.droppedPerSec)).toBe(summary.metrics.dropped_iterations.count);
    // The knee: latency and drops late in the run, when the host's 2 cores were saturated (README of the run).
    const late = run.client.filter((b) => b.t >= 100);
    expect(Math.max(...late.map((b) => b.p95Ms ?? 0))).toBeGreaterThan(500);
    expect(run.client.filter((b) => b.t < 80).every((b) => b.droppedPerSec === 0)).toBe(true);
  });

  it("the collector's side: every panel has its lines, on the same bins", () => {
    const panels = new Map(run.server!.map((p) => [p.id, p]));
    expect([...panels.keys()]).toEqual(PANELS.map((p) => p.id));
    expect(panels.get('queue-size')!.series.map((s) => s.name)).toContain('ingress');
    for (const p of run.server!) for (const s of p.series) expect(s.values).toHaveLength(run.times.length);
    const cpu = panels.get('cpu')!.series;
    expect(cpu.length).toBeGreaterThan(3);
    // Summed over the processes, CPU peaks near the host's 2 cores (README: 1.98 cores busy at 32×).
    const busiest = Math.max(...run.times.map((_, i) => cpu.reduce((a, s) => a + (s.values[i] ?? 0), 0)));
    expect(busiest).toBeGreaterThan(1.2);
    expect(busiest).toBeLessThan(2.6);
  });
});

describe('the run report page', () => {
  it('client above server on one time axis; tables equal the timeline; self-contained', async () => {
    const html = await runHtml(run);
    expectSelfContained(html);
    expect(sectionIds(html)).toEqual(['client', 'server']);
    const [client] = tablesOf(partById(html, 'chart-client'));
    run.client.forEach((b, i) => {
      expect(Number(client!.rows[i]![1]!.value)).toBe(b.requestsPerSec);
      if (b.p95Ms !== null) expect(Number(client!.rows[i]![3]!.value)).toBe(b.p95Ms);
    });
    for (const p of PANELS) expect(partById(html, `chart-${p.id}`)).toMatch(/<svg [^>]*viewBox=/);
    // One x domain everywhere: each chart's axis ends at the run's last second.
    const end = String(Math.ceil(run.durationSec));
    const charts = (clientSpec(run) as { vconcat: object[] }).vconcat;
    expect(charts).toHaveLength(3);
    for (const c of charts)
      expect(c).toMatchObject({ encoding: { x: { scale: { domain: [0, Number(end)] } } } });
    for (const p of run.server!) {
      expect(panelSpec(run, p)).toMatchObject({ encoding: { x: { scale: { domain: [0, Number(end)] } } } });
      expect(compileChart(panelSpec(run, p)).warnings).toEqual([]);
    }
    expect(compileChart(clientSpec(run)).warnings).toEqual([]);
    expect(Buffer.byteLength(html)).toBeLessThan(500_000);
  });

  it('a run without collector samples: the server half says so', async () => {
    const dir = tempDir('fedicap-run-report-');
    for (const f of ['k6.ndjson.gz', 'run.json', 'summary.json'])
      copyFileSync(join(FIXTURE, f), join(dir, f));
    const bare = await readRunTimeline(dir);
    expect(bare.server).toBeNull();
    const html = await runHtml(bare);
    expect(partById(html, 'server')).toContain('This run has no collector samples');
    expect(html).not.toContain('id="chart-cpu"');
    expect(html).toContain('id="chart-client"');
  });
});
