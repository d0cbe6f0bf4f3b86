/** Bytes from what a k6 script may pass as data: a string (UTF-8), an ArrayBuffer or a typed array. */
export function toBytes(data: unknown, what: string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]')
    return Buffer.from(new Uint8Array(data as ArrayBuffer));
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`${what}: expected a string, an ArrayBuffer or a typed array`);
}
