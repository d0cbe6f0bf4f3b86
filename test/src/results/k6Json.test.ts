import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type K6Line,
  type K6PointLine,
  parseK6JsonLine,
  pointsOf,
  readK6Json,
} from '../../../src/results/k6Json.js';
import { Registry } from '../../../src/run/local/metrics.js';
import { NdjsonWriter } from '../../../src/run/local/output.js';
import { InputError } from '../../../src/shared/errors.js';
import { tempDir } from '../../support/helpers.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A k6.ndjson in a fresh temporary directory holding `text`; returns its path. */
function fileOf(text: string): string {
  const path = join(tempDir('fedicap-k6json-'), 'k6.ndjson');
  writeFileSync(path, text);
  return path;
}

/** Point lines from the k6 docs' JSON output page; a Metric line as current k6 writes it (name, no tainted). */
const METRIC_LINE =
  '{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":["avg<1000"],"submetrics":[{"name":"http_req_duration{status:200}","suffix":"status:200","tags":{"status":"200"}}]},"metric":"http_req_duration"}';
const VUS_POINT =
  '{"type":"Point","data":{"time":"2017-05-09T14:34:45.625742514+02:00","value":5,"tags":null},"metric":"vus"}';
const DURATION_POINT =
  '{"type":"Point","data":{"time":"2017-05-09T14:34:45.239531499+02:00","value":459.865729,"tags":{"group":"::my group::json","method":"GET","status":"200","url":"https://quickpizza.grafana.com/api/tools"}},"metric":"http_req_duration"}';

describe('parseK6JsonLine', () => {
  it('reads the k6 docs’ Point lines: RFC 3339 time with nanoseconds and offset, null or string tags', () => {
    expect(parseK6JsonLine(VUS_POINT, 'k6.ndjson:2')).toEqual({
      type: 'Point',
      data: { time: '2017-05-09T14:34:45.625742514+02:00', value: 5, tags: null },
      metric: 'vus',
    });
    const duration = parseK6JsonLine(DURATION_POINT, 'k6.ndjson:4') as K6PointLine;
    expect(duration.data.value).toBe(459.865729);
    expect(duration.data.tags).toEqual({
      group: '::my group::json',
      method: 'GET',
      status: '200',
      url: 'https://quickpizza.grafana.com/api/tools',
    });
  });

  it('reads a Metric line with its thresholds and submetrics', () => {
    expect(parseK6JsonLine(METRIC_LINE, 'k6.ndjson:1')).toEqual({
      type: 'Metric',
      data: {
        name: 'http_req_duration',
        type: 'trend',
        contains: 'time',
        thresholds: ['avg<1000'],
        submetrics: [
          { name: 'http_req_duration{status:200}', suffix: 'status:200', tags: { status: '200' } },
        ],
      },
      metric: 'http_req_duration',
    });
  });

  const bad: Array<[string, string, string]> = [
    ['not JSON', '{"type":"Point",', 'run/k6.ndjson:12: not JSON'],
    ['a JSON array', '[1,2]', 'run/k6.ndjson:12: not a JSON object'],
    [
      'an unknown type',
      '{"type":"Sample","data":{},"metric":"vus"}',
      'run/k6.ndjson:12: unknown line type "Sample" (expected "Metric" or "Point")',
    ],
    [
      'no type',
      '{"data":{},"metric":"vus"}',
      'run/k6.ndjson:12: unknown line type undefined (expected "Metric" or "Point")',
    ],
    [
      'a Point without metric',
      '{"type":"Point","data":{"time":"2017-05-09T14:34:45Z","value":1,"tags":null}}',
      'run/k6.ndjson:12: a Point line without a string metric',
    ],
    [
      'a Point without data',
      '{"type":"Point","data":null,"metric":"vus"}',
      'run/k6.ndjson:12: a Point line without a data object',
    ],
    [
      'a string value',
      '{"type":"Point","data":{"time":"2017-05-09T14:34:45Z","value":"5","tags":null},"metric":"vus"}',
      'run/k6.ndjson:12: a Point line without a numeric data.value',
    ],
    [
      'a time in milliseconds',
      '{"type":"Point","data":{"time":1494333285625,"value":5,"tags":null},"metric":"vus"}',
      'run/k6.ndjson:12: a Point line without an RFC 3339 data.time',
    ],
    [
      'a numeric tag',
      '{"type":"Point","data":{"time":"2017-05-09T14:34:45Z","value":5,"tags":{"status":200}},"metric":"vus"}',
      'run/k6.ndjson:12: a Point line whose data.tags is neither null nor strings',
    ],
    [
      'the docs’ older Metric line (no name)',
      '{"type":"Metric","data":{"type":"gauge","contains":"default","tainted":null,"thresholds":[],"submetrics":null},"metric":"vus"}',
      'run/k6.ndjson:12: a Metric line without a string data.name',
    ],
    [
      'an unknown metric type',
      '{"type":"Metric","data":{"name":"x","type":"histogram","contains":"default","thresholds":[],"submetrics":null},"metric":"x"}',
      'run/k6.ndjson:12: a Metric line whose data.type is not one of counter, gauge, rate, trend',
    ],
    [
      'an unknown value type',
      '{"type":"Metric","data":{"name":"x","type":"trend","contains":"seconds","thresholds":[],"submetrics":null},"metric":"x"}',
      'run/k6.ndjson:12: a Metric line whose data.contains is not one of default, time, data',
    ],
    [
      'thresholds as null',
      '{"type":"Metric","data":{"name":"x","type":"trend","contains":"time","thresholds":null,"submetrics":null},"metric":"x"}',
      'run/k6.ndjson:12: a Metric line whose data.thresholds is not a list of strings',
    ],
    [
      'a submetric without tags',
      '{"type":"Metric","data":{"name":"x","type":"trend","contains":"time","thresholds":[],"submetrics":[{"name":"x{a:b}","suffix":"a:b"}]},"metric":"x"}',
      'run/k6.ndjson:12: a Metric line whose data.submetrics is neither null nor a list of {name, suffix, tags}',
    ],
  ];
  it.each(bad)('rejects %s, naming the file and line', (_what, text, message) => {
    expect(() => parseK6JsonLine(text, 'run/k6.ndjson:12')).toThrow(new InputError(message));
  });
});

