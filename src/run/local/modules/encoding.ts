/** The `k6/encoding` module: b64encode and b64decode with Go's four base64 alphabets. */
import { toBytes } from '../bytes.js';

function b64encode(input: unknown, encoding?: unknown): string {
  const buf = toBytes(input, 'b64encode()');
  switch (encoding ?? 'std') {
    case 'std':
      return buf.toString('base64');
    case 'rawstd':
      return buf.toString('base64').replace(/=+$/, '');
    case 'url':
      return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    case 'rawurl':
      return buf.toString('base64url');
    default:
      throw new Error(`b64encode: unknown encoding ${JSON.stringify(encoding)} (std, rawstd, url, rawurl)`);
  }
}

function b64decode(input: unknown, encoding?: unknown, fmt?: unknown): string | ArrayBuffer {
  if (typeof input !== 'string') throw new Error('b64decode: input must be a string');
  if (encoding !== undefined && !['std', 'rawstd', 'url', 'rawurl'].includes(encoding as string))
    throw new Error(`b64decode: unknown encoding ${JSON.stringify(encoding)}`);
  const buf = Buffer.from(input.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (fmt === 's') return buf.toString('utf8');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

export function encodingMembers(): Record<string, unknown> {
  return { b64encode, b64decode };
}
