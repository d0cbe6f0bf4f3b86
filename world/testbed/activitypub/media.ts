/**
 * Remote media, cached on local storage as Mastodon caches it: attachments
 * of remote statuses are downloaded synchronously inside the ingress job
 * (MediaAttachment#download_file!), images get a `small` rendition
 * (Paperclip styles, with sharp), failures are retried later by
 * RedownloadMediaWorker (pull), and Vacuum::MediaAttachmentsVacuum removes
 * cached remote files past the retention period (rows stay, local uploads
 * are never touched). An image's `small` rendition sits next to its
 * original (…/small/…) and is recorded in thumbnail_path, as the client API
 * records local ones.
 *
 * Files live under config.mediaDir with Mastodon's layout:
 * cache/media_attachments/files/000/111/.../original/<name>.<ext> (paths in
 * the database are relative to mediaDir).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import sharp from 'sharp';
import type { Testbed } from '../context.js';
import { MEDIA_TYPE, PROCESSING } from '../db/pool.js';
import type { TestbedWorker } from '../jobClasses.js';
import {
  IMAGE_LIMIT_BYTES,
  ORIGINAL_MAX_PIXELS,
  SMALL_MAX_PIXELS,
  VIDEO_LIMIT_BYTES,
  mediaTypeFor,
} from '../mediaAttachment.js';
import { federation } from './state.js';

/** Account avatar/header limit (Account::Avatar LIMIT). */
export const PROFILE_IMAGE_LIMIT_BYTES = 8 * 1024 * 1024;
/** PreviewCard::LIMIT. */
export const PREVIEW_CARD_IMAGE_LIMIT_BYTES = 8 * 1024 * 1024;
const EXT: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/heic': 'heic',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
};

/** Paperclip's :id_partition for bigint ids: zero-padded to 18 digits, groups of 3. */
export function idPartition(id: string | number): string {
  return String(id).padStart(18, '0').match(/.{3}/g)!.join('/');
}

export function absoluteMediaPath(tb: Testbed, path: string): string {
  return isAbsolute(path) ? path : join(tb.config.mediaDir, path);
}

