/**
 * Media for uploads, built in the script so no binary fixture has to be
 * opened: a real PNG (stored deflate blocks, CRC-32, Adler-32: any decoder,
 * sharp or ImageMagick, reads it) and a multipart/form-data body assembled
 * by hand with a boundary (the local executor's support for http.file and
 * FormData is not to be relied on; a byte body works in both engines).
 */
import { utf8Encode } from './encoding.ts';

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

class ByteWriter {
  private buf: Uint8Array;
  length = 0;
  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u8(v: number) {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number) {
    this.u8(v >>> 24);
    this.u8(v >>> 16);
    this.u8(v >>> 8);
    this.u8(v);
  }
  u16le(v: number) {
    this.u8(v);
    this.u8(v >>> 8);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** zlib stream of stored (uncompressed) deflate blocks: simple, valid, incompressible by design. */
function zlibStored(data: Uint8Array): Uint8Array {
  const w = new ByteWriter(data.length + 16 + Math.ceil(data.length / 65535) * 5);
  w.u8(0x78);
  w.u8(0x01);
  for (let off = 0; off < data.length || off === 0; off += 65535) {
    const len = Math.min(65535, data.length - off);
    w.u8(off + len >= data.length ? 1 : 0);
    w.u16le(len);
    w.u16le(~len & 0xffff);
    w.bytes(data.subarray(off, off + len));
    if (data.length === 0) break;
  }
  w.u32(adler32(data));
  return w.result();
}

function chunk(w: ByteWriter, type: string, data: Uint8Array) {
  const typed = new Uint8Array(4 + data.length);
  typed.set(utf8Encode(type), 0);
  typed.set(data, 4);
  w.u32(data.length);
  w.bytes(typed);
  w.u32(crc32(typed));
}

/**
 * An RGB PNG of width × height: a colour gradient with per-`seed` hue and
 * some noise, so every upload is a distinct image (Mastodon does not
 * deduplicate uploads, but thumbnails and blurhash then do real work).
 * Size is about 3 × width × height bytes.
 */
export function makePng(width: number, height: number, seed = 1): Uint8Array {
  const raw = new Uint8Array(height * (1 + width * 3));
  let s = (seed * 2654435761) >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 0xff;
  };
  const r0 = rnd();
  const g0 = rnd();
  const b0 = rnd();
  let p = 0;
  for (let y = 0; y < height; y++) {
    raw[p++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const n = rnd() & 0x1f;
      raw[p++] = (r0 + Math.floor((x * 255) / Math.max(1, width)) + n) & 0xff;
      raw[p++] = (g0 + Math.floor((y * 255) / Math.max(1, height)) + n) & 0xff;
      raw[p++] = (b0 + ((x + y) & 0xff)) & 0xff;
    }
  }
  const w = new ByteWriter(raw.length + 128);
  w.bytes(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const ihdr = new ByteWriter(13);
  ihdr.u32(width);
  ihdr.u32(height);
  ihdr.u8(8); // bit depth
  ihdr.u8(2); // colour type: RGB
  ihdr.u8(0);
  ihdr.u8(0);
  ihdr.u8(0);
  chunk(w, 'IHDR', ihdr.result());
  chunk(w, 'IDAT', zlibStored(raw));
  chunk(w, 'IEND', new Uint8Array(0));
  return w.result();
}

export interface MultipartField {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

export interface MultipartBody {
  body: Uint8Array;
  contentType: string;
  boundary: string;
}

/** multipart/form-data (RFC 7578) with a boundary that does not occur in the parts. */
export function buildMultipart(
  fields: readonly MultipartField[],
  boundary = `----fedicap${Date.now().toString(16)}${Math.floor(Math.random() * 1e9).toString(16)}`,
): MultipartBody {
  const w = new ByteWriter(1024);
  const quoteParam = (v: string) => v.replace(/["\\\r\n]/g, '_');
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(f.name)}"`;
    if (f.filename !== undefined) head += `; filename="${quoteParam(f.filename)}"`;
    head += '\r\n';
    if (f.contentType) head += `Content-Type: ${f.contentType}\r\n`;
    head += '\r\n';
    w.bytes(utf8Encode(head));
    w.bytes(typeof f.value === 'string' ? utf8Encode(f.value) : f.value);
    w.bytes(utf8Encode('\r\n'));
  }
  w.bytes(utf8Encode(`--${boundary}--\r\n`));
  return { body: w.result(), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}
