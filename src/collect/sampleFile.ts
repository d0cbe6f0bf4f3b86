import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { tempPathFor } from '../shared/files.js';
import type { Sample } from './sample.js';

/**
 * The samples file, streamed line by line to a temporary name beside `path`
 * and renamed into place by `commit`: a long collection is never held in
 * memory, and a crash leaves nothing at `path` (only a dot-named temp file).
 */
export class SampleFile {
  readonly tempPath: string;
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.tempPath = tempPathFor(path);
    // 'wx': a fresh file, never someone else's.
    this.stream = createWriteStream(this.tempPath, { flags: 'wx' });
    this.stream.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Resolves once the temporary file is open; rejects when it cannot be created. */
  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.stream.pending) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.stream.once('ready', () => resolve());
      this.stream.once('error', reject);
    });
  }

  /** Queue one line. The stream buffers what the disk has not taken yet; a tick's lines are few. */
  write(sample: Sample): void {
    if (this.failure) throw this.failure;
    this.stream.write(`${JSON.stringify(sample)}\n`);
  }

  /** Resolves once the stream has drained what it holds (backpressure for a slow disk). */
  async drained(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.failure) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }

  /** Flush, close and rename into place. */
  async commit(): Promise<void> {
    await this.close();
    if (this.failure) {
      this.discardTemp();
      throw this.failure;
    }
    renameSync(this.tempPath, this.path);
  }

  /** Close and remove the temporary file: nothing is left at `path`. */
  async discard(): Promise<void> {
    await this.close();
    this.discardTemp();
  }

  private close(): Promise<void> {
    if (this.stream.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.end();
    });
  }

  private discardTemp(): void {
    rmSync(this.tempPath, { force: true });
  }
}
