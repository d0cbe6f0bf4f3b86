import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { StorageSampler } from '../../../src/collect/storage.js';
import { tempDir } from '../../support/helpers.js';

/** A Mastodon-shaped media tree: media_attachments/files/000/000/00N/original/N.png, of known sizes. */
function mediaTree(attachments: number): { dir: string; bytes: number } {
  const dir = tempDir('fedicap-media-');
  let bytes = 0;
  for (let i = 1; i <= attachments; i++) {
    const d = join(dir, 'media_attachments', 'files', '000', '000', String(i).padStart(3, '0'));
    for (const style of ['original', 'small']) {
      mkdirSync(join(d, style), { recursive: true });
      const size = i * 100 + (style === 'small' ? 7 : 0);
      writeFileSync(join(d, style, `${i}.png`), Buffer.alloc(size));
      bytes += size;
    }
  }
  mkdirSync(join(dir, 'cache', 'empty'), { recursive: true });
  // A symbolic link is neither followed nor counted.
  symlinkSync(join(dir, 'media_attachments'), join(dir, 'cache', 'loop'));
  return { dir, bytes };
}

const values = (samples: Sample[]) => Object.fromEntries(samples.map((s) => [s.metric, s.value]));

describe('StorageSampler', () => {
  it('counts bytes and files under the directory, recursively, without following links', async () => {
    const { dir, bytes } = mediaTree(12);
    const sampler = new StorageSampler(dir);
    const samples = await sampler.sample('2026-01-01T00:00:00.000Z');
    expect(values(samples)).toEqual({ storage_bytes: bytes, storage_objects: 24 });
    expect(bytes).toBe(2 * 100 * 78 + 7 * 12);
    expect(samples.every((s) => s.source === 'storage' && s.labels.dir === dir)).toBe(true);

    // The next walk sees what changed.
    writeFileSync(join(dir, 'cache', 'empty', 'new.bin'), Buffer.alloc(5000));
    expect(values(await sampler.sample('2026-01-01T00:00:01.000Z'))).toEqual({
      storage_bytes: bytes + 5000,
      storage_objects: 25,
    });
  });

  it('bounds the work per sample: a tree larger than the budget is walked across ticks, numbers written once complete', async () => {
    const { dir, bytes } = mediaTree(10);
    // 10 attachments × (4 directories + 2 files) + the top ones: about 70 entries; 16 per sample.
    const sampler = new StorageSampler(dir, 16);
    const results: Sample[][] = [];
    for (let tick = 0; tick < 20; tick++) results.push(await sampler.sample(`2026-01-01T00:00:${tick}.000Z`));
    const complete = results.map((r, tick) => [tick, r] as const).filter(([, r]) => r.length > 0);
    expect(complete.length).toBeGreaterThanOrEqual(3);
    expect(complete[0]![0]).toBeGreaterThanOrEqual(4); // the first walk needed several ticks
    for (const [, r] of complete) expect(values(r)).toEqual({ storage_bytes: bytes, storage_objects: 20 });
  });

  it('a missing directory is a gap; it counts again once it is back', async () => {
    const { dir } = mediaTree(1);
    const sampler = new StorageSampler(dir);
    rmSync(dir, { recursive: true });
    await expect(sampler.sample('2026-01-01T00:00:00.000Z')).rejects.toThrow(/ENOENT/);
    mkdirSync(dir);
    writeFileSync(join(dir, 'a'), 'abc');
    expect(values(await sampler.sample('2026-01-01T00:00:01.000Z'))).toEqual({
      storage_bytes: 3,
      storage_objects: 1,
    });
  });
});
