import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES_FILE, startCollection } from '../../../src/collect/index.js';
import { InputError } from '../../../src/shared/errors.js';
import { tempDir, waitFor } from '../../support/helpers.js';

describe('startCollection (what `fedicap run --collect` calls)', () => {
  it('runs until stop() and returns the summary; the file is in place only then', async () => {
    const runDir = tempDir('fedicap-run-');
    const media = tempDir('fedicap-media-');
    writeFileSync(join(media, 'a'), 'abcd');
    const out = join(runDir, SAMPLES_FILE);
    const collection = startCollection({ mediaDir: media, out, intervalMs: 50 });
    await waitFor(() => readdirSync(runDir).some((f) => f.endsWith('.tmp')), 'the temporary file');
    await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(runDir).includes(SAMPLES_FILE)).toBe(false);
    const summary = await collection.stop();
    expect(await collection.done).toBe(summary);
    expect(readdirSync(runDir)).toEqual([SAMPLES_FILE]);
    const [storage] = summary.sources;
    expect(storage).toMatchObject({ source: 'storage', name: media, gaps: 0 });
    // Two lines per answered tick; a tick that found the previous walk still running (a loaded host) is skipped.
    expect(storage!.samples / 2 + storage!.skippedTicks).toBe(summary.ticks);
    expect(storage!.samples).toBeGreaterThan(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBe(summary.lines);
    expect(JSON.parse(lines[0]!)).toMatchObject({ source: 'storage', metric: 'storage_bytes', value: 4 });
  });

  it('ends by itself after the duration', async () => {
    const out = join(tempDir('fedicap-run-'), SAMPLES_FILE);
    const summary = await startCollection({ mediaDir: tempDir('m-'), out, intervalMs: 100, durationMs: 300 })
      .done;
    expect(summary.ticks + summary.missedTicks).toBe(3);
  });

  it('checks its input before it opens anything: an InputError naming the flag, nothing written', () => {
    const runDir = tempDir('fedicap-run-');
    const out = join(runDir, SAMPLES_FILE);
    expect(() => startCollection({ mediaDir: runDir, out, intervalMs: 0 })).toThrow(InputError);
    expect(() => startCollection({ mediaDir: runDir, out, durationMs: -5 })).toThrow(
      /--duration must be > 0/,
    );
    expect(() => startCollection({ sidekiqRedis: 'redis://:pw@[bad', out })).toThrow(
      /--sidekiq-redis .*: not a URL/,
    );
    expect(() => startCollection({ processes: ['a=1', 'a=1'], out })).toThrow(/the name a is given twice/);
    expect(readdirSync(runDir)).toEqual([]);
  });
});
