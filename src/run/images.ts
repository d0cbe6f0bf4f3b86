/**
 * The images a run uploads: a few JPEGs of the profile's local image sizes
 * (media.localImageBytes: its value and the ends of its range), generated
 * once into OUT/images with a manifest.json the scenarios read
 * (scenarios/lib/env.ts loadImages). k6 opens them in the init context, so no
 * iteration spends time making an image. A set made with the same sizes and
 * seed is reused; a new one is written beside it and renamed into place.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../shared/errors.js';
import { tempPathFor } from '../shared/files.js';
import { jpegOfSize } from '../shared/images.js';
import type { Quantity } from '../shared/quantity.js';
import type { ImageFile, ImageManifest } from './imageManifest.js';

export const IMAGES_DIR = 'images';
export const IMAGES_MANIFEST = 'manifest.json';
export const DEFAULT_IMAGE_SEED = 1;
/** Mastodon's MediaAttachment::IMAGE_LIMIT; below 4 KB a noise JPEG cannot be sized. */
export const IMAGE_BYTES_LIMITS = { min: 4 * 1024, max: 16 * 1024 * 1024 };

/** One size to upload and the share of uploads that use it. */
export interface ImageSize {
  bytes: number;
  share: number;
}

/**
 * Sizes from a quantity (low ≤ value ≤ high): the value for half the uploads and the ends of the range for
 * the other half, weighted so that the mean upload is the value, as the model assumes (a value at an end of
 * its range is that one size).
 */
export function imageSizesOf(q: Pick<Quantity, 'value' | 'low' | 'high'>): ImageSize[] {
  const { value: v, low: l, high: h } = q;
  if (!(h > l)) return [{ bytes: Math.round(v), share: 1 }];
  const sizes = [
    { bytes: l, share: (h - v) / (2 * (h - l)) },
    { bytes: v, share: 0.5 },
    { bytes: h, share: (v - l) / (2 * (h - l)) },
  ];
  const merged = new Map<number, number>();
  for (const s of sizes)
    if (s.share > 0) merged.set(Math.round(s.bytes), (merged.get(Math.round(s.bytes)) ?? 0) + s.share);
  return [...merged].map(([bytes, share]) => ({ bytes, share }));
}

/** Equal shares of the given sizes. */
export function equalShares(sizesBytes: readonly number[]): ImageSize[] {
  return sizesBytes.map((bytes) => ({ bytes, share: 1 / sizesBytes.length }));
}

/** Every size within IMAGE_BYTES_LIMITS, else an InputError naming `what`. */
export function checkImageSizes(sizes: readonly ImageSize[], what: string): void {
  for (const { bytes } of sizes) {
    if (!(bytes >= IMAGE_BYTES_LIMITS.min && bytes <= IMAGE_BYTES_LIMITS.max))
      throw new InputError(
        `${what}: ${bytes} bytes; the images a run uploads must be from 4 KB to 16 MB (Mastodon's image limit)`,
      );
  }
}

const fileName = (bytes: number) => `image-${bytes}.jpg`;

function readManifest(dir: string): ImageManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, IMAGES_MANIFEST), 'utf8')) as ImageManifest;
  } catch {
    return undefined;
  }
}

/** The set in `dir` was made from these sizes and seed, and every file is whole. */
function reusable(dir: string, sizes: readonly ImageSize[], seed: number): ImageManifest | undefined {
  const m = readManifest(dir);
  if (m?.version !== 1 || m.seed !== seed || !Array.isArray(m.files) || m.files.length !== sizes.length)
    return undefined;
  const same = sizes.every((s, i) => {
    const f = m.files[i]!;
    if (f.requestedBytes !== s.bytes || f.share !== s.share || f.name !== basename(f.name)) return false;
    const path = join(dir, f.name);
    return existsSync(path) && statSync(path).size === f.bytes;
  });
  return same ? m : undefined;
}

async function generate(dir: string, sizes: readonly ImageSize[], seed: number): Promise<ImageManifest> {
  const files: ImageFile[] = [];
  for (const { bytes, share } of sizes) {
    const image = await jpegOfSize(bytes, seed);
    const name = fileName(bytes);
    writeFileSync(join(dir, name), image.body);
    const { contentType, width, height } = image;
    files.push({ name, bytes: image.body.length, requestedBytes: bytes, contentType, width, height, share });
  }
  const manifest: ImageManifest = { version: 1, seed, files };
  writeFileSync(join(dir, IMAGES_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * The image set in `dir` for these sizes and seed: reused when it is there and whole, else generated into a
 * temporary directory beside it and renamed into place (a failed run leaves no half set).
 */
export async function prepareImages(
  dir: string,
  sizes: readonly ImageSize[],
  seed = DEFAULT_IMAGE_SEED,
): Promise<{ manifest: ImageManifest; reused: boolean }> {
  const found = reusable(dir, sizes, seed);
  if (found) return { manifest: found, reused: true };
  if (existsSync(dir) && !readManifest(dir))
    throw new InputError(
      `${dir} exists and is not an image set fedicap made (no ${IMAGES_MANIFEST}): move it, or choose another output directory`,
    );
  mkdirSync(dirname(dir), { recursive: true });
  const temp = tempPathFor(dir);
  try {
    mkdirSync(temp);
    const manifest = await generate(temp, sizes, seed);
    rmSync(dir, { recursive: true, force: true });
    renameSync(temp, dir);
    return { manifest, reused: false };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
