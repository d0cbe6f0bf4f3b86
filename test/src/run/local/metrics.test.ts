import { describe, expect, it } from 'vitest';
import {
  type Metric,
  Registry,
  type SampleSink,
  Sink,
  parseMetricKey,
  sortTags,
} from '../../../../src/run/local/metrics.js';

describe('Sink', () => {
  it('gives a trend percentiles by linear interpolation between closest ranks, whatever the order added', () => {
    const sink = new Sink('trend');
    for (const v of [7, 3, 10, 1, 5, 9, 2, 8, 4, 6]) sink.add(v);
    expect(sink.percentile(0)).toBe(1);
    expect(sink.percentile(50)).toBe(5.5); // between the 5th and 6th of ten
    expect(sink.percentile(90)).toBeCloseTo(9.1, 12); // rank 8.1
    expect(sink.percentile(100)).toBe(10);
    expect(sink.aggregate('med', 1)).toBe(5.5);
    expect(sink.aggregate('p(95)', 1)).toBeCloseTo(9.55, 12);
    expect(sink.aggregate('avg', 1)).toBe(5.5);
    expect([sink.aggregate('min', 1), sink.aggregate('max', 1)]).toEqual([1, 10]);
  });

  it('keeps every trend sample past its first 1024 (the store grows)', () => {
    const sink = new Sink('trend');
    for (let i = 1999; i >= 0; i--) sink.add(i);
    expect(sink.count).toBe(2000);
    expect(sink.percentile(50)).toBe(999.5);
    expect(sink.percentile(99)).toBeCloseTo(1979.01, 9);
    // A sample added after a percentile was read is sorted in too.
    sink.add(-5);
    expect(sink.percentile(0)).toBe(-5);
  });

  it('turns a counter into a per-second rate over the test duration, and a rate sink into the share of non-zero samples', () => {
    const counter = new Sink('counter');
    for (let i = 0; i < 30; i++) counter.add(1);
    expect(counter.aggregate('count', 10)).toBe(30);
    expect(counter.aggregate('rate', 10)).toBe(3);
    expect(counter.aggregate('rate', 0)).toBe(0);

    const rate = new Sink('rate');
    for (const v of [1, 0, 1, 1]) rate.add(v);
    expect(rate.aggregate('rate', 10)).toBe(0.75);

    const gauge = new Sink('gauge');
    for (const v of [4, 9, 2]) gauge.add(v);
    expect(gauge.aggregate('value', 1)).toBe(2); // the last value
  });

  it('refuses an aggregation it does not know and reads 0 for an empty trend', () => {
    expect(() => new Sink('trend').aggregate('p95', 1)).toThrow(/unknown aggregation p95/);
    expect(new Sink('trend').aggregate('p(95)', 1)).toBe(0);
    expect(new Sink('trend').aggregate('min', 1)).toBe(0);
  });
});

describe('tags and metric keys', () => {
  it('sorts tags by key, as k6 writes its tag sets', () => {
    expect(JSON.stringify(sortTags({ status: '200', method: 'GET', group: '' }))).toBe(
      '{"group":"","method":"GET","status":"200"}',
    );
  });

  it('parses "name{tag:value,…}" with quoted values and spaces', () => {
    expect(parseMetricKey('http_req_duration{ status:200, method:"GET" }')).toEqual({
      name: 'http_req_duration',
      suffix: 'status:200,method:GET',
      tags: { status: '200', method: 'GET' },
    });
    expect(parseMetricKey('iterations')).toEqual({ name: 'iterations', suffix: '', tags: {} });
    expect(() => parseMetricKey('http_reqs{status}')).toThrow(/tag filter "status" is not tag:value/);
  });
});

describe('Registry', () => {
  it("defines k6's built-in metrics and the expected_response:true sub-metric", () => {
    const registry = new Registry();
    const duration = registry.metrics.get('http_req_duration')!;
    expect([duration.type, duration.contains]).toEqual(['trend', 'time']);
    expect(registry.metrics.get('data_sent')!.contains).toBe('data');
    expect(duration.submetrics.map((s) => s.name)).toEqual(['http_req_duration{expected_response:true}']);
  });

  it('returns the same metric for a second definition of one type, and refuses another type or a bad name', () => {
    const registry = new Registry();
    const first = registry.define('posts_created', 'counter', 'default');
    expect(registry.define('posts_created', 'counter', 'default')).toBe(first);
    expect(() => registry.define('posts_created', 'trend', 'time')).toThrow(/already a counter/);
    expect(() => registry.define('bad{name}', 'counter', 'default')).toThrow(/invalid metric name/);
  });

  it('adds a sample to each sub-metric whose tags all match, and none while not recording', () => {
    const registry = new Registry();
    const duration = registry.metrics.get('http_req_duration')!;
    const byStatus = registry.submetric('http_req_duration{status:200,method:GET}');
    registry.add(duration, 100, { expected_response: 'true', method: 'GET', status: '200' }, 0);
    registry.add(duration, 300, { expected_response: 'false', method: 'GET', status: '500' }, 0);
    registry.add(duration, 50, null, 0);
    expect(duration.sink.count).toBe(3);
    expect(duration.submetrics[0]!.sink.count).toBe(1);
    expect(duration.submetrics[0]!.sink.sum).toBe(100);
    expect(byStatus.sink.count).toBe(1);
    registry.recording = false;
    registry.add(duration, 70, null, 0);
    expect(duration.sink.count).toBe(3);
  });

  it('declares a metric to the output once, before its first point, with the tags as JSON', () => {
    const lines: string[] = [];
    const out: SampleSink = {
      metricLine: (m: Metric) => lines.push(`metric ${m.name} ${m.type}`),
      pointLine: (name, timeMs, value, tagsJson) =>
        lines.push(`point ${name} ${timeMs} ${value} ${tagsJson}`),
    };
    const registry = new Registry();
    registry.out = out;
    const reqs = registry.metrics.get('http_reqs')!;
    registry.add(reqs, 1, sortTags({ status: '200', method: 'GET' }), 1000);
    registry.add(reqs, 1, null, 2000);
    expect(lines).toEqual([
      'metric http_reqs counter',
      'point http_reqs 1000 1 {"method":"GET","status":"200"}',
      'point http_reqs 2000 1 null',
    ]);
  });
});
