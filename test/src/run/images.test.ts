import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageManifest } from '../../../src/run/imageManifest.js';
import {
  checkImageSizes,
  equalShares,
  IMAGES_MANIFEST,
  imageSizesOf,
  prepareImages,
} from '../../../src/run/images.js';
import { InputError } from '../../../src/shared/errors.js';
import { parseImageManifest } from '../../../scenarios/lib/inputs.ts';
import { defaultProfile, tempDir } from '../../support/helpers.js';

const mean = (sizes: { bytes: number; share: number }[]) => sizes.reduce((s, x) => s + x.bytes * x.share, 0);

describe('imageSizesOf', () => {
  it("takes the profile's value and the ends of its range, weighted so the mean upload is the value", () => {
    const q = defaultProfile().media.localImageBytes;
    const sizes = imageSizesOf(q);
    expect(sizes.map((s) => s.bytes)).toEqual([q.low, q.value, q.high]);
    expect(sizes.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 12);
    expect(mean(sizes)).toBeCloseTo(q.value, 6);
    // 600 kB, 1.2 MB, 2.5 MB in the default profile: (2.5 − 1.2) / (2 × 1.9) of the uploads are small ones
    expect(sizes[0]!.share).toBeCloseTo(1.3 / 3.8, 12);
  });

  it('a value at an end of its range, or a bare number, is one size', () => {
    expect(imageSizesOf({ value: 1000, low: 1000, high: 3000 })).toEqual([{ bytes: 1000, share: 1 }]);
    expect(imageSizesOf({ value: 3000, low: 1000, high: 3000 })).toEqual([{ bytes: 3000, share: 1 }]);
    expect(imageSizesOf({ value: 5000, low: 5000, high: 5000 })).toEqual([{ bytes: 5000, share: 1 }]);
  });

  it('refuses sizes Mastodon would not take, naming where they came from', () => {
    expect(() => checkImageSizes(equalShares([2048]), 'profile p.json: media.localImageBytes')).toThrow(
      InputError,
    );
    expect(() => checkImageSizes(equalShares([17 * 1024 * 1024]), 'image sizes')).toThrow(
      /^image sizes: 17825792 bytes; the images a run uploads must be from 4 KB to 16 MB/,
    );
    expect(() => checkImageSizes(equalShares([4096, 16 * 1024 * 1024]), 'x')).not.toThrow();
  });
});

describe('prepareImages', () => {
  it('writes the JPEGs and a manifest the scenarios accept, then reuses them', async () => {
    const dir = join(tempDir('fedicap-images-'), 'images');
    const sizes = imageSizesOf({ value: 30_000, low: 10_000, high: 60_000 });
    const first = await prepareImages(dir, sizes, 5);
    expect(first.reused).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, IMAGES_MANIFEST), 'utf8')) as ImageManifest;
    expect(manifest).toEqual(first.manifest);
    expect(manifest.seed).toBe(5);
    expect(parseImageManifest(JSON.stringify(manifest), join(dir, IMAGES_MANIFEST))).toEqual(manifest.files);
    for (const [i, f] of manifest.files.entries()) {
      const body = readFileSync(join(dir, f.name));
      expect(body.length).toBe(f.bytes);
      expect(Math.abs(f.bytes - sizes[i]!.bytes) / sizes[i]!.bytes).toBeLessThanOrEqual(0.1);
      expect(await sharp(body).metadata()).toMatchObject({
        format: 'jpeg',
        width: f.width,
        height: f.height,
      });
      expect(f).toMatchObject({
        contentType: 'image/jpeg',
        requestedBytes: sizes[i]!.bytes,
        share: sizes[i]!.share,
      });
    }
    expect(readdirSync(dir).sort()).toEqual([...manifest.files.map((f) => f.name), IMAGES_MANIFEST].sort());
    const mtime = statSync(join(dir, manifest.files[0]!.name)).mtimeMs;
    const again = await prepareImages(dir, sizes, 5);
    expect(again).toEqual({ manifest, reused: true });
    expect(statSync(join(dir, manifest.files[0]!.name)).mtimeMs).toBe(mtime);
    // no temporary directory is left beside the set
    expect(readdirSync(join(dir, '..'))).toEqual(['images']);
  });

  it('makes a new set when the seed, the sizes or a file changed, byte-identical for the same seed', async () => {
    const dir = join(tempDir('fedicap-images-'), 'images');
    const sizes = equalShares([12_000]);
    const a = await prepareImages(dir, sizes, 1);
    const bytesA = readFileSync(join(dir, a.manifest.files[0]!.name));
    expect((await prepareImages(dir, sizes, 2)).reused).toBe(false);
    expect(readFileSync(join(dir, a.manifest.files[0]!.name)).equals(bytesA)).toBe(false);
    expect((await prepareImages(dir, sizes, 1)).reused).toBe(false);
    expect(readFileSync(join(dir, a.manifest.files[0]!.name)).equals(bytesA)).toBe(true);
    writeFileSync(join(dir, a.manifest.files[0]!.name), 'truncated');
    expect((await prepareImages(dir, sizes, 1)).reused).toBe(false);
    expect(readFileSync(join(dir, a.manifest.files[0]!.name)).equals(bytesA)).toBe(true);
    const other = await prepareImages(dir, equalShares([12_000, 20_000]), 1);
    expect(other.reused).toBe(false);
    expect(other.manifest.files.map((f) => f.requestedBytes)).toEqual([12_000, 20_000]);
  });

  it('leaves a directory it did not make alone', async () => {
    const dir = join(tempDir('fedicap-images-'), 'images');
    mkdirSync(dir);
    writeFileSync(join(dir, 'holiday.jpg'), 'mine');
    await expect(prepareImages(dir, equalShares([12_000]))).rejects.toThrow(
      /images exists and is not an image set fedicap made \(no manifest.json\)/,
    );
    expect(existsSync(join(dir, 'holiday.jpg'))).toBe(true);
  });
});
