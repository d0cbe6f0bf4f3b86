import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { jpegOfSize, SIZE_TOLERANCE, seededBytes } from '../../../src/shared/images.js';

describe('jpegOfSize', () => {
  it.each([8 * 1024, 100_000, 1_200_000])(
    'makes a JPEG of about %i bytes (within SIZE_TOLERANCE) that sharp decodes at the dimensions it reports',
    async (bytes) => {
      const image = await jpegOfSize(bytes, 7);
      expect(Math.abs(image.body.length - bytes) / bytes).toBeLessThanOrEqual(SIZE_TOLERANCE);
      expect(image).toMatchObject({ contentType: 'image/jpeg', requestedBytes: bytes });
      const meta = await sharp(image.body).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: image.width, height: image.height, channels: 3 });
      expect(image.width / image.height).toBeCloseTo(4 / 3, 1);
      // the whole picture decodes (a truncated JPEG fails here)
      const raw = await sharp(image.body).raw().toBuffer();
      expect(raw.length).toBe(image.width * image.height * 3);
    },
  );

  it('is deterministic for a seed, and another seed gives other bytes', async () => {
    const [a, b, c] = await Promise.all([
      jpegOfSize(50_000, 3),
      jpegOfSize(50_000, 3),
      jpegOfSize(50_000, 4),
    ]);
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.body.equals(c.body)).toBe(false);
  });

  it('draws its noise from the seed and the label only', () => {
    expect(seededBytes(32, 1, 'x').equals(seededBytes(32, 1, 'x'))).toBe(true);
    expect(seededBytes(32, 1, 'x').equals(seededBytes(32, 2, 'x'))).toBe(false);
    expect(seededBytes(32, 1, 'x').equals(seededBytes(32, 1, 'y'))).toBe(false);
    // a longer draw starts with the shorter one (a stream, not a hash per length)
    expect(
      seededBytes(64, 1, 'x')
        .subarray(0, 32)
        .equals(seededBytes(32, 1, 'x')),
    ).toBe(true);
  });
});
