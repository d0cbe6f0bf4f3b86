import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compareRuns.js';
import { writeSyntheticRun } from './syntheticRuns.js';

/** A run whose run.json names its own image set, OUT/images, as `fedicap run` records it. */
function runWithImages(seed: number, bytes: readonly number[]): string {
  const dir = writeSyntheticRun({ seed, durationSec: 30 });
  const images = join(dir, 'images');
  mkdirSync(images);
  const files = bytes.map((b, i) => ({ name: `${i}.jpg`, bytes: b, share: 1 / bytes.length }));
  writeFileSync(join(images, 'manifest.json'), JSON.stringify({ version: 1, seed: 1, files }));
  const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { env: Record<string, string> };
  record.env.IMAGES = images;
  writeFileSync(join(dir, 'run.json'), JSON.stringify(record));
  return dir;
}

describe('the same load: images', () => {
  it('takes the same image set in two run directories for the same load, and refuses another set', async () => {
    const options = { threshold: 0.1, alpha: 0.05, resamples: 50 };
    const before = runWithImages(1, [600_000, 1_200_000]);
    const after = runWithImages(2, [600_000, 1_200_000]);
    const c = await compareRuns(before, after, options);
    expect(c.rows.length).toBeGreaterThan(0);
    await expect(compareRuns(before, runWithImages(3, [16_384]), options)).rejects.toThrow(
      /env IMAGES 600000 B × 0.5, 1200000 B × 0.5 vs 16384 B × 1/,
    );
  });
});
