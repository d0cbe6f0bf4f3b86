/**
 * Where delivery records go: an in-memory copy (bounded, oldest dropped) for
 * deliveries(), and, when a file is given, one NDJSON line per record,
 * appended by a buffered writer that flushes at least every second, when
 * its buffer is full, and on close.
 */
import { accessSync, closeSync, constants, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DeliveryRecord } from './manifest.js';

export const FLUSH_INTERVAL_MS = 1_000;
const FLUSH_LINES = 1_000;
/** Bytes queued in the file stream beyond which lines are dropped (a stalled disk must not eat memory). */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export class DeliveryLog {
  private mem: DeliveryRecord[] = [];
  private lines: string[] = [];
  private stream?: WriteStream;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private streamError?: Error;
  total = 0;
  dropped = 0;

  constructor(
    readonly file: string | undefined,
    private readonly maxRecords: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    if (file) accessSync(dirname(resolve(file)), constants.W_OK); // fail before anything is started
  }

  /** Create (or append to) the file and start the periodic flush. */
  open(): void {
    const file = this.file;
    if (file && !this.stream) {
      closeSync(openSync(file, 'a')); // fail now, not at the first delivery
      this.stream = createWriteStream(file, { flags: 'a' });
      this.stream.on('error', (e) => {
        if (!this.streamError)
          this.log(`deliveries file ${file}: ${e.message}; records are kept in memory only`);
        this.streamError = e;
      });
      this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  add(record: DeliveryRecord): void {
    this.total++;
    if (this.maxRecords > 0) {
      this.mem.push(record);
      if (this.mem.length > this.maxRecords + Math.max(1, this.maxRecords >> 3))
        this.mem = this.mem.slice(-this.maxRecords);
    }
    if (this.stream && !this.closed) {
      this.lines.push(JSON.stringify(record));
      if (this.lines.length >= FLUSH_LINES) this.flush();
    }
  }

  /** A copy of the records kept in memory (at most maxRecords, newest last). */
  records(): DeliveryRecord[] {
    return this.mem.slice(-this.maxRecords);
  }

  /** Hand buffered lines to the file stream. */
  flush(): void {
    if (!this.stream || this.lines.length === 0 || this.streamError) {
      this.lines.length = 0;
      return;
    }
    if (this.stream.writableLength > MAX_QUEUED_BYTES) {
      this.dropped += this.lines.length;
      this.lines.length = 0;
      return;
    }
    this.stream.write(`${this.lines.join('\n')}\n`);
    this.lines.length = 0;
  }

  /** Flush and close the file; resolves when the bytes are written. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    this.closed = true;
    const stream = this.stream;
    if (!stream) return;
    await new Promise<void>((resolve) => {
      if (this.streamError) return resolve();
      stream.end(() => resolve());
      stream.once('error', () => resolve());
    });
    if (this.dropped > 0)
      this.log(`deliveries file ${this.file}: ${this.dropped} records dropped (the disk did not keep up)`);
  }
}
