import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import type { Testbed } from '../context.js';
import { MEDIA_TYPE, PROCESSING } from '../db/pool.js';
import {
  IMAGE_LIMIT_BYTES,
  IMAGE_MIME_TYPES,
  ORIGINAL_MAX_PIXELS,
  SMALL_MAX_PIXELS,
  SUPPORTED_MIME_TYPES,
  VIDEO_LIMIT_BYTES,
} from '../mediaAttachment.js';
import type { AuthContext } from './auth.js';
import { ApiError, unparsable, validationFailed } from './http.js';
import { unstorable } from '../storableText.js';
import { enqueue } from './jobs.js';
import { serializeMedia, type MediaRow } from './serializers.js';

/**
 * Media uploads as Mastodon's MediaAttachment + Paperclip do them:
 * - images are processed inside the request (decoded, auto-oriented,
 *   re-encoded as the original capped at 8.3 megapixels, a `small`
 *   derivative of at most 230,400 pixels, a blurhash) → 200;
 * - video, gifv (animated GIF) and audio are stored and handed to
 *   PostProcessMediaWorker → 202 with url null until it finishes.
 * Files live under config.mediaDir as Mastodon's local storage lays them
 * out (media_attachments/files/<id partition>/<style>/<random>.<ext>) and
 * are served at /system/<path>.
 */

export const IMAGE_MATRIX_LIMIT = 33_177_600; // 7680 × 4320
export const MAX_DESCRIPTION_LENGTH = 1500;

/** Content sniffing by magic bytes (Mastodon asks `file`/Marcel; a declared type is not trusted). */
export function sniffMimeType(head: Buffer, declared: string): string | undefined {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  const audioish = declared.startsWith('audio/');
  if (
    head.length >= 8 &&
    head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'audio/wav';
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (['heic', 'heix', 'mif1', 'msf1', 'heif'].includes(brand)) return 'image/heic';
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (brand === 'M4A ' || brand === 'M4B ' || audioish) return 'audio/mp4';
    if (brand === 'qt  ') return 'video/quicktime';
    return 'video/mp4';
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return audioish ? 'audio/webm' : 'video/webm';
  if (ascii(0, 4) === 'OggS') return audioish ? 'audio/ogg' : 'video/ogg';
  if (ascii(0, 4) === 'fLaC') return 'audio/flac';
  if (ascii(0, 3) === 'ID3' || (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0))
    return 'audio/mpeg';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x3026b275) return 'video/x-ms-asf';
  return undefined;
}

const EXT: Record<string, string> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/heic': 'heic',
  'image/avif': 'avif',
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'video/ogg': 'ogv',
  'video/x-ms-asf': 'asf',
  'audio/wav': 'wav',
  'audio/mp4': 'm4a',
  'audio/webm': 'weba',
  'audio/ogg': 'oga',
  'audio/flac': 'flac',
  'audio/mpeg': 'mp3',
};

const CONTENT_TYPES: Record<string, string> = {
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.heic': 'image/heic',
  '.avif': 'image/avif',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.ogv': 'video/ogg',
  '.asf': 'video/x-ms-asf',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.weba': 'audio/webm',
  '.oga': 'audio/ogg',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
};

/** Paperclip's id_partition: 000/000/001 (more groups for Mastodon's 18-digit ids). */
export const idPartition = (id: string) => id.padStart(9, '0').match(/\d{3}/g)!.join('/');

export function mediaPath(id: string, style: string, name: string): string {
  return `media_attachments/files/${idPartition(id)}/${style}/${name}`;
}

async function writeStored(tb: Testbed, relPath: string, data: Buffer): Promise<number> {
  const abs = join(tb.config.mediaDir, relPath);
  await mkdir(dirname(abs), { recursive: true });
  await writeFile(abs, data);
  return data.length;
}

// ------------------------------------------------------------- blurhash

const B83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
const encode83 = (value: number, length: number) => {
  let out = '';
  for (let i = 1; i <= length; i++) out += B83[Math.floor(value / 83 ** (length - i)) % 83];
  return out;
};
const toLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (v: number) => {
  const c = Math.max(0, Math.min(1, v));
  return c <= 0.0031308
    ? Math.round(c * 12.92 * 255 + 0.5)
    : Math.round((1.055 * c ** (1 / 2.4) - 0.055) * 255 + 0.5);
};
const signPow = (v: number, e: number) => Math.sign(v) * Math.abs(v) ** e;

