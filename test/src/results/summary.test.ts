import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readK6Summary } from '../../../src/results/summary.js';
import { type SummaryData, summaryExport } from '../../../src/run/local/summary.js';
import { InputError } from '../../../src/shared/errors.js';
import { tempDir } from '../../support/helpers.js';

/** handleSummary()'s data as the local executor builds it (k6's shape). */
const DATA: SummaryData = {
  root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [] },
  options: {
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'],
    summaryTimeUnit: '',
    noColor: false,
  },
  state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 30_012.5 },
  metrics: {
    http_reqs: { type: 'counter', contains: 'default', values: { count: 300, rate: 9.996 } },
    http_req_failed: {
      type: 'rate',
      contains: 'default',
      values: { rate: 0.02, passes: 6, fails: 294 },
      thresholds: { 'rate<0.01': { ok: false } },
    },
    vus: { type: 'gauge', contains: 'default', values: { value: 10, min: 1, max: 10 } },
    http_req_duration: {
      type: 'trend',
      contains: 'time',
      values: { avg: 12, min: 1, med: 10, max: 80, 'p(90)': 30, 'p(95)': 42 },
      thresholds: { 'p(95)<500': { ok: true } },
    },
  },
};

function file(doc: unknown): string {
  const path = join(tempDir('fedicap-summary-'), 'summary.json');
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

describe('readK6Summary', () => {
  it('reads handleSummary’s data and the --summary-export file to the same values and verdicts', async () => {
    const nested = await readK6Summary(file(DATA));
    const flat = await readK6Summary(file(summaryExport(DATA)));
    expect(nested.format).toBe('handle-summary');
    expect(flat.format).toBe('summary-export');
    expect(nested.testRunDurationMs).toBe(30_012.5);
    expect(flat.testRunDurationMs).toBeNull();
    expect(nested.metrics.http_req_failed).toEqual({
      type: 'rate',
      values: { rate: 0.02, passes: 6, fails: 294 },
      thresholds: { 'rate<0.01': false },
    });
    for (const name of Object.keys(DATA.metrics)) {
      expect(flat.metrics[name]!.values).toEqual(nested.metrics[name]!.values);
      expect(flat.metrics[name]!.thresholds).toEqual(nested.metrics[name]!.thresholds);
    }
    expect(flat.metrics.vus!.values).toEqual({ value: 10, min: 1, max: 10 }); // a gauge keeps its value
  });

  const bad: Array<[string, unknown, string]> = [
    ['not JSON', '{"metrics":', 'not JSON (a k6 summary is one JSON document)'],
    [
      'no metrics',
      { root_group: {} },
      'no "metrics" object (not a k6 --summary-export or handleSummary file)',
    ],
    ['a string value', { metrics: { http_reqs: { count: '3' } } }, 'metrics.http_reqs.count is not a number'],
    [
      'an unknown metric type',
      { metrics: { x: { type: 'histogram', contains: 'time', values: {} } } },
      'metrics.x.type is not one of counter, gauge, rate, trend',
    ],
    [
      'a threshold verdict as a string',
      { metrics: { x: { count: 1, thresholds: { 'count>0': 'false' } } } },
      'metrics.x.thresholds["count>0"] is not a boolean',
    ],
  ];
  it.each(bad)('rejects %s, naming the file and the field', async (_what, doc, message) => {
    const path = file(doc);
    await expect(readK6Summary(path)).rejects.toThrow(new InputError(`${path}: ${message}`));
  });
});