describe('readK6Json', () => {
  it('streams a file line by line, skipping blank lines (CRLF too), in file order', async () => {
    const path = fileOf(`${METRIC_LINE}\n\n${DURATION_POINT}\r\n   \n${VUS_POINT}\n`);
    const lines = await collect(readK6Json(path));
    expect(lines.map((l) => [l.type, l.metric])).toEqual([
      ['Metric', 'http_req_duration'],
      ['Point', 'http_req_duration'],
      ['Point', 'vus'],
    ]);
    expect(lines[2]).toEqual(JSON.parse(VUS_POINT));
  });

  it('names the file and the line number, counting blank lines, of a bad line', async () => {
    const path = fileOf(`${METRIC_LINE}\n\n${VUS_POINT}\n{"type":"Point","data":{"time":"x"`);
    await expect(collect(readK6Json(path))).rejects.toThrow(new InputError(`${path}:4: not JSON`));
  });

  it('says a missing file is missing', async () => {
    const path = join(tempDir('fedicap-k6json-'), 'k6.ndjson');
    await expect(collect(readK6Json(path))).rejects.toThrow(new InputError(`${path}: no such file`));
  });

  it('reads back, field for field, what the local executor’s NdjsonWriter wrote', async () => {
    const path = join(tempDir('fedicap-k6json-'), 'k6.ndjson');
    const writer = new NdjsonWriter(path);
    const registry = new Registry();
    registry.out = writer;
    const posts = registry.define('posts_made', 'counter', 'default');
    posts.thresholds.push('count>=2');
    const at = Date.UTC(2026, 11, 3, 14, 0, 0);
    registry.add(registry.metrics.get('vus')!, 3, null, at);
    registry.add(posts, 1, { scenario: 'inbound' }, at + 1000.25);
    registry.add(registry.metrics.get('http_req_duration')!, 12.5, { expected_response: 'true' }, at + 2000);
    registry.add(posts, 1, { scenario: 'inbound' }, at + 3000);
    await writer.close();

    // The bytes k6 writes for a Metric line (key order included), as well as the fields read back.
    expect(readFileSync(path, 'utf8').split('\n')[4]).toBe(
      '{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":[],"submetrics":[{"name":"http_req_duration{expected_response:true}","suffix":"expected_response:true","tags":{"expected_response":"true"}}]},"metric":"http_req_duration"}',
    );
    const lines: K6Line[] = await collect(readK6Json(path));
    expect(lines).toEqual([
      {
        type: 'Metric',
        data: { name: 'vus', type: 'gauge', contains: 'default', thresholds: [], submetrics: null },
        metric: 'vus',
      },
      { type: 'Point', data: { time: '2026-12-03T14:00:00.000000Z', value: 3, tags: null }, metric: 'vus' },
      {
        type: 'Metric',
        data: {
          name: 'posts_made',
          type: 'counter',
          contains: 'default',
          thresholds: ['count>=2'],
          submetrics: null,
        },
        metric: 'posts_made',
      },
      {
        type: 'Point',
        data: { time: '2026-12-03T14:00:01.000250Z', value: 1, tags: { scenario: 'inbound' } },
        metric: 'posts_made',
      },
      {
        type: 'Metric',
        data: {
          name: 'http_req_duration',
          type: 'trend',
          contains: 'time',
          thresholds: [],
          submetrics: [
            {
              name: 'http_req_duration{expected_response:true}',
              suffix: 'expected_response:true',
              tags: { expected_response: 'true' },
            },
          ],
        },
        metric: 'http_req_duration',
      },
      {
        type: 'Point',
        data: { time: '2026-12-03T14:00:02.000000Z', value: 12.5, tags: { expected_response: 'true' } },
        metric: 'http_req_duration',
      },
      {
        type: 'Point',
        data: { time: '2026-12-03T14:00:03.000000Z', value: 1, tags: { scenario: 'inbound' } },
        metric: 'posts_made',
      },
    ]);
  });
});