/** The BlurHash algorithm (woltapp/blurhash), 4×4 components as Mastodon's BLURHASH_OPTIONS. */
export function blurhash(rgb: Buffer, width: number, height: number, cx = 4, cy = 4): string {
  const factors: [number, number, number][] = [];
  for (let j = 0; j < cy; j++) {
    for (let i = 0; i < cx; i++) {
      const norm = i === 0 && j === 0 ? 1 : 2;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const basis = Math.cos((Math.PI * i * x) / width) * Math.cos((Math.PI * j * y) / height);
          const o = 3 * (y * width + x);
          r += basis * toLinear(rgb[o]!);
          g += basis * toLinear(rgb[o + 1]!);
          b += basis * toLinear(rgb[o + 2]!);
        }
      }
      const scale = norm / (width * height);
      factors.push([r * scale, g * scale, b * scale]);
    }
  }
  const [dc, ...ac] = factors;
  let hash = encode83(cx - 1 + (cy - 1) * 9, 1);
  let maxValue = 1;
  if (ac.length > 0) {
    const actualMax = Math.max(...ac.flat().map(Math.abs));
    const quantised = Math.floor(Math.max(0, Math.min(82, Math.floor(actualMax * 166 - 0.5))));
    maxValue = (quantised + 1) / 166;
    hash += encode83(quantised, 1);
  } else hash += encode83(0, 1);
  hash += encode83((toSrgb(dc![0]) << 16) + (toSrgb(dc![1]) << 8) + toSrgb(dc![2]), 4);
  for (const [r, g, b] of ac) {
    const q = (v: number) =>
      Math.floor(Math.max(0, Math.min(18, Math.floor(signPow(v / maxValue, 0.5) * 9 + 9.5))));
    hash += encode83(q(r) * 19 * 19 + q(g) * 19 + q(b), 2);
  }
  return hash;
}

// ------------------------------------------------------------- upload

interface SavedUpload {
  tmpPath: string;
  size: number;
  head: Buffer;
  declared: string;
  filename: string;
}

async function saveUpload(tb: Testbed, part: MultipartFile): Promise<SavedUpload> {
  const tmpDir = join(tb.config.mediaDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmpPath = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  let size = 0;
  const heads: Buffer[] = [];
  let headLen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (headLen < 64) {
        heads.push(chunk.subarray(0, 64 - headLen));
        headLen += Math.min(chunk.length, 64 - headLen);
      }
      cb(null, chunk);
    },
  });
  try {
    await pipeline(part.file, counter, createWriteStream(tmpPath));
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
  return {
    tmpPath,
    size,
    head: Buffer.concat(heads),
    declared: (part.mimetype || '').toLowerCase(),
    filename: part.filename,
  };
}

const MEDIA_COLUMNS = '*';

async function insertMedia(tb: Testbed, row: Omit<MediaRow, 'created_at' | 'status_id'>): Promise<MediaRow> {
  const res = await tb.db.query<MediaRow>(
    `INSERT INTO media_attachments (id, account_id, type, file_path, file_size, thumbnail_path, thumbnail_size, remote_url, processing, description, meta)
     VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, $10) RETURNING ${MEDIA_COLUMNS}`,
    [
      row.id,
      row.account_id,
      row.type,
      row.file_path,
      row.file_size,
      row.thumbnail_path,
      row.thumbnail_size,
      row.processing,
      row.description,
      row.meta,
    ],
  );
  return res.rows[0]!;
}

function parseFocus(v: string | undefined): { x: number; y: number } | undefined {
  if (!v) return undefined;
  const [x, y] = v.split(',').map(Number);
  if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) return undefined;
  const clamp = (n: number) => Math.max(-1, Math.min(1, n));
  return { x: clamp(x), y: clamp(y) };
}

interface UploadParts {
  upload?: SavedUpload;
  description?: string;
  focus?: string;
}

type UploadResult = { status: 200 | 202; body: Record<string, unknown> };

/** An attachment being created: its id, owner, file and the meta known so far. */
interface NewMedia {
  tb: Testbed;
  id: string;
  accountId: string;
  upload: SavedUpload;
  sniffed: string;
  description: string | null;
  meta: Record<string, unknown>;
}

/** The multipart fields: the first `file` (saved; others drained), `description` and `focus`. */
async function readParts(tb: Testbed, request: FastifyRequest, into: UploadParts): Promise<void> {
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname === 'file' && !into.upload) into.upload = await saveUpload(tb, part);
        else part.file.resume();
      } else if (part.fieldname === 'description' && typeof part.value === 'string')
        into.description = part.value;
      else if (part.fieldname === 'focus' && typeof part.value === 'string') into.focus = part.value;
    }
  } catch (err) {
    throw malformedOr(err);
  }
  const why = into.description === undefined ? undefined : unstorable(into.description);
  if (why) throw new ApiError(400, `Invalid request parameters: description holds ${why}`);
}

