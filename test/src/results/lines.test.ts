import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isGzipFile, readLineBatches, TruncatedGzipError } from '../../../src/results/lines.js';
import { InputError } from '../../../src/shared/errors.js';
import { tempDir } from '../../support/helpers.js';
import { collect } from '../../support/k6Lines.js';

async function linesOf(path: string): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for (const b of await collect(readLineBatches(path)))
    for (const [i, l] of b.lines.entries()) out.push([b.firstLine + i, l]);
  return out;
}

describe('readLineBatches', () => {
  it('tells gzip by its magic bytes, not by the name', async () => {
    const dir = tempDir('fedicap-lines-');
    const gzipNamedPlain = join(dir, 'k6.ndjson');
    const plainNamedGzip = join(dir, 'k6.ndjson.gz');
    writeFileSync(gzipNamedPlain, gzipSync('a\nb\n'));
    writeFileSync(plainNamedGzip, 'a\nb\n');
    expect(await isGzipFile(gzipNamedPlain)).toBe(true);
    expect(await isGzipFile(plainNamedGzip)).toBe(false);
    expect(await linesOf(gzipNamedPlain)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(await linesOf(plainNamedGzip)).toEqual(await linesOf(gzipNamedPlain));
  });

  it('numbers lines across chunks, strips CRLF, keeps blank lines and a last line without newline', async () => {
    const path = join(tempDir('fedicap-lines-'), 'x');
    // 3 MB of lines, so several 1 MB chunks, each line with a two-byte character that some chunk splits.
    const many = Array.from({ length: 30_000 }, (_, i) => `${i} é ${'x'.repeat(90)}`);
    writeFileSync(path, `${many.join('\r\n')}\r\n\nlast`);
    const lines = await linesOf(path);
    expect(lines.length).toBe(30_002);
    expect(lines.slice(0, 30_000).every(([n, l]) => l === many[n - 1])).toBe(true);
    expect(lines.slice(30_000)).toEqual([
      [30_001, ''],
      [30_002, 'last'],
    ]);
  });

  it('names the first line not read whole of a truncated gzip', async () => {
    const path = join(tempDir('fedicap-lines-'), 'k6.ndjson.gz');
    const text = Array.from({ length: 50_000 }, (_, i) => `{"line":${i},"pad":"${'y'.repeat(i % 97)}"}`).join(
      '\n',
    );
    const gz = gzipSync(text);
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
    const error = await collect(readLineBatches(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TruncatedGzipError);
    expect((error as Error).message).toMatch(
      new RegExp(`^${path}:\\d+: the gzip stream ends early \\(the file is truncated\\)$`),
    );
    // The line it names is the first one missing: all before it were read.
    const named = Number((error as Error).message.split(':')[1]);
    expect(named).toBeGreaterThan(1000);
    expect(named).toBeLessThan(50_000);
  });

  it('calls corrupt gzip data corrupt (a small file: zlib finds the bad CRC before any line is handed over)', async () => {
    const path = join(tempDir('fedicap-lines-'), 'k6.ndjson.gz');
    const gz = gzipSync('a\n'.repeat(1000));
    gz[gz.length - 8]! ^= 0xff; // the CRC-32 of the trailer (RFC 1952 §2.3.1)
    writeFileSync(path, gz);
    await expect(collect(readLineBatches(path))).rejects.toThrow(
      expect.objectContaining({
        name: 'InputError',
        message: expect.stringMatching(`^${path}:1: corrupt gzip data`),
      }),
    );
  });

  it('says a missing file is missing', async () => {
    const path = join(tempDir('fedicap-lines-'), 'none');
    await expect(collect(readLineBatches(path))).rejects.toThrow(new InputError(`${path}: no such file`));
  });
});