/** The `small` rendition next to an original (…/original/x.png → …/small/x.png). */
export const smallPathFor = (original: string) => original.replace(/\/original\//, '/small/');

function extensionFor(mime: string, url: string): string {
  if (EXT[mime]) return EXT[mime]!;
  const m = /\.([a-z0-9]{2,5})(?:$|\?)/i.exec(new URL(url).pathname);
  return m ? m[1]!.toLowerCase() : 'bin';
}

/**
 * GET `url` into `relPath` (relative to mediaDir) with a size cap. Returns the
 * bytes and content type; throws on a non-2xx answer or a transport error.
 */
export async function downloadTo(
  tb: Testbed,
  url: string,
  relPath: string,
  maxBytes: number,
): Promise<{ bytes: number; mimeType: string }> {
  const file = absoluteMediaPath(tb, relPath);
  mkdirSync(dirname(file), { recursive: true });
  const res = await federation(tb).http.request({ url, toFile: file, maxBytes, headers: { Accept: '*/*' } });
  if (res.status < 200 || res.status >= 300)
    throw new Error(`Mastodon::UnexpectedResponseError: ${url} answered HTTP ${res.status}`);
  return { bytes: res.bytes, mimeType: res.mimeType };
}

interface ImageMeta {
  width: number;
  height: number;
  size: string;
  aspect: number;
}

/**
 * Paperclip processing of an image: shrink the original when above
 * ORIGINAL_MAX_PIXELS and write the `small` style. Returns Mastodon-style meta.
 */
async function processImage(
  file: string,
): Promise<{ original: ImageMeta; small: ImageMeta; bytes: number; smallBytes: number }> {
  const input = sharp(file, { failOn: 'error' });
  const meta = await input.metadata();
  let width = meta.width ?? 0;
  let height = meta.height ?? 0;
  if (width * height > ORIGINAL_MAX_PIXELS) {
    const scale = Math.sqrt(ORIGINAL_MAX_PIXELS / (width * height));
    const buf = await sharp(file)
      .rotate()
      .resize(Math.floor(width * scale), Math.floor(height * scale))
      .toBuffer({ resolveWithObject: true });
    await sharp(buf.data).toFile(file);
    ({ width, height } = buf.info);
  }
  const scale = width * height > SMALL_MAX_PIXELS ? Math.sqrt(SMALL_MAX_PIXELS / (width * height)) : 1;
  const sw = Math.max(1, Math.floor(width * scale));
  const sh = Math.max(1, Math.floor(height * scale));
  const small = smallPathFor(file);
  mkdirSync(dirname(small), { recursive: true });
  const out = await sharp(file).rotate().resize(sw, sh).toFile(small);
  const m = (w: number, h: number): ImageMeta => ({
    width: w,
    height: h,
    size: `${w}x${h}`,
    aspect: h ? w / h : 0,
  });
  return { original: m(width, height), small: m(sw, sh), bytes: statSync(file).size, smallBytes: out.size };
}

interface MediaRow {
  id: string;
  account_id: string;
  remote_url: string;
  file_path: string | null;
  type: number;
  meta: Record<string, unknown>;
}

/**
 * MediaAttachment#download_file!: fetch the remote file into the cache,
 * process images, and mark the attachment complete. Throws on failure (the
 * caller schedules RedownloadMediaWorker).
 */
export async function downloadRemoteMedia(tb: Testbed, mediaId: string, mimeHint?: string): Promise<void> {
  const { rows } = await tb.db.query<MediaRow>(
    'SELECT id, account_id, remote_url, file_path, type, meta FROM media_attachments WHERE id = $1',
    [mediaId],
  );
  const media = rows[0];
  if (!media?.remote_url) return;
  const limit = media.type === MEDIA_TYPE.image ? IMAGE_LIMIT_BYTES : VIDEO_LIMIT_BYTES;
  const name = randomBytes(8).toString('hex');
  const guessExt = extensionFor(mimeHint ?? '', media.remote_url);
  const rel = `cache/media_attachments/files/${idPartition(media.id)}/original/${name}.${guessExt}`;
  const got = await downloadTo(tb, media.remote_url, rel, limit);
  const mime = got.mimeType || mimeHint || '';
  let type = media.type === MEDIA_TYPE.unknown ? mediaTypeFor(mime) : media.type;
  let bytes = got.bytes;
  let meta: Record<string, unknown> = {};
  let small: { path: string; bytes: number } | null = null;
  if (type === MEDIA_TYPE.image) {
    try {
      const processed = await processImage(absoluteMediaPath(tb, rel));
      meta = { original: processed.original, small: processed.small };
      bytes = processed.bytes;
      small = { path: smallPathFor(rel), bytes: processed.smallBytes };
    } catch {
      type = MEDIA_TYPE.unknown; // not decodable as an image: kept as a file, like an unknown type
    }
  }
  const old = media.file_path;
  // The small rendition goes where the client API keeps it (thumbnail_path), so preview_url works.
  await tb.db.query(
    `UPDATE media_attachments SET file_path = $2, file_size = $3, type = $4, meta = $5, processing = $6,
       thumbnail_path = $7, thumbnail_size = $8, updated_at = now() WHERE id = $1`,
    [
      media.id,
      rel,
      bytes,
      type,
      JSON.stringify(meta),
      PROCESSING.complete,
      small?.path ?? null,
      small?.bytes ?? 0,
    ],
  );
  if (old && old !== rel) removeMediaFiles(tb, old);
}

/** Delete an original and its `small` rendition (ignoring missing files). */
export function removeMediaFiles(tb: Testbed, relPath: string): void {
  const file = absoluteMediaPath(tb, relPath);
  rmSync(file, { force: true });
  rmSync(smallPathFor(file), { force: true });
}

/**
 * Avatar or header of a remote account (Account::Avatar / Account::Header,
 * downloaded while the account is saved). Stored at a fixed path per account;
 * failures are ignored (save_with_optional_media! saves without media).
 */
export async function downloadProfileImage(
  tb: Testbed,
  accountId: string,
  kind: 'avatar' | 'header',
  url: string | undefined,
): Promise<void> {
  if (!url) return;
  const rel = `cache/accounts/${kind}s/${idPartition(accountId)}/original/${kind}`;
  if (existsSync(absoluteMediaPath(tb, rel))) return;
  try {
    await downloadTo(tb, url, rel, PROFILE_IMAGE_LIMIT_BYTES);
    const file = absoluteMediaPath(tb, rel);
    const [w, h] = kind === 'avatar' ? [400, 400] : [1500, 500];
    const buf = await sharp(file)
      .rotate()
      .resize(w, h, { fit: 'cover', withoutEnlargement: true })
      .toBuffer();
    await sharp(buf).toFile(`${file}.small`);
  } catch {
    rmSync(absoluteMediaPath(tb, rel), { force: true });
  }
}

/**
 * PreviewCard image: downloaded and resized to fit 640×640 (no enlargement).
 * Returns the relative path and stored bytes, or null when it failed.
 */
export async function downloadPreviewCardImage(
  tb: Testbed,
  cardId: string,
  url: string,
): Promise<{ path: string; bytes: number } | null> {
  const name = randomBytes(8).toString('hex');
  const tmp = `cache/preview_cards/images/${idPartition(cardId)}/original/${name}.download`;
  try {
    await downloadTo(tb, url, tmp, PREVIEW_CARD_IMAGE_LIMIT_BYTES);
    const src = absoluteMediaPath(tb, tmp);
    const meta = await sharp(src).metadata();
    const ext = meta.format === 'png' ? 'png' : meta.format === 'webp' ? 'webp' : 'jpg';
    const rel = tmp.replace(/\.download$/, `.${ext}`);
    const out = await sharp(src)
      .rotate()
      .resize(640, 640, { fit: 'inside', withoutEnlargement: true })
      .toFormat(ext === 'jpg' ? 'jpeg' : ext)
      .toFile(absoluteMediaPath(tb, rel));
    rmSync(src, { force: true });
    return { path: rel, bytes: out.size };
  } catch {
    rmSync(absoluteMediaPath(tb, tmp), { force: true });
    return null;
  }
}

// ---------------------------------------------------------------- jobs

/** RedownloadMediaWorker (pull, retry 3): download a remote attachment that failed earlier. */
export function redownloadMediaWorker(tb: Testbed): TestbedWorker<'RedownloadMediaWorker'> {
  return {
    queue: 'pull',
    retry: 3,
    perform: async ([mediaId]) => {
      const { rows } = await tb.db.query<{ remote_url: string; file_path: string | null }>(
        'SELECT remote_url, file_path FROM media_attachments WHERE id = $1',
        [String(mediaId)],
      );
      const media = rows[0];
      if (!media?.remote_url || media.file_path) return;
      await downloadRemoteMedia(tb, String(mediaId));
    },
  };
}

/** Rows handled per batch by the vacuum (find_each's batch size). */
export const VACUUM_BATCH = 1000;
/** Upper bound of batches per run, so one run always ends. */
export const VACUUM_MAX_BATCHES = 10_000;

/**
 * Vacuum::MediaAttachmentsVacuum#vacuum_cached_files! (and
 * Vacuum::PreviewCardsVacuum's cached images): remote attachments created and
 * updated before the retention period lose their files (file_path NULL, row
 * kept, so it can be refetched); local uploads (remote_url = '') are never
 * touched. No-op when the retention is not a positive number of days.
 * Returns the number of files removed.
 */
export async function vacuumCachedMedia(
  tb: Testbed,
  now: Date = new Date(),
): Promise<{ mediaAttachments: number; previewCards: number }> {
  const days = tb.config.mediaCacheRetentionDays;
  const result = { mediaAttachments: 0, previewCards: 0 };
  if (!(days > 0)) return result;
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  for (let batch = 0; batch < VACUUM_MAX_BATCHES; batch++) {
    const { rows } = await tb.db.query<{ id: string; file_path: string }>(
      `SELECT id, file_path FROM media_attachments
        WHERE remote_url <> '' AND file_path IS NOT NULL AND created_at < $1 AND updated_at < $1
        ORDER BY created_at LIMIT $2`,
      [cutoff, VACUUM_BATCH],
    );
    if (rows.length === 0) break;
    for (const row of rows) removeMediaFiles(tb, row.file_path);
    await tb.db.query(
      'UPDATE media_attachments SET file_path = NULL, thumbnail_path = NULL, updated_at = now() WHERE id = ANY($1::bigint[])',
      [rows.map((r) => r.id)],
    );
    result.mediaAttachments += rows.length;
  }
  for (let batch = 0; batch < VACUUM_MAX_BATCHES; batch++) {
    const { rows } = await tb.db.query<{ id: string; image_path: string }>(
      'SELECT id, image_path FROM preview_cards WHERE image_path IS NOT NULL AND created_at < $1 ORDER BY created_at LIMIT $2',
      [cutoff, VACUUM_BATCH],
    );
    if (rows.length === 0) break;
    for (const row of rows) rmSync(absoluteMediaPath(tb, row.image_path), { force: true });
    await tb.db.query('UPDATE preview_cards SET image_path = NULL WHERE id = ANY($1::bigint[])', [
      rows.map((r) => r.id),
    ]);
    result.previewCards += rows.length;
  }
  return result;
}

/** Scheduler::VacuumScheduler (scheduler, retry 0): Mastodon's daily cleanup; here the media part. */
export function vacuumScheduler(tb: Testbed): TestbedWorker<'Scheduler::VacuumScheduler'> {
  return {
    queue: 'scheduler',
    retry: 0,
    perform: async () => {
      await vacuumCachedMedia(tb);
    },
  };
}