/**
 * A body busboy cannot parse (no boundary, a part cut short, a bad header) fails with a plain Error:
 * that is the client's 400, as Rack's multipart parser makes it. Limits (413), our own refusals and
 * the file system's errors (they name a syscall) keep their meaning.
 */
function malformedOr(err: unknown): unknown {
  if (err instanceof ApiError || !(err instanceof Error)) return err;
  if ('statusCode' in err || 'syscall' in err) return err;
  return unparsable();
}

/** Mastodon's validations in its order: a file, the description's length, the type its bytes show. */
function validateUpload(parts: UploadParts): { upload: SavedUpload; sniffed: string } {
  const { upload, description } = parts;
  if (!upload) throw validationFailed("File can't be blank");
  if (description !== undefined && [...description].length > MAX_DESCRIPTION_LENGTH) {
    throw validationFailed(`Description is too long (maximum is ${MAX_DESCRIPTION_LENGTH} characters)`);
  }
  const sniffed = sniffMimeType(upload.head, upload.declared);
  if (!sniffed) {
    throw validationFailed(
      SUPPORTED_MIME_TYPES.includes(upload.declared)
        ? 'File has contents that are not what they are reported to be'
        : 'File content type is invalid',
    );
  }
  if (!SUPPORTED_MIME_TYPES.includes(sniffed)) throw validationFailed('File content type is invalid');
  return { upload, sniffed };
}

/**
 * A still image is processed inside the request (200); undefined for an animated GIF (a gifv, processed
 * later).
 */
async function storeStillImage(m: NewMedia): Promise<UploadResult | undefined> {
  const { tb, id, upload, sniffed } = m;
  if (sniffed === 'image/gif') {
    const info = await sharp(upload.tmpPath, { limitInputPixels: IMAGE_MATRIX_LIMIT })
      .metadata()
      .catch(() => undefined);
    if ((info?.pages ?? 1) > 1) return undefined;
  }
  if (upload.size > IMAGE_LIMIT_BYTES) throw validationFailed('File file size must be less than 16 MB');
  const processed = await processImage(tb, id, upload, sniffed);
  const row = await insertMedia(tb, {
    id,
    account_id: m.accountId,
    type: MEDIA_TYPE.image,
    file_path: processed.originalPath,
    file_size: String(processed.originalSize),
    thumbnail_path: processed.smallPath,
    thumbnail_size: String(processed.smallSize),
    remote_url: '',
    processing: PROCESSING.complete,
    description: m.description,
    meta: { ...m.meta, ...processed.meta },
  });
  return { status: 200, body: serializeMedia(row, tb.baseUrl) };
}

/** Video, gifv, audio: stored now, processed by PostProcessMediaWorker (202), or here for v1 (200). */
async function storeForProcessing(m: NewMedia, delayProcessing: boolean): Promise<UploadResult> {
  const { tb, id, upload, sniffed } = m;
  if (upload.size > VIDEO_LIMIT_BYTES) throw new ApiError(413, 'Request Entity Too Large');
  const type =
    sniffed === 'image/gif'
      ? MEDIA_TYPE.gifv
      : sniffed.startsWith('audio/') || sniffed === 'video/x-ms-asf'
        ? MEDIA_TYPE.audio
        : MEDIA_TYPE.video;
  const originalPath = mediaPath(
    id,
    'original',
    `${randomBytes(8).toString('hex')}.${EXT[sniffed] ?? 'bin'}`,
  );
  const abs = join(tb.config.mediaDir, originalPath);
  await mkdir(dirname(abs), { recursive: true });
  await rename(upload.tmpPath, abs);
  const row = await insertMedia(tb, {
    id,
    account_id: m.accountId,
    type,
    file_path: originalPath,
    file_size: String(upload.size),
    thumbnail_path: null,
    thumbnail_size: '0',
    remote_url: '',
    processing: PROCESSING.queued,
    description: m.description,
    meta: m.meta,
  });
  if (!delayProcessing) {
    await postProcessMedia(tb, [id], { lastAttempt: true }).catch(() => undefined);
    const done =
      (await tb.db.query<MediaRow>('SELECT * FROM media_attachments WHERE id = $1', [id])).rows[0] ?? row;
    if (done.processing === PROCESSING.failed)
      throw new ApiError(500, 'Error processing thumbnail for uploaded media');
    return { status: 200, body: serializeMedia(done, tb.baseUrl) };
  }
  await enqueue(tb, 'PostProcessMediaWorker', [id]);
  return { status: 202, body: serializeMedia(row, tb.baseUrl) };
}

