/**
 * Real JPEGs of about a requested size, made with sharp from seeded noise:
 * noise does not compress, so bytes follow pixels and the target's image
 * processing (resize, thumbnail, blurhash) does real work. The same seed and
 * size give the same bytes. Used by the fleet (remote attachments) and by
 * `fedicap run` (the images the scenarios upload).
 */
import { createCipheriv, createHash } from 'node:crypto';
import sharp from 'sharp';

export interface SizedImage {
  body: Buffer;
  contentType: 'image/jpeg';
  width: number;
  height: number;
  /** The size asked for. */
  requestedBytes: number;
}

/** Within this share of the requested size, a generated image is accepted. */
export const SIZE_TOLERANCE = 0.1;
const JPEG_QUALITY = 85;
/** Noise JPEG at quality 85 takes about 0.72 bytes per pixel (measured); refined per image. */
const FIRST_GUESS_BYTES_PER_PIXEL = 0.72;
/** Aspect 4:3, like a photo. */
const ASPECT = 4 / 3;
const MAX_TRIES = 4;

/**
 * `length` pseudo-random bytes from `seed` and `label`: the AES-256-CTR keystream under a key hashed from
 * both (fast, and the same everywhere Node runs).
 */
export function seededBytes(length: number, seed: number, label: string): Buffer {
  const key = createHash('sha256').update(`fedicap-image:${seed}:${label}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

function noiseJpeg(width: number, height: number, seed: number, label: string): Promise<Buffer> {
  const raw = seededBytes(width * height * 3, seed, label);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY, mozjpeg: false })
    .toBuffer();
}

function dimensionsFor(bytes: number, bytesPerPixel: number): [number, number] {
  const pixels = Math.max(64, bytes / bytesPerPixel);
  const height = Math.max(8, Math.round(Math.sqrt(pixels / ASPECT)));
  return [Math.max(8, Math.round(height * ASPECT)), height];
}

/**
 * A noise JPEG of about `bytes` (within SIZE_TOLERANCE, at most four tries, each sizing the picture by the
 * bytes per pixel the last one took; the closest is kept), deterministic for `seed`.
 */
export async function jpegOfSize(bytes: number, seed: number): Promise<SizedImage> {
  let perPixel = FIRST_GUESS_BYTES_PER_PIXEL;
  let best: SizedImage | undefined;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const [width, height] = dimensionsFor(bytes, perPixel);
    const body = await noiseJpeg(width, height, seed, `${bytes}`);
    const image: SizedImage = { body, contentType: 'image/jpeg', width, height, requestedBytes: bytes };
    if (!best || Math.abs(body.length - bytes) < Math.abs(best.body.length - bytes)) best = image;
    if (Math.abs(body.length - bytes) <= SIZE_TOLERANCE * bytes) break;
    perPixel = body.length / (width * height);
  }
  return best!;
}
