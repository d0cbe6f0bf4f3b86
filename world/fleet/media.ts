/**
 * Real images for the fleet, made with sharp at start: noise JPEGs of about
 * the requested sizes (src/shared/images.ts, from the fleet's seed), an
 * avatar and a header.
 */
import sharp from 'sharp';
import { jpegOfSize } from '../../src/shared/images.js';
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

async function mediaImage(bytes: number, seed: number): Promise<GeneratedImage> {
  const image = await jpegOfSize(bytes, seed);
  return {
    name: `${byteSizeLabel(bytes)}.jpg`,
    body: image.body,
    mediaType: image.contentType,
    width: image.width,
    height: image.height,
    requestedBytes: bytes,
  };
}

export async function generateImages(sizesBytes: readonly number[], seed: number): Promise<FleetImages> {
  const media = await Promise.all(sizesBytes.map((bytes) => mediaImage(bytes, seed)));
  const [avatar, header] = await Promise.all([
    noisyPicture(400, 400, { r: 90, g: 60, b: 160 }, { mean: 120, sigma: 20 }).png().toBuffer(),
    noisyPicture(1500, 500, { r: 30, g: 120, b: 90 }, { mean: 110, sigma: 25 })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ]);
  return { media, avatar, header };
}