/** POST /api/v2/media; with delayProcessing false, v1's create (video processed inside the request). */
export async function uploadMedia(
  tb: Testbed,
  request: FastifyRequest,
  auth: AuthContext,
  opts: { delayProcessing: boolean } = { delayProcessing: true },
): Promise<UploadResult> {
  if (!request.isMultipart()) throw validationFailed("File can't be blank");
  const parts: UploadParts = {};
  try {
    await readParts(tb, request, parts);
    const { upload, sniffed } = validateUpload(parts);
    const id = (await tb.db.query<{ id: string }>('SELECT timestamp_id() AS id')).rows[0]!.id;
    const meta: Record<string, unknown> = { content_type: sniffed };
    const f = parseFocus(parts.focus);
    if (f) meta.focus = f;
    const m: NewMedia = {
      tb,
      id,
      accountId: auth.accountId,
      upload,
      sniffed,
      description: parts.description ?? null,
      meta,
    };
    const image = IMAGE_MIME_TYPES.includes(sniffed) ? await storeStillImage(m) : undefined;
    return image ?? (await storeForProcessing(m, opts.delayProcessing));
  } finally {
    if (parts.upload) await rm(parts.upload.tmpPath, { force: true });
  }
}

interface ProcessedImage {
  originalPath: string;
  originalSize: number;
  smallPath: string;
  smallSize: number;
  meta: Record<string, unknown>;
}

