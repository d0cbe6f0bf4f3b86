import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUILTIN_METRICS, Registry } from '../../../../src/run/local/metrics.js';
import { summaryData, summaryExport, textSummary } from '../../../../src/run/local/summary.js';
import { evaluateThresholds, parseThresholds } from '../../../../src/run/local/thresholds.js';
import type { GroupNode } from '../../../../src/run/local/vuApi.js';

const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'count'];
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * 10 s of a test: ten requests of 1…10 ms, 4 checks of which 1 failed (in group "home"), 20 iterations, a
 * custom rate.
 */
function finishedTest() {
  const registry = new Registry();
  const m = registry.metrics;
  for (let ms = 1; ms <= 10; ms++)
    registry.add(m.get('http_req_duration')!, ms, { expected_response: 'true' }, 0);
  for (let i = 0; i < 20; i++) registry.add(m.get('iterations')!, 1, {}, 0);
  for (const ok of [1, 1, 0, 1]) registry.add(m.get('checks')!, ok, {}, 0);
  const accepted = registry.define('accepted', 'rate', 'default');
  for (const v of [1, 0]) registry.add(accepted, v, {}, 0);
  const thresholds = parseThresholds({ http_req_duration: ['p(95)<5', 'max<100'] }, registry);
  const results = evaluateThresholds(thresholds, 10);
  const home: GroupNode = {
    name: 'home',
    path: '::home',
    groups: new Map(),
    checks: new Map([['status is 200', { passes: 3, fails: 1 }]]),
  };
  const root: GroupNode = { name: '', path: '', groups: new Map([['home', home]]), checks: new Map() };
  const data = summaryData(registry, results, root, 10_000, TREND_STATS);
  return { data, results };
}

describe('summaryData (handleSummary)', () => {
  it("gives a trend's percentiles and a counter's rate per second", () => {
    const { data } = finishedTest();
    const duration = data.metrics.http_req_duration!;
    expect(duration.type).toBe('trend');
    expect(duration.contains).toBe('time');
    expect(duration.values.avg).toBe(5.5);
    expect(duration.values.med).toBe(5.5);
    expect(duration.values['p(90)']).toBeCloseTo(9.1, 12);
    expect(duration.values['p(95)']).toBeCloseTo(9.55, 12);
    expect([duration.values.min, duration.values.max, duration.values.count]).toEqual([1, 10, 10]);
    expect(data.metrics.iterations!.values).toEqual({ count: 20, rate: 2 });
    expect(data.metrics.accepted!.values).toEqual({ rate: 0.5, passes: 1, fails: 1 });
    expect(data.metrics['http_req_duration{expected_response:true}']!.values.count).toBe(10);
  });

  it('lists only metrics with samples or thresholds, by name, with each threshold ok or not', () => {
    const { data } = finishedTest();
    expect(Object.keys(data.metrics)).toEqual([
      'accepted',
      'checks',
      'http_req_duration',
      'http_req_duration{expected_response:true}',
      'iterations',
    ]);
    expect(data.metrics.http_req_duration!.thresholds).toEqual({
      'p(95)<5': { ok: false },
      'max<100': { ok: true },
    });
    expect(data.state.testRunDurationMs).toBe(10_000);
    expect(data.options.summaryTrendStats).toEqual(TREND_STATS);
  });

  it('gives groups and checks as lists with md5 ids of their paths', () => {
    const { data } = finishedTest();
    expect(data.root_group.id).toBe(md5(''));
    const home = data.root_group.groups[0]!;
    expect(home).toMatchObject({ name: 'home', path: '::home', id: md5('::home') });
    expect(home.checks).toEqual([
      {
        name: 'status is 200',
        path: '::home::status is 200',
        id: md5('::home::status is 200'),
        passes: 3,
        fails: 1,
      },
    ]);
  });
});

describe('summaryExport (--summary-export)', () => {
  it('writes a threshold as true when it FAILED, as k6 does, and a rate as value', () => {
    const exported = summaryExport(finishedTest().data);
    expect(exported.metrics.http_req_duration!.thresholds).toEqual({ 'p(95)<5': true, 'max<100': false });
    expect(exported.metrics.http_req_duration!['p(95)']).toBeCloseTo(9.55, 12);
    expect(exported.metrics.checks).toEqual({ value: 0.75, passes: 3, fails: 1 });
    expect(exported.metrics.iterations).toEqual({ count: 20, rate: 2 });
  });

  it('keys groups and checks by name', () => {
    const exported = summaryExport(finishedTest().data);
    const home = exported.root_group.groups.home!;
    expect(home.path).toBe('::home');
    expect(home.checks['status is 200']).toMatchObject({ passes: 3, fails: 1 });
  });
});

describe('textSummary', () => {
  it('prints thresholds with their measured value, the checks and the metrics by section', () => {
    const { data, results } = finishedTest();
    const text = textSummary(data, results, (name) => name in BUILTIN_METRICS);
    const lines = text.split('\n');
    expect(lines).toContain("    ✗ 'p(95)<5' p(95)=9.55ms");
    expect(lines).toContain("    ✓ 'max<100' max=10ms");
    expect(lines).toContain(`    checks_succeeded${'.'.repeat(15)}: 75.00%  3 out of 4`);
    expect(lines).toContain(`    checks_failed${'.'.repeat(18)}: 25.00%  1 out of 4`);
    expect(text).toContain('    █ home\n      ✗ status is 200\n        ↳  75% — ✓ 3 / ✗ 1\n');
    expect(lines).toContain(`    accepted${'.'.repeat(23)}: 50.00%  1 out of 2`);
    expect(lines).toContain(`    iterations${'.'.repeat(21)}: 20      2/s`);
    expect(text.indexOf('    CUSTOM')).toBeLessThan(text.indexOf('    HTTP'));
    expect(text.indexOf('    HTTP')).toBeLessThan(text.indexOf('    EXECUTION'));
  });
});
