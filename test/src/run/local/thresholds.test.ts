import { describe, expect, it } from 'vitest';
import { Registry } from '../../../../src/run/local/metrics.js';
import { evaluateThresholds, parseThresholds } from '../../../../src/run/local/thresholds.js';

/** A registry with 100 request durations of 1…100 ms, 50 requests of which one failed, and 12 iterations. */
function measured(): Registry {
  const registry = new Registry();
  const m = registry.metrics;
  for (let ms = 1; ms <= 100; ms++)
    registry.add(m.get('http_req_duration')!, ms, { status: ms <= 90 ? '200' : '500' }, 0);
  for (let i = 0; i < 50; i++) registry.add(m.get('http_req_failed')!, i === 0 ? 1 : 0, {}, 0);
  for (let i = 0; i < 12; i++) registry.add(m.get('iterations')!, 1, {}, 0);
  return registry;
}

describe('parseThresholds and evaluateThresholds', () => {
  it("evaluates k6's expressions against the measured aggregates", () => {
    const registry = measured();
    const thresholds = parseThresholds(
      {
        http_req_duration: ['p(95)<500', 'p(95)<90', 'avg<=50.5', 'max==100'],
        http_req_failed: ['rate<0.01'],
        iterations: ['count>10', 'rate>=2'],
      },
      registry,
    );
    const results = evaluateThresholds(thresholds, 5);
    const byExpr = Object.fromEntries(results.map((r) => [`${r.threshold.key} ${r.threshold.source}`, r]));
    expect(byExpr['http_req_duration p(95)<500']!.ok).toBe(true);
    expect(byExpr['http_req_duration p(95)<90']!.actual).toBeCloseTo(95.05, 9); // 1 + 0.95 × 99
    expect(byExpr['http_req_duration p(95)<90']!.ok).toBe(false);
    expect(byExpr['http_req_duration avg<=50.5']!.ok).toBe(true);
    expect(byExpr['http_req_duration max==100']!.ok).toBe(true);
    expect(byExpr['http_req_failed rate<0.01']).toMatchObject({ actual: 0.02, ok: false, evaluated: true });
    expect(byExpr['iterations count>10']).toMatchObject({ actual: 12, ok: true });
    expect(byExpr['iterations rate>=2']).toMatchObject({ actual: 2.4, ok: true }); // 12 over 5 s
    // Thresholds on a whole metric are listed on it (the summary shows them); on sub-metrics they are not.
    expect(registry.metrics.get('http_req_duration')!.thresholds).toEqual([
      'p(95)<500',
      'p(95)<90',
      'avg<=50.5',
      'max==100',
    ]);
  });

  it('reads a sub-metric key as a tag filter over the samples', () => {
    const registry = measured();
    const [t] = parseThresholds({ 'http_req_duration{status:500}': ['min>=91'] }, registry);
    expect(t!.summaryKey).toBe('http_req_duration{status:500}');
    expect(t!.sink.count).toBe(0); // the sub-metric counts from when it is defined
    registry.add(registry.metrics.get('http_req_duration')!, 95, { status: '500' }, 0);
    registry.add(registry.metrics.get('http_req_duration')!, 20, { status: '200' }, 0);
    expect(evaluateThresholds([t!], 1)[0]).toMatchObject({ actual: 95, ok: true });
    expect(registry.metrics.get('http_req_duration')!.thresholds).toEqual([]);
  });

  it('takes the object form with abortOnFail and delayAbortEval', () => {
    const [t] = parseThresholds(
      { http_req_duration: [{ threshold: 'p(99) < 1500', abortOnFail: true, delayAbortEval: '10s' }] },
      new Registry(),
    );
    expect(t).toMatchObject({
      aggregation: 'p(99)',
      operator: '<',
      value: 1500,
      abortOnFail: true,
      delayAbortEvalMs: 10_000,
    });
    const [plain] = parseThresholds({ http_req_duration: 'med<200' }, new Registry());
    expect(plain).toMatchObject({ aggregation: 'med', abortOnFail: false, delayAbortEvalMs: 0 });
  });

  it('passes a metric without samples without evaluating it, except a counter (its count is 0)', () => {
    const thresholds = parseThresholds({ ws_ping: ['p(95)<10'], http_reqs: ['count>10'] }, new Registry());
    const [ping, reqs] = evaluateThresholds(thresholds, 10);
    expect(ping).toMatchObject({ ok: true, evaluated: false });
    expect(reqs).toMatchObject({ ok: false, evaluated: true, actual: 0 });
  });

  it('refuses unknown metrics, malformed expressions, aggregations of another metric type and percentiles over 100', () => {
    const registry = new Registry();
    expect(() => parseThresholds({ nope: ['count>1'] }, registry)).toThrow(/no metric named "nope"/);
    expect(() => parseThresholds({ http_reqs: ['count is big'] }, registry)).toThrow(
      /"count is big" is not "<aggregation> <operator> <value>"/,
    );
    expect(() => parseThresholds({ http_req_duration: ['rate<0.1'] }, registry)).toThrow(
      /"rate" does not apply to http_req_duration, a trend metric/,
    );
    expect(() => parseThresholds({ http_req_duration: ['p(101)<5'] }, registry)).toThrow(
      /percentile 101 is outside 0-100/,
    );
    expect(() => parseThresholds({ http_reqs: [42] }, registry)).toThrow(/expected an expression string/);
    expect(() => parseThresholds(['p(95)<1'], registry)).toThrow(/must be an object/);
    expect(parseThresholds(undefined, registry)).toEqual([]);
  });
});