function fitPixels(width: number, height: number, maxPixels: number): { width: number; height: number } {
  if (width * height <= maxPixels) return { width, height };
  const scale = Math.sqrt(maxPixels / (width * height));
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

const dims = (w: number, h: number) => ({
  width: w,
  height: h,
  size: `${w}x${h}`,
  aspect: h > 0 ? w / h : null,
});

async function processImage(
  tb: Testbed,
  id: string,
  upload: SavedUpload,
  mime: string,
): Promise<ProcessedImage> {
  let base: sharp.Sharp;
  let width: number;
  let height: number;
  try {
    base = sharp(upload.tmpPath, { limitInputPixels: IMAGE_MATRIX_LIMIT, failOn: 'error' }).rotate();
    const m = await base.metadata();
    if (!m.width || !m.height) throw new Error('no dimensions');
    const swap = (m.orientation ?? 1) >= 5;
    width = swap ? m.height : m.width;
    height = swap ? m.width : m.height;
  } catch (err) {
    if (err instanceof Error && /pixel limit/i.test(err.message))
      throw validationFailed('File dimensions are too large');
    // Paperclip::Errors::NotIdentifiedByImageMagickError
    throw new ApiError(422, 'File type of uploaded media could not be verified');
  }
  const format = (['jpeg', 'png', 'webp', 'gif'] as const).find((f) => mime === `image/${f}`) ?? 'jpeg';
  const ext = format;
  const orig = fitPixels(width, height, ORIGINAL_MAX_PIXELS);
  const small = fitPixels(width, height, SMALL_MAX_PIXELS);
  const name = `${randomBytes(8).toString('hex')}.${ext}`;
  let originalBuf: Buffer;
  let smallBuf: Buffer;
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    originalBuf = await base
      .clone()
      .resize(orig.width, orig.height, { fit: 'fill' })
      .toFormat(format)
      .toBuffer();
    smallBuf = await base
      .clone()
      .resize(small.width, small.height, { fit: 'fill' })
      .toFormat(format)
      .toBuffer();
    raw = await base
      .clone()
      .resize(32, 32, { fit: 'inside' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch {
    throw new ApiError(422, 'File type of uploaded media could not be verified');
  }
  const originalPath = mediaPath(id, 'original', name);
  const smallPath = mediaPath(id, 'small', name);
  const originalSize = await writeStored(tb, originalPath, originalBuf);
  const smallSize = await writeStored(tb, smallPath, smallBuf);
  return {
    originalPath,
    originalSize,
    smallPath,
    smallSize,
    meta: {
      original: dims(orig.width, orig.height),
      small: dims(small.width, small.height),
      blurhash: blurhash(raw.data, raw.info.width, raw.info.height),
    },
  };
}

// ------------------------------------------------------------- PostProcessMediaWorker

/**
 * How many SHA-256 passes over the file stand in for transcoding. This is
 * a SIMULATION: the testbed has no ffmpeg, so "transcoding" is a CPU-bound
 * step proportional to the file size plus a generated preview frame. Real
 * ffmpeg transcoding costs orders of magnitude more CPU per byte; calibrate
 * PostProcessMediaWorker's service time from a real Mastodon, not from this.
 */
export const SIMULATED_TRANSCODE_PASSES = 4;

/**
 * PostProcessMediaWorker (default queue, retry 1). On the last attempt a
 * failure marks the attachment failed (Mastodon's sidekiq_retries_exhausted).
 */
export async function postProcessMedia(
  tb: Testbed,
  [idArg]: unknown[],
  opts: { lastAttempt: boolean },
): Promise<void> {
  const id = String(idArg);
  const res = await tb.db.query<MediaRow>('SELECT * FROM media_attachments WHERE id = $1', [id]);
  const m = res.rows[0];
  if (!m || m.processing === PROCESSING.complete || !m.file_path) return;
  await tb.db.query('UPDATE media_attachments SET processing = $2, updated_at = now() WHERE id = $1', [
    id,
    PROCESSING.in_progress,
  ]);
  try {
    const abs = join(tb.config.mediaDir, m.file_path);
    let digest = Buffer.alloc(0);
    for (let pass = 0; pass < SIMULATED_TRANSCODE_PASSES; pass++) {
      const hash = createHash('sha256').update(digest);
      for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
      digest = hash.digest();
    }
    const meta: Record<string, unknown> = { ...m.meta, original: {} };
    let thumbnailPath: string | null = null;
    let thumbnailSize = 0;
    if (m.type !== MEDIA_TYPE.audio) {
      // A "frame": a 640×360 image coloured from the file's digest, encoded as the small preview.
      const frame = await sharp({
        create: {
          width: 640,
          height: 360,
          channels: 3,
          background: { r: digest[0]!, g: digest[1]!, b: digest[2]! },
        },
      })
        .jpeg({ quality: 80 })
        .toBuffer();
      thumbnailPath = mediaPath(id, 'small', `${randomBytes(8).toString('hex')}.jpeg`);
      thumbnailSize = await writeStored(tb, thumbnailPath, frame);
      meta.small = dims(640, 360);
      const raw = await sharp(frame).resize(32, 18).raw().toBuffer({ resolveWithObject: true });
      meta.blurhash = blurhash(raw.data, raw.info.width, raw.info.height);
    }
    await tb.db.query(
      'UPDATE media_attachments SET processing = $2, thumbnail_path = $3, thumbnail_size = $4, meta = $5, updated_at = now() WHERE id = $1',
      [id, PROCESSING.complete, thumbnailPath, thumbnailSize, meta],
    );
  } catch (err) {
    // Exhausted: GET /api/v1/media/:id answers 422 from now on. Otherwise Sidekiq retries once.
    if (opts.lastAttempt)
      await tb.db.query('UPDATE media_attachments SET processing = $2, updated_at = now() WHERE id = $1', [
        id,
        PROCESSING.failed,
      ]);
    throw err;
  }
}

/** Delete media rows and their files (RemovalWorker without redraft). */
export async function destroyMedia(
  tb: Testbed,
  rows: Pick<MediaRow, 'id' | 'file_path' | 'thumbnail_path'>[],
): Promise<void> {
  if (rows.length === 0) return;
  for (const r of rows) {
    for (const p of [r.file_path, r.thumbnail_path])
      if (p) await rm(join(tb.config.mediaDir, p), { force: true });
  }
  await tb.db.query('DELETE FROM media_attachments WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
}

// ------------------------------------------------------------- /system/*

/**
 * Serve a stored file, as nginx serves Mastodon's public/system. Paths are
 * resolved inside config.mediaDir only; the upload scratch directory is
 * not served.
 */
export async function serveStoredFile(
  tb: Testbed,
  relPath: string,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const root = resolve(tb.config.mediaDir);
  const abs = resolve(root, relPath);
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || rel.split(sep)[0] === 'tmp' || rel.includes('\0')) {
    return reply.code(404).send({ error: 'Not found' });
  }
  let size: number;
  try {
    const st = await stat(abs);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    return reply.code(404).send({ error: 'Not found' });
  }
  return reply
    .header('Content-Type', CONTENT_TYPES[extname(abs).toLowerCase()] ?? 'application/octet-stream')
    .header('Content-Length', String(size))
    .header('Cache-Control', 'public, max-age=315576000, immutable')
    .send(createReadStream(abs));
}
