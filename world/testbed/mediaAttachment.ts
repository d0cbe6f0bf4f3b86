import { MEDIA_TYPE } from './db/pool.js';

/**
 * MediaAttachment's limits and supported types, shared by local uploads
 * (api/media.ts) and cached remote media (activitypub/media.ts).
 */

/** MediaAttachment::IMAGE_LIMIT and VIDEO_LIMIT (bytes). */
export const IMAGE_LIMIT_BYTES = 16 * 1024 * 1024;
export const VIDEO_LIMIT_BYTES = 99 * 1024 * 1024;
/** MediaAttachment IMAGE_STYLES: the original at most 3840 × 2160 pixels, `small` at most 230,400 pixels. */
export const ORIGINAL_MAX_PIXELS = 8_294_400;
export const SMALL_MAX_PIXELS = 230_400;

export const IMAGE_MIME_TYPES = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/heic',
  'image/heif',
  'image/webp',
  'image/avif',
];
export const VIDEO_MIME_TYPES = ['video/webm', 'video/mp4', 'video/quicktime', 'video/ogg'];
export const AUDIO_MIME_TYPES = [
  'audio/wave',
  'audio/wav',
  'audio/x-wav',
  'audio/x-pn-wave',
  'audio/vnd.wave',
  'audio/ogg',
  'audio/vorbis',
  'audio/mpeg',
  'audio/mp3',
  'audio/webm',
  'audio/flac',
  'audio/aac',
  'audio/m4a',
  'audio/x-m4a',
  'audio/mp4',
  'audio/3gpp',
  'video/x-ms-asf',
];
/** MediaAttachment.supported_mime_types (images, video, audio). */
export const SUPPORTED_MIME_TYPES = [...IMAGE_MIME_TYPES, ...VIDEO_MIME_TYPES, ...AUDIO_MIME_TYPES];

export const isSupportedMediaType = (mime: string) => SUPPORTED_MIME_TYPES.includes(mime);

export function mediaTypeFor(mime: string | undefined): number {
  if (!mime) return MEDIA_TYPE.unknown;
  if (IMAGE_MIME_TYPES.includes(mime)) return MEDIA_TYPE.image;
  if (VIDEO_MIME_TYPES.includes(mime)) return MEDIA_TYPE.video;
  if (AUDIO_MIME_TYPES.includes(mime)) return MEDIA_TYPE.audio;
  return MEDIA_TYPE.unknown;
}
