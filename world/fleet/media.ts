/**
 * Real images for the fleet, made with sharp at start: noise JPEGs of about
 * the requested size (noise does not compress, so bytes follow pixels and
 * the target's image processing does real work), an avatar and a header.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { byteSizeLabel } from './options.js';

export interface GeneratedImage {
  /** File name served under /media/ (e.g. 512KB.jpg). */
  name: string;
  body: Buffer;
  mediaType: string;
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

async function noiseJpeg(width: number, height: number): Promise<Buffer> {
  const raw = randomBytes(width * height * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY, mozjpeg: false })
    .toBuffer();
}

function dimensionsFor(bytes: number, bytesPerPixel: number): [number, number] {
  const pixels = Math.max(64, bytes / bytesPerPixel);
  const height = Math.max(8, Math.round(Math.sqrt(pixels / ASPECT)));
  return [Math.max(8, Math.round(height * ASPECT)), height];
}

/** A noise JPEG of about `bytes` (within 10 %, at most four tries; the closest one is kept). */
export async function jpegOfSize(bytes: number): Promise<GeneratedImage> {
  let perPixel = FIRST_GUESS_BYTES_PER_PIXEL;
  let best: GeneratedImage | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const [width, height] = dimensionsFor(bytes, perPixel);
    const body = await noiseJpeg(width, height);
    const image = {
      name: `${byteSizeLabel(bytes)}.jpg`,
      body,
      mediaType: 'image/jpeg',
      width,
      height,
      requestedBytes: bytes,
    };
    if (!best || Math.abs(body.length - bytes) < Math.abs(best.body.length - bytes)) best = image;
    if (Math.abs(body.length - bytes) <= SIZE_TOLERANCE * bytes) break;
    perPixel = body.length / (width * height);
  }
  return best!;
}

export interface FleetImages {
  media: GeneratedImage[];
  /** 400×400 PNG. */
  avatar: Buffer;
  /** 1500×500 JPEG. */
  header: Buffer;
}

/** A flat colour with gaussian noise: a picture the target's image processing cannot shortcut. */
function noisyPicture(
  width: number,
  height: number,
  background: { r: number; g: number; b: number },
  noise: { mean: number; sigma: number },
): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background, noise: { type: 'gaussian', ...noise } } });
}

export async function generateImages(sizesBytes: readonly number[]): Promise<FleetImages> {
  const media = await Promise.all(sizesBytes.map(jpegOfSize));
  const [avatar, header] = await Promise.all([
    noisyPicture(400, 400, { r: 90, g: 60, b: 160 }, { mean: 120, sigma: 20 }).png().toBuffer(),
    noisyPicture(1500, 500, { r: 30, g: 120, b: 90 }, { mean: 110, sigma: 25 })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ]);
  return { media, avatar, header };
}
