import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAccount, type LocalAccount } from '../../../../world/testbed/accounts.js';
import { api, queuedJobs, runLocalJobs, startApiTestbed } from '../../../support/api.js';
import type { TestbedFixture } from '../../../support/testbed.js';

/** A real PNG made at run time: a gradient with some noise, so the encoder has work to do. */
async function makePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const noise = randomBytes(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      raw[o] = (x * 255) / width;
      raw[o + 1] = (y * 255) / height;
      raw[o + 2] = noise[y * width + x]!;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Bytes that sniff as MP4 (an ftyp box) followed by filler: the testbed does not decode video. */
function fakeMp4(size: number): Buffer {
  const head = Buffer.from([
    0,
    0,
    0,
    0x18,
    ...Buffer.from('ftypmp42'),
    0,
    0,
    0,
    0,
    ...Buffer.from('isommp42'),
  ]);
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

function upload(file: Buffer, type: string, name: string, description?: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)], { type }), name);
  if (description !== undefined) form.append('description', description);
  return { form, formFields: { file: '<binary>', ...(description !== undefined ? { description } : {}) } };
}

describe('client API: media', () => {
  let fx: TestbedFixture;
  let user: LocalAccount;
  beforeAll(async () => {
    fx = await startApiTestbed();
    user = await createLocalAccount(fx.tb, { username: 'photographer' });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('processes an image inside the request: 200 with a served original and a small derivative', async () => {
    const png = await makePng(1200, 900);
    const res = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(png, 'image/png', 'photo.png', 'a gradient'),
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('image');
    expect(res.body.description).toBe('a gradient');
    expect(res.body.url).toMatch(
      new RegExp(`^${fx.url}/system/media_attachments/files/(\\d{3}/)+original/[0-9a-f]{16}\\.png$`),
    );
    expect(res.body.meta.original).toMatchObject({ width: 1200, height: 900, size: '1200x900' });
    expect(res.body.blurhash).toMatch(/^U[0-9A-Za-z#$%*+,-.:;=?@[\]^_{|}~]{35}$/); // 4×4 components

    const original = await fetch(res.body.url);
    expect(original.status).toBe(200);
    expect(original.headers.get('content-type')).toBe('image/png');
    const origMeta = await sharp(Buffer.from(await original.arrayBuffer())).metadata();
    expect([origMeta.format, origMeta.width, origMeta.height]).toEqual(['png', 1200, 900]);

    const small = await fetch(res.body.preview_url);
    expect(small.status).toBe(200);
    const smallMeta = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    expect(smallMeta.width! * smallMeta.height!).toBeLessThanOrEqual(230_400);
    expect(res.body.meta.small).toMatchObject({ width: smallMeta.width, height: smallMeta.height });

    const row = (
      await fx.tb.db.query(
        'SELECT file_size, thumbnail_size, processing FROM media_attachments WHERE id = $1',
        [res.body.id],
      )
    ).rows[0];
    expect(Number(row.file_size)).toBeGreaterThan(0);
    expect(Number(row.thumbnail_size)).toBeGreaterThan(0);
    expect(row.processing).toBe(2);

    // GET /api/v1/media/:id → 200 once processed; then attach it to a status
    expect((await api(fx, 'GET', `/api/v1/media/${res.body.id}`, { token: user.token })).status).toBe(200);
    const post = await api(fx, 'POST', '/api/v1/statuses', {
      token: user.token,
      json: { status: 'look', media_ids: [res.body.id] },
    });
    expect(post.status).toBe(200);
    expect(post.body.media_attachments.map((m: { id: string }) => m.id)).toEqual([res.body.id]);
    // attached media is no longer editable through /api/v1/media/:id, and cannot be attached twice
    expect((await api(fx, 'GET', `/api/v1/media/${res.body.id}`, { token: user.token })).status).toBe(404);
    const again = await api(fx, 'POST', '/api/v1/statuses', {
      token: user.token,
      json: { status: 'again', media_ids: [res.body.id] },
    });
    expect(again.status).toBe(422);
    await runLocalJobs(fx);
    const onlyMedia = await api(fx, 'GET', '/api/v1/timelines/public?only_media=true');
    expect(onlyMedia.body.map((s: { id: string }) => s.id)).toEqual([post.body.id]);
  });

  it('answers 202 for a video, processes it in PostProcessMediaWorker, then 206 → 200', async () => {
    const res = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(fakeMp4(300_000), 'video/mp4', 'clip.mp4'),
    });
    expect(res.status).toBe(202);
    expect(res.body.type).toBe('video');
    expect(res.body.url).toBeNull();
    expect((await queuedJobs(fx)).map((j) => [j.class, j.args, j.retry])).toEqual([
      ['PostProcessMediaWorker', [res.body.id], 1],
    ]);

    const pending = await api(fx, 'GET', `/api/v1/media/${res.body.id}`, {
      token: user.token,
      noValidateResponse: true,
    });
    expect(pending.status).toBe(206);
    expect(pending.body.url).toBeNull();
    // a status cannot use media still processing
    const early = await api(fx, 'POST', '/api/v1/statuses', {
      token: user.token,
      json: { status: 'soon', media_ids: [res.body.id] },
    });
    expect(early.status).toBe(422);
    expect(early.body.error).toBe(
      'Cannot attach files that have not finished processing. Try again in a moment!',
    );

    expect(await runLocalJobs(fx)).toEqual({ PostProcessMediaWorker: 1 });
    const done = await api(fx, 'GET', `/api/v1/media/${res.body.id}`, { token: user.token });
    expect(done.status).toBe(200);
    expect(done.body.url).toMatch(/\/original\/[0-9a-f]{16}\.mp4$/);
    expect(done.body.preview_url).toMatch(/\/small\/[0-9a-f]{16}\.jpeg$/);
    const file = await fetch(done.body.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).length).toBe(300_000);
    expect((await fetch(done.body.preview_url)).status).toBe(200);
  });

  it('rejects garbage bytes with 422 and an unsupported type with 422, and keeps serving', async () => {
    const garbage = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(randomBytes(4096), 'image/png', 'x.png'),
    });
    expect(garbage.status).toBe(422);
    expect(garbage.body.error).toBe(
      'Validation failed: File has contents that are not what they are reported to be',
    );
    const text = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(Buffer.from('hello'), 'text/plain', 'x.txt'),
    });
    expect(text.status).toBe(422);
    expect(text.body.error).toBe('Validation failed: File content type is invalid');
    const corrupt = Buffer.concat([(await makePng(10, 10)).subarray(0, 40), randomBytes(200)]);
    const broken = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(corrupt, 'image/png', 'broken.png'),
    });
    expect(broken.status).toBe(422);
    const none = await api(fx, 'POST', '/api/v2/media', { token: user.token, json: {}, noValidate: true });
    expect(none.status).toBe(422);
    expect(none.body.error).toBe("Validation failed: File can't be blank");
    const count = await fx.tb.db.query(
      'SELECT count(*)::int AS n FROM media_attachments WHERE account_id = $1',
      [user.accountId],
    );
    expect(count.rows[0].n).toBe(2); // the image and the video of the tests above
    // no upload scratch files are left behind, and the scratch directory is not served
    const tmp = await fetch(`${fx.url}/system/tmp/anything`);
    expect(tmp.status).toBe(404);
    expect((await fetch(`${fx.url}/system/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await api(fx, 'GET', '/api/v1/instance')).status).toBe(200);
  });

  it('limits images to 16 MB (422) and request bodies to 99 MB (413)', async () => {
    const big = Buffer.concat([await makePng(64, 64), Buffer.alloc(16 * 1024 * 1024)]);
    const res = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(big, 'image/png', 'big.png'),
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('Validation failed: File file size must be less than 16 MB');
    const huge = fakeMp4(99 * 1024 * 1024 + 10);
    const tooLarge = await api(fx, 'POST', '/api/v2/media', {
      token: user.token,
      ...upload(huge, 'video/mp4', 'huge.mp4'),
      noValidateResponse: true,
    });
    expect(tooLarge.status).toBe(413);
  });

  it('v1 processes video inside the request and answers 200', async () => {
    const res = await api(fx, 'POST', '/api/v1/media', {
      token: user.token,
      ...upload(fakeMp4(50_000), 'video/mp4', 'now.mp4'),
    });
    expect(res.status).toBe(200);
    expect(res.body.url).toMatch(/\.mp4$/);
    // no upload scratch file is left behind by any of the above
    expect(await readdir(join(fx.mediaDir, 'tmp'))).toEqual([]);
  });
});