describe('pointsOf', () => {
  it('keeps the Point lines, of one metric when named', async () => {
    const path = fileOf([METRIC_LINE, VUS_POINT, DURATION_POINT].join('\n'));
    expect((await collect(pointsOf(readK6Json(path)))).map((p) => p.metric)).toEqual([
      'vus',
      'http_req_duration',
    ]);
    const durations = await collect(pointsOf(readK6Json(path), 'http_req_duration'));
    expect(durations.map((p) => p.data.value)).toEqual([459.865729]);
    expect(await collect(pointsOf(readK6Json(path), 'iterations'))).toEqual([]);
  });
});

describe('readK6Json with metrics', () => {
  it('returns Metric lines and the wanted Points, passes over whole lines of others, stops at a cut-short one', async () => {
    const badValueOfOther = VUS_POINT.replace('"value":5', '"value":"5"');
    const path = fileOf([METRIC_LINE, VUS_POINT, badValueOfOther, DURATION_POINT].join('\n'));
    const lines = await collect(readK6Json(path, { metrics: new Set(['http_req_duration']) }));
    expect(lines.map((l) => [l.type, l.metric])).toEqual([
      ['Metric', 'http_req_duration'],
      ['Point', 'http_req_duration'],
    ]);
    const cut = fileOf([VUS_POINT.slice(0, -10), DURATION_POINT].join('\n'));
    await expect(collect(readK6Json(cut, { metrics: new Set(['http_req_duration']) }))).rejects.toThrow(
      new InputError(`${cut}:1: not JSON`),
    );
  });
});
