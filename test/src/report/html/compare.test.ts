import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../../src/compare/compareRuns.js';
import { renderers } from '../../../../src/compare/render.js';
import { compileChart } from '../../../../src/report/html/chart.js';
import { changeSpec, latencySpec } from '../../../../src/report/html/compareHtml.js';
import { latencyProfiles, relativeChanges } from '../../../../src/report/html/compareData.js';
import { expectSelfContained, partById, sectionIds, tablesOf } from '../../../support/html.js';
import { STATIONS, writeSyntheticRun } from '../../compare/syntheticRuns.js';

/** The home timeline 40 % slower in the candidate, nothing else changed. */
async function slowerHomeTimeline() {
  const base = writeSyntheticRun({ seed: 1, durationSec: 120 });
  const slower = { ...STATIONS, 'timelines/home': { ...STATIONS['timelines/home']!, slowdown: 1.4 } };
  const candidate = writeSyntheticRun({ seed: 2, durationSec: 120, stations: slower });
  return compareRuns(base, candidate, { threshold: 0.1, alpha: 0.05 });
}

const comparison = await slowerHomeTimeline();

describe('the HTML comparison', () => {
  it('latency profiles: each endpoint class percentile, base and candidate as in the rows', () => {
    const points = latencyProfiles(comparison);
    const home = comparison.rows.find((r) => r.subject === 'timelines/home' && r.metric === 'p95')!;
    expect(points.filter((p) => p.subject === 'timelines/home' && p.metric === 'p95')).toEqual([
      { subject: 'timelines/home', metric: 'p95', run: 'base', ms: home.change.base },
      { subject: 'timelines/home', metric: 'p95', run: 'candidate', ms: home.change.candidate },
    ]);
    expect(points.every((p) => /^p\d+$/.test(p.metric))).toBe(true);
  });

  it('relative changes: regressions first, each with the interval of the row', () => {
    const changes = relativeChanges(comparison);
    const regressed = changes.filter((c) => c.verdict === 'regressed');
    expect(regressed.map((c) => c.label).sort()).toEqual([
      'timelines/home p50',
      'timelines/home p95',
      'timelines/home p99',
    ]);
    expect(changes.slice(0, 3).every((c) => c.verdict === 'regressed')).toBe(true);
    for (const c of regressed) {
      expect(c.low).toBeGreaterThan(0);
      expect(c.relative).toBeGreaterThan(c.low);
      expect(c.relative).toBeLessThan(c.high);
    }
  });

  it('renders through the compare renderers: verdict first, rows equal the JSON, self-contained', async () => {
    const html = await renderers.html.render(comparison);
    expect(renderers.html.fileName).toBe('compare.html');
    expectSelfContained(html);
    expect(sectionIds(html)).toEqual(['verdict', 'endpoints', 'server', 'changes']);
    expect(partById(html, 'verdict')).toMatch(/<strong>3 regressions<\/strong>/);
    expect(partById(html, 'verdict')).toMatch(/<li>timelines\/home p\d\d \+\d+ % \(CI/);
    const [rows] = tablesOf(partById(html, 'chart-latency'));
    const client = comparison.rows.filter((r) => r.section === 'endpoint class');
    expect(rows!.rows).toHaveLength(client.length);
    client.forEach((r, i) => {
      expect(Number(rows!.rows[i]![2]!.value)).toBe(r.change.base);
      expect(Number(rows!.rows[i]![3]!.value)).toBe(r.change.candidate);
      expect(rows!.rows[i]![7]!.text).toBe(r.verdict);
    });
    for (const id of ['chart-latency', 'chart-changes'])
      expect(partById(html, id)).toMatch(/<svg [^>]*viewBox=/);
    expect(compileChart(latencySpec(latencyProfiles(comparison))).warnings).toEqual([]);
    expect(compileChart(changeSpec(relativeChanges(comparison), 0.1)).warnings).toEqual([]);
  });
});
