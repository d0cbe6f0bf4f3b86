import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRunFiles } from '../../../src/results/runFiles.js';
import { InputError } from '../../../src/shared/errors.js';
import { tempDir } from '../../support/helpers.js';
import { metricLine, requestLines, writeLines } from '../../support/k6Lines.js';

const T0 = Date.UTC(2026, 11, 3, 14, 0, 0);
/** Write the same k6 lines to each name in `dir`. */
const writeK6 = (dir: string, ...names: string[]) => {
  for (const n of names) writeLines(K6, n, { dir });
};
const K6 = [metricLine('http_reqs'), ...requestLines(T0 + 1000, 12, { station: 'inbox', status: '200' })];

function record(
  dir: string,
  name: string,
  target = 'http://127.0.0.1:3000',
  startMs = T0,
  endMs = T0 + 60_000,
) {
  writeFileSync(
    join(dir, name),
    JSON.stringify({
      target,
      startedAt: new Date(startMs).toISOString(),
      endedAt: new Date(endMs).toISOString(),
    }),
  );
}

describe('findRunFiles', () => {
  it('finds one generator’s files: k6 output, summary, record, samples and deliveries', async () => {
    const dir = tempDir('fedicap-run-');
    writeLines(K6, 'k6.ndjson.gz', { dir, gzip: true });
    writeFileSync(join(dir, 'summary.json'), '{}');
    writeFileSync(join(dir, 'samples.ndjson'), '');
    writeFileSync(join(dir, 'fleet-deliveries.ndjson'), '');
    record(dir, 'run.json');
    expect(await findRunFiles(dir)).toEqual({
      dir,
      k6: [join(dir, 'k6.ndjson.gz')],
      summaries: [join(dir, 'summary.json')],
      records: [join(dir, 'run.json')],
      samples: join(dir, 'samples.ndjson'),
      deliveries: join(dir, 'fleet-deliveries.ndjson'),
      target: 'http://127.0.0.1:3000',
      startMs: T0,
      endMs: T0 + 60_000,
    });
  });

  it('orders a split run’s segments by number (not by name) and spans all their records', async () => {
    const dir = tempDir('fedicap-run-');
    for (let i = 0; i < 11; i++) {
      writeLines(K6, `k6-${i}.ndjson${i % 2 ? '.gz' : ''}`, { dir, gzip: i % 2 === 1 });
      record(dir, `run-${i}.json`, undefined, T0 - i * 100, T0 + 60_000 + i * 100);
    }
    const files = await findRunFiles(dir);
    expect(files.k6.map((p) => p.slice(dir.length + 1))).toEqual(
      Array.from({ length: 11 }, (_, i) => `k6-${i}.ndjson${i % 2 ? '.gz' : ''}`),
    );
    expect([files.startMs, files.endMs]).toEqual([T0 - 1000, T0 + 61_000]);
  });

  const faults: Array<[string, (dir: string) => void, (dir: string) => string]> = [
    [
      'no k6 output',
      () => {},
      (d) =>
        `${d}: no k6 output (k6.ndjson or k6.ndjson.gz, or k6-0.ndjson… for a run split across load generators)`,
    ],
    [
      'an empty k6 file',
      (d) => writeFileSync(join(d, 'k6.ndjson'), ''),
      (d) => `${join(d, 'k6.ndjson')}: empty (k6 wrote nothing)`,
    ],
    [
      'a missing segment',
      (d) => writeK6(d, 'k6-0.ndjson', 'k6-2.ndjson'),
      (d) => `${d}: the k6 output of segment 1 is missing (found k6-0.ndjson, k6-2.ndjson)`,
    ],
    [
      'one segment twice',
      (d) => writeK6(d, 'k6-0.ndjson', 'k6-0.ndjson.gz'),
      (d) => `${d}: k6-0.ndjson and k6-0.ndjson.gz are the same segment's k6 output; keep one`,
    ],
    [
      'a split and an unsplit run together',
      (d) => writeK6(d, 'k6.ndjson', 'k6-0.ndjson'),
      (d) => `${d}: k6.ndjson beside numbered k6 output files: one run, split or not, not both`,
    ],
    [
      'two targets',
      (d) => {
        writeK6(d, 'k6-0.ndjson', 'k6-1.ndjson');
        record(d, 'run-0.json', 'http://127.0.0.1:3000');
        record(d, 'run-1.json', 'http://127.0.0.1:4000');
      },
      (d) =>
        `${d}: ${join(d, 'run-0.json')} and ${join(d, 'run-1.json')} name two targets (http://127.0.0.1:3000, http://127.0.0.1:4000): not one run`,
    ],
    [
      'clock skew',
      (d) => {
        writeLines(K6, 'k6.ndjson', { dir: d });
        record(d, 'run.json', undefined, T0 + 3_600_000, T0 + 3_660_000);
      },
      (d) =>
        `${join(d, 'k6.ndjson')}: its first point (2026-12-03T14:00:01.000Z) lies outside the run in ${join(d, 'run.json')} ` +
        '(2026-12-03T15:00:00.000Z to 2026-12-03T15:01:00.000Z): clock skew between the load generator and the record, or files of another run',
    ],
  ];
  it.each(faults)('rejects %s, naming the file and the fault', async (_what, make, message) => {
    const dir = tempDir('fedicap-run-');
    make(dir);
    await expect(findRunFiles(dir)).rejects.toThrow(new InputError(message(dir)));
  });
});
