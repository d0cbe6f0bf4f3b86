/**
 * The lines of a text file, plain or gzip, streamed in batches: a run's k6
 * output can be gigabytes, so memory holds one chunk and its lines, never
 * the file. Gzip is told by its magic bytes (1f 8b, RFC 1952 §2.3.1), not
 * by the file's name.
 */
import { open } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import { InputError } from '../shared/errors.js';

/** Consecutive lines of a file; `firstLine` is the 1-based number of `lines[0]`. Blank lines are kept. */
export interface LineBatch {
  firstLine: number;
  lines: string[];
}

/** A gzip file that ends before its stream does (a copy cut short, a writer killed): its last line is lost. */
export class TruncatedGzipError extends InputError {}

const CHUNK_BYTES = 1 << 20;
/** Longer than any k6 or collector line by far: beyond it the file is not line-oriented (or is binary). */
export const MAX_LINE_BYTES = 16 << 20;
const GZIP_MAGIC = [0x1f, 0x8b];

/** Open a file for reading; a missing file is the user's to fix (InputError), anything else a failure. */
export async function openForReading(path: string) {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: no such file`);
    if (code === 'EISDIR') throw new InputError(`${path}: a directory, not a file`);
    throw err;
  }
}

/** Whether a file starts with gzip's magic bytes. */
export async function isGzipFile(path: string): Promise<boolean> {
  const file = await openForReading(path);
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await file.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await file.close();
  }
}

/**
 * The file's lines (`\n` or `\r\n`), one batch per chunk read. A last line without its newline is
 * yielded too (a parser will find it cut short). A truncated gzip throws TruncatedGzipError, corrupt
 * gzip data an InputError, both naming `path:line` of the first line not read whole.
 */
export async function* readLineBatches(path: string): AsyncIterable<LineBatch> {
  const gzip = await isGzipFile(path);
  const file = await openForReading(path);
  const raw = file.createReadStream({ highWaterMark: CHUNK_BYTES });
  const gunzip = gzip ? createGunzip({ chunkSize: CHUNK_BYTES }) : undefined;
  if (gunzip) raw.on('error', (e) => gunzip.destroy(e)).pipe(gunzip);
  let carry: Buffer | undefined;
  let next = 1;
  try {
    for await (const chunk of (gunzip ?? raw) as AsyncIterable<Buffer>) {
      // Split at newlines, which never occur inside a UTF-8 character: the line the previous chunk left
      // unfinished, completed by this chunk's first line, then this chunk's whole lines; the rest waits.
      const first = chunk.indexOf(10);
      if (first < 0) {
        carry = carry ? Buffer.concat([carry, chunk]) : chunk;
        if (carry.length > MAX_LINE_BYTES) {
          throw new InputError(`${path}:${next}: a line longer than ${MAX_LINE_BYTES} bytes`);
        }
        continue;
      }
      const lines: string[] = [];
      if (carry) lines.push(lineOf(Buffer.concat([carry, chunk.subarray(0, first)])));
      const last = splitLines(chunk, carry ? first + 1 : 0, lines);
      carry = last < chunk.length ? chunk.subarray(last) : undefined;
      yield { firstLine: next, lines };
      next += lines.length;
    }
  } catch (err) {
    throw gzipFault(err, `${path}:${next}`) ?? err;
  } finally {
    raw.destroy();
    gunzip?.destroy();
  }
  if (carry) yield { firstLine: next, lines: [lineOf(carry)] };
}

/**
 * Push the whole lines of `bytes` from `start` to `lines`; returns where the unfinished rest begins.
 * Each line is decoded alone (small strings, not slices of a chunk-sized one, which V8 handles slower),
 * as Latin-1 when the chunk is ASCII (all k6 writes, bar non-ASCII tag values): several times faster.
 */
function splitLines(bytes: Buffer, start: number, lines: string[]): number {
  const ascii = isAscii(bytes);
  let from = start;
  for (let end = bytes.indexOf(10, from); end >= 0; end = bytes.indexOf(10, from)) {
    const stop = end > from && bytes[end - 1] === 13 ? end - 1 : end;
    lines.push(bytes.toString(ascii ? 'latin1' : 'utf8', from, stop));
    from = end + 1;
  }
  return from;
}

/** One line's bytes (without its newline) as text. */
function lineOf(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}

/** The InputError for a zlib failure (codes Z_BUF_ERROR, Z_DATA_ERROR…), or undefined for any other error. */
function gzipFault(err: unknown, where: string): InputError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || !e.code.startsWith('Z_')) return undefined;
  if (e.code === 'Z_BUF_ERROR') {
    return new TruncatedGzipError(`${where}: the gzip stream ends early (the file is truncated)`);
  }
  return new InputError(`${where}: corrupt gzip data (${e.message})`);
}
