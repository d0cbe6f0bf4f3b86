import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { BadLines } from '../../../src/results/records.js';
import { readSamples } from '../../../src/results/samples.js';
import { InputError } from '../../../src/shared/errors.js';
import { collect, writeLines } from '../../support/k6Lines.js';

const GOOD: Sample = {
  time: '2026-12-03T14:00:00.250Z',
  source: 'sidekiq',
  metric: 'sidekiq_queue_latency_seconds',
  value: 0.5,
  labels: { queue: 'push' },
};

describe('readSamples', () => {
  it('reads the collector’s lines, plain or gzip', async () => {
    const lines = [
      JSON.stringify(GOOD),
      '',
      JSON.stringify({
        ...GOOD,
        source: 'collector',
        metric: 'source_up',
        value: 0,
        labels: { of: 'redis', error: 'ECONNREFUSED' },
      }),
    ];
    const plain = await collect(readSamples(writeLines(lines, 'samples.ndjson')));
    expect(plain).toEqual([GOOD, JSON.parse(lines[2]!)]);
    expect(await collect(readSamples(writeLines(lines, 'samples.ndjson', { gzip: true })))).toEqual(plain);
  });

  const bad: Array<[string, unknown, string]> = [
    ['a time without zone', { ...GOOD, time: '2026-12-03 14:00:00' }, 'a sample without an RFC 3339 time'],
    [
      'an unknown source',
      { ...GOOD, source: 'mysql' },
      'a sample whose source is not one of sidekiq, prometheus, process, host, postgres, redis, storage, collector',
    ],
    ['a string value', { ...GOOD, value: '0.5' }, 'a sample without a numeric value'],
    [
      'a numeric label',
      { ...GOOD, labels: { pid: 12 } },
      'a sample whose labels are not an object of strings',
    ],
    ['no labels', { ...GOOD, labels: undefined }, 'a sample whose labels are not an object of strings'],
    ['an empty metric', { ...GOOD, metric: '' }, 'a sample without a metric name'],
  ];
  it.each(bad)('rejects %s naming the file and line', async (_what, sample, message) => {
    const path = writeLines([JSON.stringify(GOOD), JSON.stringify(sample)], 'samples.ndjson');
    await expect(collect(readSamples(path))).rejects.toThrow(new InputError(`${path}:2: ${message}`));
  });

  it('with skipBadLines, passes over a cut-short last line and counts it', async () => {
    const path = writeLines([JSON.stringify(GOOD), JSON.stringify(GOOD).slice(0, 30)], 'samples.ndjson');
    await expect(collect(readSamples(path))).rejects.toThrow(new InputError(`${path}:2: not JSON`));
    const bad = new BadLines();
    expect(await collect(readSamples(path, { skipBadLines: bad }))).toEqual([GOOD]);
    expect(bad.count).toBe(1);
  });
});
